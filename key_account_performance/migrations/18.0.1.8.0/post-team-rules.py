"""Since 18.0.1.8.0 the record rules by which a team's leader and the
members of a sharing team read the accounts of the team's KAMs name the KAMs
by id (``res.users._key_account_team_kam_ids``) instead of a path through
the manager's teams. They are noupdate data, which an update does not
reload: the rules that still have the domain an earlier version shipped
are given the one the module's files now ship; a rule an administrator
changed in any way is left alone."""

from odoo.addons.key_account_performance.tools.rule_migration import (
    rewrite_rules,
    shipped_domains,
)

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


def shipped_team_rules():
    """{xml id: domain} of the rules this version changed, as the module's
    files ship them now (18.0.1.9.0 names the KAMs by id in more rules; its
    own migration rewrites those)."""
    return shipped_domains(FILES, OLD)


def migrate(cr, version):
    if not version:
        return
    rewrite_rules(
        cr, shipped_team_rules(), {xmlid: (domain,) for xmlid, domain in OLD.items()}
    )
