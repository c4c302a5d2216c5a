"""Since 18.0.1.9.0 the record rules that let a user read through a sales
team name the users by id, as 18.0.1.8.0 did for the team-read rules:

- a team leader reads the appraisals of the team's members (their lines,
  development plans, pay targets, disputes and their comments, versions,
  contact activities) through ``res.users._key_account_led_member_ids``
  (active members of the active teams the user leads);
- a key-account manager reads the figures of their teams' KAMs (KPI values,
  score history, reviews and their lines, improvement actions, early
  warnings, contact activities, retention cohorts) through
  ``res.users._key_account_team_kam_ids(shared_only=False)``.

They went through sales_team's ``sale_team_id``, a stored field that still
names a team once it is archived, and through ``crm_team_ids``, which Odoo's
check of a record's access (``filtered_domain``, in Python) follows with the
caller's ``active_test``: with it off, the leader of an archived team, or of
a team a member left, passed the check (and could approve an appraisal).
The rules are noupdate data, which an update does not reload: the rules that
still have a domain an earlier version shipped are given the one the
module's files now ship; a rule an administrator changed in any way is left
alone."""

from odoo.addons.key_account_performance.tools.rule_migration import (
    rewrite_rules,
    shipped_domains,
)

FILES = (
    "security/key_account_appraisal_security.xml",
    "security/key_account_contact_activity_security.xml",
    "security/key_account_customer_value_security.xml",
    "security/key_account_performance_security.xml",
    "security/key_account_warning_security.xml",
)
# the domains the earlier versions shipped, compared without white space
_LEADER = (
    "['|','|',('{p}user_id','=',user.id),('{p}user_id.sale_team_id.user_id','=',user.id),"
    "('{p}user_id.crm_team_ids.user_id','=',user.id)]"
)
_TEAMS = "('{p}.crm_team_ids.user_id','=',user.id),('{p}.crm_team_ids','in',user.crm_team_ids.ids)"
_MANAGER = "['|','|','|',('{p}','=',user.id),('{p}','=',False),%s]" % _TEAMS
_KAM = "partner_id.key_account_manager_id"
_REVIEW = (
    "('{r}approver_id','=',user.id),('{r}user_id','=',user.id),"
    "('{r}{k}','=',user.id),('{r}{k}','=',False),"
    "('{r}{k}.crm_team_ids.user_id','=',user.id),"
    "('{r}{k}.crm_team_ids','in',user.crm_team_ids.ids),"
    "('{r}user_id.crm_team_ids.user_id','=',user.id)]"
)
OLD = {
    **{
        "rule_key_account_%s" % name: (_LEADER.format(p=""),)
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
    "rule_key_account_appraisal_dispute_comment_user": (
        _LEADER.format(p="dispute_id."),
    ),
    **{
        "rule_key_account_%s_manager" % name: (_MANAGER.format(p=_KAM),)
        for name in ("kpi_value", "score_history", "warning", "contact_activity")
    },
    "rule_key_account_retention_cohort_manager": (_MANAGER.format(p="user_id"),),
    "rule_key_account_improvement_action_manager": (
        f"['|','|','|','|','|',('user_id','=',user.id),('{_KAM}','=',user.id),"
        f"('{_KAM}','=',False),('{_KAM}.crm_team_ids.user_id','=',user.id),"
        f"('{_KAM}.crm_team_ids','in',user.crm_team_ids.ids),"
        "('user_id.crm_team_ids.user_id','=',user.id)]",
    ),
    **{
        "rule_key_account_review%s_manager" % suffix: (
            # the last versions' (a submitted review reads for every manager)
            "['|','|','|','|','|','|','|',('%sstate','=','submitted')," % prefix
            + _REVIEW.format(r=prefix, k=_KAM),
            # an earlier one
            "['|','|','|','|','|','|'," + _REVIEW.format(r=prefix, k=_KAM),
        )
        for suffix, prefix in (("", ""), ("_line", "review_id."))
    },
}


def shipped_rules():
    """{xml id: domain} of the rules ``OLD`` names, as the module's files
    ship them now."""
    return shipped_domains(FILES, OLD)


def migrate(cr, version):
    if not version:
        return
    rewrite_rules(cr, shipped_rules(), OLD)
