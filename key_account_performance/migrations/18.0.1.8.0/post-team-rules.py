"""Since 18.0.1.8.0 the record rules by which a team's leader and the
members of a sharing team read the accounts of the team's KAMs name the KAMs
by id (``res.users._key_account_team_kam_ids``) instead of a path through
the manager's teams. They are noupdate data, which an update does not
reload: the rules that still have the domain an earlier version shipped
are given the one the module's files now ship; a rule an administrator
changed in any way is left alone."""

import logging

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools.misc import file_open

_logger = logging.getLogger(__name__)

MODULE = "key_account_performance"
FILES = (
    "security/key_account_performance_security.xml",
    "security/key_account_warning_security.xml",
    "security/key_account_contact_activity_security.xml",
    "security/key_account_customer_value_security.xml",
)
# the domains the earlier versions shipped (the same in every one of them),
# compared without white space
_PATH = (
    "['|',('{p}.key_account_manager_id.crm_team_ids.user_id','=',user.id),"
    "('{p}.key_account_manager_id.crm_team_ids','in',"
    "user.crm_team_ids.filtered('key_account_shared').ids)]"
)
OLD = {
    **{
        "rule_key_account_%s_team_read" % model: _PATH.format(p="partner_id")
        for model in (
            "kpi_value",
            "score_history",
            "review",
            "improvement_action",
            "warning",
        )
    },
    "rule_key_account_review_line_team_read": _PATH.format(p="review_id.partner_id"),
    "rule_key_account_contact_activity_user": (
        "['|','|','|',('partner_id.key_account_manager_id','=',user.id),"
        "('user_ids','in',[user.id]),"
        "('partner_id.key_account_manager_id.crm_team_ids.user_id','=',user.id),"
        "('partner_id.key_account_manager_id.crm_team_ids','in',"
        "user.crm_team_ids.filtered('key_account_shared').ids)]"
    ),
    "rule_key_account_retention_cohort_kam": (
        "['|','|',('user_id','=',user.id),('user_id.crm_team_ids.user_id','=',user.id),"
        "('user_id.crm_team_ids','in',user.crm_team_ids.filtered('key_account_shared').ids)]"
    ),
}


def _bare(domain):
    return "".join((domain or "").split())


def shipped_team_rules():
    """{xml id: domain} of the rules that name the team's KAMs by id, as the
    module's files ship them."""
    rules = {}
    for name in FILES:
        with file_open("%s/%s" % (MODULE, name), "rb") as handle:
            tree = etree.parse(handle)
        for record in tree.iter("record"):
            domain = record.find("field[@name='domain_force']")
            # (the rules this version changed: 18.0.1.9.0 names the KAMs by
            # id in more of them, its own migration rewrites those)
            if (
                record.get("model") == "ir.rule"
                and record.get("id") in OLD
                and domain is not None
                and "_key_account_team_kam_ids" in domain.text
            ):
                rules[record.get("id")] = domain.text
    return rules


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid, domain in shipped_team_rules().items():
        rule = env.ref("%s.%s" % (MODULE, xmlid), raise_if_not_found=False)
        if not rule or rule.domain_force == domain:
            continue
        if _bare(rule.domain_force) == OLD.get(xmlid):
            rule.domain_force = domain
        else:
            _logger.info("%s: the rule was changed, it is left as it is", xmlid)
