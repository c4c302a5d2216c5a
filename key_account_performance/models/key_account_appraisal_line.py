from odoo import api, fields, models
from odoo.exceptions import UserError

from .guard import is_internal, refuse_derived
from .key_account_member import MEMBER_ROLES


class KeyAccountAppraisalLine(models.Model):
    """One account in an appraisal: the person's share of it, the tier's
    weight and the account score used (from the approved review, or from the
    KPI values when there is none)."""

    _name = "key.account.appraisal.line"
    _description = "Key Account Appraisal Line"
    _order = "appraisal_id, weight desc, account_score desc, id"
    _rec_name = "partner_id"

    appraisal_id = fields.Many2one(
        "key.account.appraisal", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(related="appraisal_id.user_id", store=True)
    company_id = fields.Many2one(related="appraisal_id.company_id", store=True)
    date_from = fields.Date(related="appraisal_id.date_from", store=True)
    state = fields.Selection(related="appraisal_id.state", string="Appraisal Status")
    partner_id = fields.Many2one(
        "res.partner", string="Account", required=True, index=True, ondelete="cascade"
    )
    share = fields.Float(help="The person's share of the account (0-1).")
    weight = fields.Float(help="The appraisal weight of the account's tier.")
    account_score = fields.Float(
        aggregator="avg",
        help="The account's score used in the appraisal: from the approved review of the "
        "period without the KPIs hit by an accepted external factor, else from the KPI values.",
    )
    has_score = fields.Boolean(
        string="Scored",
        help="Unset: the account has no score for the period and does not count.",
    )
    source = fields.Selection(
        [("review", "Approved Review"), ("values", "KPI Values")],
        required=True,
        default="values",
    )
    review_id = fields.Many2one(
        "key.account.review", ondelete="set null", index="btree_not_null"
    )
    review_score = fields.Float(
        help="The account's own score in its review (external factors do not change it).",
    )
    excluded_count = fields.Integer(
        string="KPIs Left Out",
        help="KPIs of the review left out of the appraisal: their external factor was accepted.",
    )
    long_term_score = fields.Float(
        help="The account's mean score over the previous three periods.",
    )
    has_long_term = fields.Boolean(string="Has History")
    role = fields.Selection(
        MEMBER_ROLES,
        help="The person's role on the account: a role with its own KPIs (Configuration > "
        "Role KPIs) is scored on those only.",
    )
    # text, one factor a line: the appraisal's accounts list wraps it next to
    # the raw and adjusted scores instead of cutting it off
    factor_note = fields.Text(
        string="Adjustment Reason",
        compute="_compute_factor_note",
        help="The external factors of the account's review: the KPI, the reason, bad luck or "
        "windfall, and the points it changes; those awaiting an administrator's second "
        "approval still count.",
    )

    @api.depends("review_id", "source")
    def _compute_factor_note(self):
        """One read of the external factors of all the lines' reviews."""
        # sudo: the factors of the reviews behind the appraisal's own lines
        # (KPI, reason, effect, points), which a team member credited on an
        # account may not read otherwise
        factors = (
            self.env["key.account.review.line"]
            .sudo()
            .search(
                [
                    ("review_id", "in", self.sudo().review_id.ids),
                    ("external_factor", "=", True),
                ],
                order="review_id, sequence, id",
            )
        )
        by_review = factors.grouped("review_id")
        reasons = dict(
            factors._fields["external_factor_reason"]._description_selection(self.env)
        )
        directions = dict(
            factors._fields["external_factor_direction"]._description_selection(
                self.env
            )
        )
        for line in self:
            notes = []
            for factor in by_review.get(line.review_id, ()):
                if line.source != "review" or not factor.external_factor_accepted:
                    continue
                text = "%s: %s, %s (%s)" % (
                    factor.kpi_id.name,
                    reasons.get(factor.external_factor_reason, ""),
                    directions.get(
                        factor.external_factor_direction or "unfavourable", ""
                    ),
                    "%+.1f" % factor.external_factor_impact,
                )
                if not factor.external_factor_effective:
                    text = self.env._(
                        "%(factor)s, awaiting second approval", factor=text
                    )
                notes.append(text)
            line.factor_note = "\n".join(notes)

    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "The accounts of an appraisal are worked out by Compute Appraisals."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        refuse_derived(self, [vals], frozenset(self._fields))
        return super().write(vals)


class KeyAccountAppraisalDevelopment(models.Model):
    """A KPI of an appraisal for the person's development, worked out by
    ``compute_appraisals``:

    * ``weak``: one of the KPIs that take the most points off the person's
      account score (``points_lost``), with its weighted score over the
      person's accounts (Σ W·s / Σ W, W = tier weight × share × KPI weight)
      and the accounts below 100 on it;
    * ``follow_up``: a weak KPI of the person's appraisal of the previous
      period, with its weighted score then and now (improved or not).
    """

    _name = "key.account.appraisal.development"
    _description = "Key Account Appraisal Development KPI"
    _order = "appraisal_id, kind, sequence, id"
    _rec_name = "kpi_id"

    appraisal_id = fields.Many2one(
        "key.account.appraisal", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(related="appraisal_id.user_id", store=True)
    company_id = fields.Many2one(related="appraisal_id.company_id", store=True)
    kind = fields.Selection(
        [("weak", "Weakest KPI"), ("follow_up", "Follow-up")],
        required=True,
        default="weak",
    )
    sequence = fields.Integer(default=1)
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", required=True, ondelete="cascade"
    )
    score = fields.Float(
        string="Weighted Score",
        help="Σ (tier weight × share × KPI weight × KPI score) / Σ (tier weight × share × "
        "KPI weight) over the person's accounts, this period.",
    )
    has_score = fields.Boolean(
        help="Unset: none of the person's accounts has a score on this KPI this period."
    )
    points_lost = fields.Float(
        help="Points this KPI takes off the account score: over the accounts, the account's "
        "weight in the score × the KPI's weight in the account × (100 − KPI score).",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        "key_account_appraisal_development_partner_rel",
        "development_id",
        "partner_id",
        string="Accounts",
        help="The person's accounts below 100 on this KPI.",
    )
    accounts_detail = fields.Char(
        string="Accounts (score)",
        help="The accounts below 100 on this KPI with their KPI score, weakest first.",
    )
    previous_score = fields.Float(
        string="Previous Weighted Score",
        help="The KPI's weighted score in the previous period's appraisal.",
    )
    delta = fields.Float(string="Change")
    movement = fields.Selection(
        [
            ("improved", "Improved"),
            ("not_improved", "Not Improved"),
            ("no_data", "No Data"),
        ],
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "The development KPIs of an appraisal are worked out by Compute "
                    "Appraisals."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        refuse_derived(self, [vals], frozenset(self._fields))
        return super().write(vals)
