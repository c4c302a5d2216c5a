"""Since 18.0.1.9.0 the record rules by which a team leader reads the
appraisals of the team's members (their lines, development plans, pay
targets, disputes and their comments, versions, contact activities) name
the members by id (``res.users._key_account_led_member_ids``: active
members of the active teams the user leads). They went through sales_team's
``sale_team_id``, a stored field that still names a team once it is
archived, and through ``crm_team_ids``, which Odoo's check of a record's
access follows in Python with the caller's ``active_test``: the leader of an
archived team, or of a team a member was removed from, kept reading and
deciding their appraisals. The rules are noupdate data, which an update does
not reload: the rules that still have the domain an earlier version shipped
are given the one the module's files now ship; a rule an administrator
changed in any way is left alone."""

import logging

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools.misc import file_open

_logger = logging.getLogger(__name__)

MODULE = "key_account_performance"
FILES = (
    "security/key_account_appraisal_security.xml",
    "security/key_account_contact_activity_security.xml",
)
# the domain the earlier versions shipped (the same in every one of them),
# compared without white space
_OLD = (
    "['|','|',('{p}user_id','=',user.id),('{p}user_id.sale_team_id.user_id','=',user.id),"
    "('{p}user_id.crm_team_ids.user_id','=',user.id)]"
)
OLD = {
    **{
        "rule_key_account_%s" % name: _OLD.format(p="")
        for name in (
            "appraisal_user",
            "appraisal_line_user",
            "appraisal_development_user",
            "pay_target_user",
            "appraisal_dispute_user",
            "appraisal_version_user",
            "appraisal_activity_user",
        )
    },
    "rule_key_account_appraisal_dispute_comment_user": _OLD.format(p="dispute_id."),
}


def _bare(domain):
    return "".join((domain or "").split())


def shipped_rules():
    """{xml id: domain} of the rules ``OLD`` names, as the module's files
    ship them now."""
    rules = {}
    for name in FILES:
        with file_open("%s/%s" % (MODULE, name), "rb") as handle:
            tree = etree.parse(handle)
        for record in tree.iter("record"):
            domain = record.find("field[@name='domain_force']")
            if record.get("id") in OLD and domain is not None:
                rules[record.get("id")] = domain.text
    return rules


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid, domain in shipped_rules().items():
        rule = env.ref("%s.%s" % (MODULE, xmlid), raise_if_not_found=False)
        if not rule or rule.domain_force == domain:
            continue
        if _bare(rule.domain_force) == OLD[xmlid]:
            rule.domain_force = domain
        else:
            _logger.info("%s: the rule was changed, it is left as it is", xmlid)
