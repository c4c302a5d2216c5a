from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from ..tools import kpi_math

# how far the shares of an account may be from 100 % (float rounding)
SHARE_TOLERANCE = 1e-4
MEMBER_ROLES = [
    ("sales", "Sales"),
    ("after_sales", "After-Sales"),
    ("technical", "Technical Support"),
    ("other", "Other"),
]
# set by res.partner.write while it applies the account team's one2many: the
# shares are checked once, on the account, when all lines are written
BATCH_CONTEXT_KEY = "key_account_member_batch"


class KeyAccountMember(models.Model):
    """A person credited on a key account besides (or with) its KAM.

    The shares of an account (per company) sum to 1; an account without
    members credits its key account manager with share 1. The appraisal
    (``key.account.appraisal``) credits each person with their share of the
    account's score.
    """

    _name = "key.account.member"
    _description = "Key Account Team Member"
    # members are listed on their account's page: the biggest share first
    # (ordering by the account too would join the partners, by name, into
    # the search of the page's list at every read)
    _order = "share desc, id"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Account",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Member",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("share", "=", False)],
    )
    role = fields.Selection(MEMBER_ROLES, required=True, default="sales")
    share = fields.Float(
        required=True,
        default=1.0,
        digits=(16, 4),
        help="The member's share of the credit for the account (0-1); the shares of an "
        "account sum to 1 (100 %).",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )

    _sql_constraints = [
        (
            "partner_user_company_unique",
            "UNIQUE(partner_id, user_id, company_id)",
            "A person is a member of an account's team once.",
        ),
        (
            "share_range",
            "CHECK(share >= 0 AND share <= 1)",
            "A member's share of an account is between 0 and 1 (0-100 %).",
        ),
    ]

    @api.depends("user_id", "partner_id", "role", "share")
    def _compute_display_name(self):
        roles = dict(self._fields["role"]._description_selection(self.env))
        for member in self:
            member.display_name = "%s · %s (%s, %s %%)" % (
                member.partner_id.display_name or "",
                member.user_id.name or "",
                roles.get(member.role, ""),
                kpi_math.format_rounded(member.share * 100, 1),
            )

    # ------------------------------------------------------------------
    # The shares of an account sum to 1
    # ------------------------------------------------------------------
    @api.model
    def _check_account_shares(self, partners):
        """ValidationError naming the first account (and company) whose
        members' shares do not sum to 1. Accounts without members are fine:
        their KAM is credited fully."""
        if not partners:
            return
        self.flush_model(["partner_id", "company_id", "share"])
        rows = self.sudo()._read_group(
            [("partner_id", "in", partners.ids)],
            ["partner_id", "company_id"],
            ["share:sum"],
        )
        for partner, company, total in rows:
            if abs(total - 1.0) > SHARE_TOLERANCE:
                raise ValidationError(
                    self.env._(
                        "The shares of the account team of %(account)s (%(company)s) sum to "
                        "%(total)s %%: they must sum to 100 %%.",
                        account=partner.sudo().display_name,
                        company=company.sudo().name,
                        total=kpi_math.format_rounded(total * 100, 2),
                    )
                )

    def _check_manageable(self):
        """Key-account managers edit the teams of the accounts they manage
        (administrators all); a KAM reads them."""
        if self.env.su:
            return
        allowed = self.partner_id.sudo().filtered_domain(
            self.env["res.partner"]._key_account_managed_domain()
        )
        foreign = self.partner_id - allowed
        if foreign:
            raise AccessError(
                self.env._(
                    "You can only change the account team of the accounts you manage "
                    "(not %(names)s).",
                    names=", ".join(foreign[:5].sudo().mapped("display_name")),
                )
            )

    def _log_team(self, partners, verb):
        """A note in the accounts' chatter: who credits the account, and how much."""
        roles = dict(self._fields["role"]._description_selection(self.env))
        members = self.sudo().search([("partner_id", "in", partners.ids)])
        for partner in partners.sudo():
            team = members.filtered(lambda m, partner=partner: m.partner_id == partner)
            items = Markup("").join(
                Markup("<li>%s (%s): %s %%</li>")
                % (
                    member.user_id.name,
                    roles.get(member.role, ""),
                    kpi_math.format_rounded(member.share * 100, 2),
                )
                for member in team
            )
            body = Markup("<p>%s</p>") % verb
            if items:
                body += Markup("<ul>%s</ul>") % items
            else:
                body += Markup("<p>%s</p>") % self.env._(
                    "No members: the key account manager is credited fully."
                )
            partner._message_log(body=body)

    @api.model_create_multi
    def create(self, vals_list):
        members = super().create(vals_list)
        members._check_manageable()
        if not self.env.context.get(BATCH_CONTEXT_KEY):
            self._check_account_shares(members.partner_id)
        members._log_team(members.partner_id, self.env._("Account team changed"))
        return members

    def write(self, vals):
        partners = self.partner_id
        self._check_manageable()
        result = super().write(vals)
        self._check_manageable()
        partners |= self.partner_id
        if not self.env.context.get(BATCH_CONTEXT_KEY):
            self._check_account_shares(partners)
        self._log_team(partners, self.env._("Account team changed"))
        return result

    def unlink(self):
        partners = self.partner_id
        self._check_manageable()
        result = super().unlink()
        if not self.env.context.get(BATCH_CONTEXT_KEY):
            self._check_account_shares(partners)
        self.browse()._log_team(partners, self.env._("Account team changed"))
        return result

    # ------------------------------------------------------------------
    # Who is credited
    # ------------------------------------------------------------------
    @api.model
    def _credits(self, partners, company):
        """{partner: [(user, share)]} of ``partners`` in ``company``: the
        members with their shares, or the KAM with share 1 when the account
        has no members. One query for the members (the KAMs are read in
        batch)."""
        rows = self.sudo()._read_group(
            [("partner_id", "in", partners.ids), ("company_id", "=", company.id)],
            ["partner_id", "user_id"],
            ["share:sum"],
        )
        credits = {}
        for partner, user, share in rows:
            credits.setdefault(partner.id, []).append((user.id, share))
        # the KAMs in one query (the ORM's prefetch read them 1,000 a query)
        self.env["res.partner"].flush_model(["key_account_manager_id"])
        kams = self.env.execute_query(
            SQL(
                "SELECT id, key_account_manager_id FROM res_partner "
                "WHERE id = ANY(%s) AND key_account_manager_id IS NOT NULL",
                partners.ids,
            )
        )
        for partner_id, kam_id in kams:
            if partner_id not in credits:
                credits[partner_id] = [(kam_id, 1.0)]
        return credits

    @api.model
    def _account_roles(self, people, company):
        """{(partner id, user id): role} of ``people`` {user id: [(partner
        id, share)]} in ``company``, for the memberships that exist (an
        account without members credits its KAM in the ``sales`` role). One
        query."""
        partner_ids = {pid for rows in people.values() for pid, _share in rows}
        return {
            (partner.id, user.id): role
            for partner, user, role in self.sudo()._read_group(
                [
                    ("partner_id", "in", list(partner_ids)),
                    ("company_id", "=", company.id),
                    ("user_id", "in", list(people)),
                ],
                ["partner_id", "user_id", "role"],
            )
        }

    @api.model
    def _main_roles(self, people, company, roles=None):
        """{user id: role} of ``people`` {user id: [(partner id, share)]} (as
        the appraisal credits them) in ``company``: the role in which the
        person holds the largest total share; an account without members
        credits its KAM in the ``sales`` role. ``roles``: the result of
        ``_account_roles`` when the caller has it (else one query)."""
        if roles is None:
            roles = self._account_roles(people, company)
        order = [role for role, _label in MEMBER_ROLES]
        result = {}
        for user_id, rows in people.items():
            totals = dict.fromkeys(order, 0.0)
            for partner_id, share in rows:
                totals[roles.get((partner_id, user_id), "sales")] += share
            result[user_id] = max(
                order, key=lambda role, t=totals: (t[role], -order.index(role))
            )
        return result
