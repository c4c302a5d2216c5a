"""Rewriting shipped record rules in a migration: rules are noupdate data,
which an update does not reload. A rule whose domain is still, white space
aside, one an earlier version shipped gets the domain the module's files
ship now; a rule an administrator changed in any way is left alone."""

import logging

from lxml import etree

from odoo import SUPERUSER_ID, api
from odoo.tools.misc import file_open

_logger = logging.getLogger(__name__)

MODULE = "key_account_performance"


def bare(domain):
    """A domain's text without white space, to compare with OLD."""
    return "".join((domain or "").split())


def shipped_domains(files, xmlids):
    """{xml id: domain} of the rules ``xmlids`` as the module's ``files``
    ship them now."""
    rules = {}
    for name in files:
        with file_open("%s/%s" % (MODULE, name), "rb") as handle:
            tree = etree.parse(handle)
        for record in tree.iter("record"):
            domain = record.find("field[@name='domain_force']")
            if (
                record.get("model") == "ir.rule"
                and record.get("id") in xmlids
                and domain is not None
            ):
                rules[record.get("id")] = domain.text
    return rules


def rewrite_rules(cr, shipped, old):
    """Give each rule of ``shipped`` ({xml id: domain}) its shipped domain
    when its current one is one of ``old[xml id]`` (bare domains)."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid, domain in shipped.items():
        rule = env.ref("%s.%s" % (MODULE, xmlid), raise_if_not_found=False)
        if not rule or rule.domain_force == domain:
            continue
        if bare(rule.domain_force) in old[xmlid]:
            rule.domain_force = domain
        else:
            _logger.info("%s: the rule was changed, it is left as it is", xmlid)
