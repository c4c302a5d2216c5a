from odoo import api, fields, models

# what the record rules of the key-account data and the visibility read of a
# user's teams when they are evaluated (leaders, members, sharing): Odoo
# caches a rule's evaluated domain per user, and the addon the visible KAMs
# per user (res_partner_visibility.py), so a change of these must clear both
# (and the accounts' visibility flag computed in this transaction)
TEAM_RULE_FIELDS = {"key_account_shared", "active", "user_id", "company_id"}
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
        """A user's teams for the record rules and the visibility: the
        active teams of their active memberships, whatever the search's
        active_test. The record rules of the key-account data go through
        the account's manager, a path Odoo searches with active_test off:
        sales_team's search then counted archived memberships, and the
        leader of a team kept reading the accounts of a KAM removed from it
        (the membership is archived, not deleted). An archived team gives
        nothing either, as in the visibility (sales_team's computed
        ``crm_team_ids`` still lists it)."""
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

    def _key_account_active_team_ids(self):
        """{user id: [team ids]}: the active teams of these users' active
        memberships, oldest membership first, in one query whatever the
        number of users and the caller's context (sales_team's
        ``crm_team_ids`` lists an archived team, and with ``active_test``
        off an archived membership too)."""
        teams = {user_id: [] for user_id in self.ids}
        if not self:
            return teams
        memberships = (
            self.env["crm.team.member"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch(
                [
                    ("user_id", "in", self.ids),
                    ("active", "=", True),
                    ("crm_team_id.active", "=", True),
                ],
                ["user_id", "crm_team_id"],
                order="create_date, id",
            )
        )
        for membership in memberships:
            team_ids = teams[membership.user_id.id]
            if membership.crm_team_id.id not in team_ids:
                team_ids.append(membership.crm_team_id.id)
        return teams

    def _key_account_active_teams(self):
        """The active teams of this user's active memberships."""
        self.ensure_one()
        return self.env["crm.team"].browse(self._key_account_active_team_ids()[self.id])

    def _key_account_team_leaders(self):
        """The leaders of this user's active teams, who decide the user's
        appraisals (as the appraisal rules, ``_key_account_led_member_ids``,
        let them read them)."""
        return self._key_account_active_teams().sudo().user_id

    def _key_account_main_teams(self):
        """{user id: main sales team}: the one sales_team chooses
        (``sale_team_id``) while it is one of the user's active teams, else
        their first active team (``sale_team_id`` still names an archived
        team); a few queries for any number of users."""
        active = self._key_account_active_team_ids()
        # (one prefetch for all the teams: their leaders in one query)
        Team = (
            self.env["crm.team"]
            .sudo()
            .with_prefetch(
                tuple({team_id for team_ids in active.values() for team_id in team_ids})
            )
        )
        result = {}
        for user in self.sudo():
            team_ids = active[user.id]
            main = user.sale_team_id.id
            result[user.id] = Team.browse(main if main in team_ids else team_ids[:1])
        return result

    def _key_account_main_team(self):
        """The user's main sales team (see ``_key_account_main_teams``)."""
        self.ensure_one()
        return self._key_account_main_teams()[self.id]

    def _key_account_led_member_ids(self):
        """For the appraisal rules: the ids of the users with an active
        membership of an active team this user leads. By id, not through
        ``user_id.crm_team_ids``: Odoo checks a record's access in Python
        (``filtered_domain``), where that path followed the caller's
        ``active_test`` and counted an archived team or membership. Odoo
        caches the evaluated rules per user; a change of a team's leader,
        active flag or members clears that cache (``_rules_changed``)."""
        self.ensure_one()
        Partner = self.env["res.partner"].sudo()
        return Partner._key_account_kam_ids(
            [Partner._key_account_team_kams([("user_id", "=", self.id)])]
        )

    def _key_account_team_kam_ids(self, shared_only=True):
        """For the record rules of the key-account data: the ids of the KAMs
        (archived ones included) whose accounts this user reads through a
        sales team: the active members of the active teams they lead, and of
        the active teams they belong to (only those that share their key
        accounts when ``shared_only``, for a KAM; all of them for a
        key-account manager). The rules name the accounts' managers by id:
        PostgreSQL answers from the index on the manager, where the paths
        through the manager's teams were compiled on every search. Read as
        the rules read paths (sudo, active memberships of active teams);
        Odoo caches the evaluated rules per user, and a change of a team's
        leader, sharing or members clears that cache (``_rules_changed``)."""
        self.ensure_one()
        Partner = self.env["res.partner"].sudo()
        return Partner._key_account_kam_ids(
            Partner._key_account_through_teams(self, every_team=not shared_only)
        )
