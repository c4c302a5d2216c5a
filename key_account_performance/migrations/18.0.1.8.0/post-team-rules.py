"""Since 18.0.1.8.0 the record rules by which a team's leader and the
members of a sharing team read the accounts of the team's KAMs name the KAMs
by id (``res.users._key_account_team_kam_ids``) instead of a path through
the manager's teams. They are noupdate data, which an update does not
reload: the rules that still have the shipped path are given the domain the
module's files now ship; a rule an administrator changed is left alone."""

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
# what only the shipped path of the earlier versions reads
OLD_PATH = "crm_team_ids.filtered('key_account_shared')"


def shipped_team_rules():
    """{xml id: domain} of the rules that name the team's KAMs by id, as the
    module's files ship them."""
    rules = {}
    for name in FILES:
        with file_open("%s/%s" % (MODULE, name), "rb") as handle:
            tree = etree.parse(handle)
        for record in tree.iter("record"):
            domain = record.find("field[@name='domain_force']")
            if (
                record.get("model") == "ir.rule"
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
        if OLD_PATH in (rule.domain_force or ""):
            rule.domain_force = domain
        else:
            _logger.info("%s: the rule was changed, it is left as it is", xmlid)
