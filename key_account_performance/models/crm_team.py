from odoo import api, fields, models

# what the record rules of the key-account data read of a user's teams when
# they are evaluated (``user.crm_team_ids``, shared or not): Odoo caches a
# rule's evaluated domain per user, so a change of these must clear it (and
# the accounts' visibility flag computed in this transaction)
TEAM_RULE_FIELDS = {"key_account_shared", "active", "user_id"}
MEMBER_RULE_FIELDS = {"user_id", "crm_team_id", "active"}


def _rules_changed(env):
    env.registry.clear_cache()
    env["res.partner"].invalidate_model(["key_account_visible"])


class CrmTeam(models.Model):
    _inherit = "crm.team"

    key_account_shared = fields.Boolean(
        string="Members Share Key Accounts",
        help="The members of this team see each other's key accounts: scores, KPI values, "
        "history, reviews, improvement actions and early warnings (read only). The team "
        "leader sees them in any case; only an account's own KAM fills its reviews.",
    )

    def write(self, vals):
        result = super().write(vals)
        if TEAM_RULE_FIELDS & set(vals):
            _rules_changed(self.env)
        return result

    def unlink(self):
        result = super().unlink()
        _rules_changed(self.env)
        return result


class CrmTeamMember(models.Model):
    _inherit = "crm.team.member"

    @api.model_create_multi
    def create(self, vals_list):
        members = super().create(vals_list)
        _rules_changed(self.env)
        return members

    def write(self, vals):
        result = super().write(vals)
        if MEMBER_RULE_FIELDS & set(vals):
            _rules_changed(self.env)
        return result

    def unlink(self):
        result = super().unlink()
        _rules_changed(self.env)
        return result


class ResUsers(models.Model):
    _inherit = "res.users"

    def _search_crm_team_ids(self, operator, value):
        """A user's teams as the field reads them (``user.crm_team_ids``:
        active teams of active memberships), whatever the search's
        active_test. The record rules of the key-account data go through
        the account's manager, a path Odoo searches with active_test off:
        sales_team's search then counted archived memberships, and the
        leader of a team kept reading the accounts of a KAM removed from it
        (the membership is archived, not deleted)."""
        return [
            (
                "crm_team_member_ids",
                "any",
                [
                    ("crm_team_id", operator, value),
                    ("active", "=", True),
                    ("crm_team_id.active", "=", True),
                ],
            )
        ]
