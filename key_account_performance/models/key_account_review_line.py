from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import kpi_math
from .guard import is_internal, refuse_derived

EDITABLE_STATES = ("draft", "rejected")
# what the KAM may change on a line; the rest comes from the engine and the template
KAM_FIELDS = {
    "value",
    "has_value",
    "comment",
    # a KPI hit by something the KAM does not control (accepted by the approval)
    "external_factor",
    "external_factor_reason",
    "external_factor_note",
    "external_factor_direction",
    "external_factor_attachment_ids",
}
ADMIN_GROUP = "key_account_performance.group_key_account_admin"
# worked out by the addon: never written by hand, administrators included
DERIVED_FIELDS = frozenset(
    {"score", "status", "kpi_value_id", "review_id", "external_factor_accepted"}
)
EXTERNAL_FACTOR_REASONS = [
    ("competitor", "Competitor"),
    ("market", "Market"),
    ("regulation", "Regulation"),
    ("customer", "Customer-Side Event"),
    ("other", "Other"),
]


class KeyAccountReviewLine(models.Model):
    """One KPI of a review: a copy of the value and of the template's band,
    frozen when the review is submitted."""

    _name = "key.account.review.line"
    _description = "Key Account Review Line"
    _order = "review_id, sequence, id"
    _rec_name = "kpi_id"
    _check_company_auto = True

    review_id = fields.Many2one(
        "key.account.review", required=True, index=True, ondelete="cascade"
    )
    sequence = fields.Integer(default=10)
    kpi_id = fields.Many2one(
        "key.account.kpi",
        string="KPI",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    kpi_code = fields.Char(related="kpi_id.code", string="KPI Code")
    unit = fields.Char(related="kpi_id.unit")
    display_unit = fields.Char(
        string="Unit Shown",
        compute="_compute_display_unit",
        help="The KPI's unit; amounts show the company currency.",
    )
    is_manual = fields.Boolean(
        string="Manual", readonly=True, help="Entered by the KAM in the review."
    )
    direction = fields.Selection(
        [
            ("higher", "Higher is better"),
            ("lower", "Lower is better"),
        ],
        required=True,
        default="higher",
    )

    # ------------------------------------------------------------------
    # Frozen measure and band
    # ------------------------------------------------------------------
    value = fields.Float()
    has_value = fields.Boolean(
        string="Measured",
        help="Unset means no data for the period, which is not the same as 0.",
    )
    target = fields.Float()
    threshold = fields.Float()
    weight = fields.Float(default=1.0)
    score = fields.Float(compute="_compute_score", store=True, aggregator="avg")
    status = fields.Selection(
        list(kpi_math.SCORE_STATUSES), compute="_compute_score", store=True
    )
    comment = fields.Text()
    # ------------------------------------------------------------------
    # External factor: kept out of the appraisal of the account's people
    # ------------------------------------------------------------------
    external_factor = fields.Boolean(
        help="The KPI was hit by something the account team does not control (a "
        "competitor's price war, the market, a regulation, an event at the customer). "
        "Once the review is approved, the KPI is left out of their appraisal; the "
        "account's own score does not change.",
    )
    external_factor_reason = fields.Selection(EXTERNAL_FACTOR_REASONS)
    external_factor_note = fields.Text()
    external_factor_accepted = fields.Boolean(
        compute="_compute_external_factor_accepted",
        store=True,
        help="The review is approved with this external factor: the KPI is left out of "
        "the appraisal of the account's people.",
    )
    kpi_value_id = fields.Many2one(
        "key.account.kpi.value",
        string="Measured Value",
        ondelete="set null",
        # deleting values (a recomputation, a deleted account) finds the lines
        # pointing at them through this index, not a scan of every line
        index="btree_not_null",
        readonly=True,
        help="The computed value the line was filled from.",
    )

    # ------------------------------------------------------------------
    # Review context
    # ------------------------------------------------------------------
    partner_id = fields.Many2one(related="review_id.partner_id", store=True, index=True)
    company_id = fields.Many2one(related="review_id.company_id", store=True)
    date_from = fields.Date(related="review_id.date_from", store=True)
    date_to = fields.Date(related="review_id.date_to", store=True)
    state = fields.Selection(related="review_id.state", string="Review Status")
    action_ids = fields.One2many(
        "key.account.improvement.action", "review_line_id", string="Improvement Actions"
    )
    action_count = fields.Integer(compute="_compute_action_count")
    # why the review's score moved against the previous review
    points = fields.Float(
        compute="_compute_points",
        digits=(16, 1),
        help="What this KPI adds to the review's score (the points add up to it).",
    )
    previous_points = fields.Float(
        compute="_compute_points",
        digits=(16, 1),
        help="What this KPI added to the previous review's score.",
    )
    delta_points = fields.Float(
        string="Change (points)",
        compute="_compute_points",
        digits=(16, 1),
        help="Change of this KPI's points against the previous review: the changes add up "
        "to the review's trend.",
    )

    _sql_constraints = [
        (
            "review_kpi_unique",
            "UNIQUE(review_id, kpi_id)",
            "A KPI appears once in a review.",
        ),
    ]

    @api.depends("value", "has_value", "target", "threshold", "direction")
    def _compute_score(self):
        for line in self:
            score = (
                kpi_math.kpi_score(
                    line.value, line.target, line.threshold, line.direction or "higher"
                )
                if line.has_value
                else None
            )
            line.score = score or 0.0
            line.status = kpi_math.score_status(score)

    @api.depends("score", "weight", "has_value", "review_id.previous_review_id")
    def _compute_points(self):
        for review in self.review_id:
            # the previous review may be hidden from the reader (the account changed hands)
            previous = review.previous_review_id.sudo()
            lines = review.line_ids
            comparable = bool(previous and review.grade)
            points = kpi_math.score_points(
                {
                    line: (line.score if line.has_value else None, line.weight)
                    for line in lines
                }
            )
            previous_points = (
                kpi_math.score_points(
                    {
                        line.kpi_id.id: (
                            line.score if line.has_value else None,
                            line.weight,
                        )
                        for line in previous.line_ids
                    }
                )
                if comparable
                else {}
            )
            for line in self.filtered(
                lambda line, review=review: line.review_id == review
            ):
                line.points = points.get(line, 0.0)
                line.previous_points = previous_points.get(line.kpi_id.id, 0.0)
                line.delta_points = (
                    line.points - line.previous_points if comparable else 0.0
                )
        for line in self.filtered(lambda line: not line.review_id):
            line.points = line.previous_points = line.delta_points = 0.0

    @api.depends("external_factor", "review_id.state")
    def _compute_external_factor_accepted(self):
        for line in self:
            line.external_factor_accepted = bool(
                line.external_factor and line.review_id.state == "approved"
            )

    @api.constrains("external_factor", "external_factor_reason")
    def _check_external_factor(self):
        for line in self:
            if line.external_factor and not line.external_factor_reason:
                raise ValidationError(
                    self.env._(
                        "%(kpi)s: an external factor needs a reason (competitor, market, "
                        "regulation, customer-side event or other).",
                        kpi=line.kpi_id.name,
                    )
                )

    @api.depends("kpi_id.unit", "company_id")
    def _compute_display_unit(self):
        for company, lines in self.grouped("company_id").items():
            units = lines.kpi_id._display_units(company or None)
            for line in lines:
                line.display_unit = units.get(line.kpi_id.id, "")

    def _compute_action_count(self):
        counts = dict(
            self.env["key.account.improvement.action"]._read_group(
                [("review_line_id", "in", self.ids)], ["review_line_id"], ["__count"]
            )
        )
        for line in self:
            line.action_count = counts.get(line, 0)

    @api.constrains("value", "has_value", "is_manual", "kpi_id")
    def _check_manual_value(self):
        """A manual value is a finite number on the KPI's scale."""
        for line in self.filtered(lambda line: line.is_manual and line.has_value):
            problem = line.kpi_id._manual_value_problem(line.value)
            if problem:
                raise ValidationError(problem)

    @api.onchange("value")
    def _onchange_value(self):
        self.has_value = True

    # ------------------------------------------------------------------
    # ORM: lines freeze with their review
    # ------------------------------------------------------------------
    def _check_editable(self):
        frozen = self.review_id.filtered(lambda r: r.state not in EDITABLE_STATES)
        if frozen:
            raise UserError(
                self.env._(
                    "The KPI lines of review %(name)s are frozen since its submission.",
                    name=frozen[0].name,
                )
            )

    def _is_internal_write(self):
        return (
            is_internal(self.env) or self.env.su or self.env.user.has_group(ADMIN_GROUP)
        )

    @api.model_create_multi
    def create(self, vals_list):
        if not self._is_internal_write():
            # a review's lines come from its template (generation, Refresh
            # Values): a KAM or manager adding one would weigh in a figure of
            # their own
            raise UserError(
                self.env._(
                    "The KPI lines of a review come from the account's KPI template: they are "
                    "created when the review is generated or its values refreshed, not by hand."
                )
            )
        refuse_derived(self, vals_list, DERIVED_FIELDS - {"review_id", "kpi_value_id"})
        for vals in vals_list:
            vals.setdefault("has_value", "value" in vals)
        lines = super().create(vals_list)
        lines._check_editable()
        return lines

    def write(self, vals):
        self._check_editable()
        refuse_derived(self, [vals], DERIVED_FIELDS)
        if "value" in vals and "has_value" not in vals:
            vals = dict(vals, has_value=True)
        if not self._is_internal_write():
            protected = set(vals) - KAM_FIELDS
            if protected:
                raise UserError(
                    self.env._(
                        "Only the value of manual KPIs and the comments can be changed in a review "
                        "(not %(fields)s); use Refresh Values to re-read computed KPIs.",
                        fields=", ".join(sorted(protected)),
                    )
                )
            if {"value", "has_value"} & set(vals) and self.filtered(
                lambda line: not line.is_manual
            ):
                raise UserError(
                    self.env._(
                        "%(kpi)s is computed: its value comes from the KPI engine, not from the review.",
                        kpi=self.filtered(lambda line: not line.is_manual)[
                            0
                        ].kpi_id.name,
                    )
                )
        return super().write(vals)

    def unlink(self):
        self._check_editable()
        return super().unlink()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_by_hand(self):
        if not self._is_internal_write():
            raise UserError(
                self.env._(
                    "The KPI lines of a review come from the account's KPI template: they "
                    "cannot be removed by hand (Refresh Values follows the template)."
                )
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_create_improvement_action(self):
        """One click: an improvement action with this line's value as baseline
        and the KPI target as target; opens it to set the deadline."""
        self.ensure_one()
        # a second click opens the line's action instead of making a duplicate
        action = self.env["key.account.improvement.action"].search(
            [("review_line_id", "=", self.id)], order="id", limit=1
        ) or self.env["key.account.improvement.action"].create(
            self._improvement_action_values()
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "key.account.improvement.action",
            "res_id": action.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    def _improvement_action_values(self):
        self.ensure_one()
        review = self.review_id
        owner = review.user_id or self.env.user
        # the action's name is its owner's to read: in the owner's language
        env = self.with_context(lang=review._recipient_lang(owner)).env
        return {
            "name": env._("Improve %(kpi)s", kpi=self.kpi_id.with_env(env).name),
            "partner_id": review.partner_id.id,
            "review_id": review.id,
            "review_line_id": self.id,
            "kpi_id": self.kpi_id.id,
            "user_id": owner.id,
            "baseline_value": self.value,
            "target_value": self.target,
            "baseline_date_from": review.date_from,
            "baseline_date_to": review.date_to,
            "company_id": review.company_id.id,
        }

    def action_view_kpi_value(self):
        self.ensure_one()
        if not self.kpi_value_id:
            raise UserError(
                self.env._(
                    "%(kpi)s has no measured value for this period.",
                    kpi=self.kpi_id.name,
                )
            )
        # whoever may read the line may open the records behind it, also when
        # the value itself lies under another team's rules (a decider or the
        # designated approver from outside the team)
        self.check_access("read")
        # the records open with the reader's own rights
        # sudo: the reader may read this line (checked just above)
        return self.kpi_value_id.sudo()._open_records_action(self.env)
