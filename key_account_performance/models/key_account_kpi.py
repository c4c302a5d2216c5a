"""KPI definitions: what a KPI measures and how, validated when saved.

The engine reads a KPI's source data in ``engine/gathering.py``
(``_engine_values`` here is its entry point for one KPI), the records behind
a value are ``key_account_kpi_records.py``, formulas are evaluated by
``tools/formula.py`` and field paths followed by ``tools/field_paths.py``.
"""

import datetime

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval

from ..engine.gathering import Gathering
from ..sql import aggregate as sql_aggregate
from ..tools import kpi_math
from ..tools.field_paths import resolve_path

MIN_DATE = datetime.date(1900, 1, 1)


class KeyAccountKpi(models.Model):
    _name = "key.account.kpi"
    _description = "Key Account KPI"
    _order = "sequence, name"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Identity
    # ------------------------------------------------------------------
    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        index=True,
        help="Technical name, unique per company; formulas refer to KPIs by code.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one("res.company", index="btree_not_null")
    category = fields.Selection(
        [
            ("financial", "Financial"),
            ("customer", "Customer"),
            ("service", "Service"),
            ("relationship", "Relationship"),
        ],
        default="financial",
    )

    # ------------------------------------------------------------------
    # Scoring defaults
    # ------------------------------------------------------------------
    computation_mode = fields.Selection(
        [
            ("count", "Count of records"),
            ("sum", "Sum of a field"),
            ("average", "Average of a field"),
            ("duration", "Average duration between two dates"),
            ("ratio", "Ratio of two KPIs"),
            ("growth", "Growth of a KPI"),
            ("survey", "Survey (CSAT / NPS)"),
            ("rating", "Customer ratings"),
            ("manual", "Manual (entered in the review)"),
            ("formula", "Formula over other KPIs"),
        ],
        required=True,
        default="count",
    )
    direction = fields.Selection(
        [
            ("higher", "Higher is better"),
            ("lower", "Lower is better"),
        ],
        required=True,
        default="higher",
    )
    unit = fields.Char(translate=True)
    target = fields.Float(help="Value that scores 100.")
    threshold = fields.Float(help="Value that scores 0 (early-warning limit).")
    weight = fields.Float(default=1.0)
    # the scale of a manual KPI: what the KAM may enter in a review
    manual_min = fields.Float(
        string="Lowest Value",
        compute="_compute_manual_scale",
        store=True,
        readonly=False,
        precompute=True,
        help="Manual KPIs: the lowest value a KAM may enter (the shipped ratings: 1; "
        "percentages: 0).",
    )
    manual_max = fields.Float(
        string="Highest Value",
        compute="_compute_manual_scale",
        store=True,
        readonly=False,
        precompute=True,
        help="Manual KPIs: the highest value a KAM may enter (the shipped ratings: 5; "
        "percentages: 100).",
    )

    # ------------------------------------------------------------------
    # Source records (count / sum / average / duration / rating)
    # ------------------------------------------------------------------
    model_id = fields.Many2one(
        "ir.model",
        string="Source Model",
        ondelete="cascade",
        domain=[("transient", "=", False)],
    )
    # stored: the account page shows the unit of every KPI in its breakdown,
    # which needs the source model's name (a model's technical name never
    # changes, so the copy is never stale)
    model_name = fields.Char(
        related="model_id.model", string="Source Model Name", store=True
    )
    domain = fields.Char(default="[]", help="Filter on the source records.")
    partner_field = fields.Char(
        default="partner_id",
        help="Field path from the source record to the partner, e.g. "
        "partner_id or move_id.partner_id. Contacts roll up to their company.",
    )
    date_field = fields.Char(
        help="Date or datetime field path that places a record in a period; "
        "for durations, the start."
    )
    date_end_field = fields.Char(string="End Date Field", help="Duration end.")
    duration_unit = fields.Selection(
        [("hours", "Hours"), ("days", "Days")], default="hours"
    )
    value_field = fields.Char(help="Numeric field path summed or averaged.")
    currency_rate_field = fields.Char(
        help="Optional field path holding the record's rate to the company "
        "currency (e.g. currency_rate on sale orders): values are divided by it."
    )
    count_distinct = fields.Selection(
        [
            ("record", "Records"),
            ("day", "Distinct days"),
            ("month", "Distinct months"),
        ],
        default="record",
        string="Count",
    )
    person_field = fields.Char(
        help="Optional field path from the source record to the people who did it (a "
        "many2one or many2many to users, e.g. user_ids): appraisals then show each "
        "person's own count on each account next to the account's, with the records behind "
        "it. Count KPIs only.",
    )
    period_scope = fields.Selection(
        [
            ("period", "The period"),
            ("to_date", "Everything up to the end of the period"),
            ("trailing_12", "The 12 months ending with the period"),
        ],
        default="period",
        required=True,
    )

    # ------------------------------------------------------------------
    # Ratio / growth / formula
    # ------------------------------------------------------------------
    numerator_kpi_id = fields.Many2one("key.account.kpi", check_company=True)
    denominator_kpi_id = fields.Many2one("key.account.kpi", check_company=True)
    ratio_factor = fields.Float(default=100.0)
    base_kpi_id = fields.Many2one(
        "key.account.kpi", string="Base KPI", check_company=True
    )
    growth_reference = fields.Selection(
        [
            ("previous", "Previous period"),
            ("last_year", "Same period last year"),
        ],
        default="previous",
    )
    formula = fields.Text(
        help="Python expression over other KPI codes (their value in the same "
        "period; <code>_prev for the previous period), period_days, "
        "period_months and min / max / abs / round."
    )

    # ------------------------------------------------------------------
    # Survey
    # ------------------------------------------------------------------
    survey_id = fields.Many2one("survey.survey", ondelete="set null")
    survey_question_id = fields.Many2one(
        "survey.question",
        string="Scale Question",
        ondelete="set null",
        domain="[('survey_id', '=', survey_id), ('question_type', '=', 'scale')]",
    )
    survey_method = fields.Selection(
        [
            ("nps", "NPS (% promoters - % detractors)"),
            ("csat", "CSAT (% satisfied)"),
            ("average", "Average answer"),
        ],
        default="csat",
    )

    # ------------------------------------------------------------------
    # Monitoring of the engine
    # ------------------------------------------------------------------
    last_run = fields.Datetime(readonly=True, copy=False)
    last_success = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    value_count = fields.Integer(compute="_compute_value_count")

    def _compute_value_count(self):
        counts = dict(
            self.env["key.account.kpi.value"]._read_group(
                [("kpi_id", "in", self.ids)], ["kpi_id"], ["__count"]
            )
        )
        for kpi in self:
            kpi.value_count = counts.get(kpi, 0)

    @api.depends("unit")
    def _compute_manual_scale(self):
        """The shipped scales: 0-100 for a percentage, else the 1-5 rating."""
        for kpi in self:
            if (kpi.unit or "").strip() == "%":
                kpi.manual_min, kpi.manual_max = 0.0, 100.0
            else:
                kpi.manual_min, kpi.manual_max = 1.0, 5.0

    def _manual_value_problem(self, value):
        """Why ``value`` cannot be this manual KPI's value, or False."""
        self.ensure_one()
        if not kpi_math.is_finite_number(value) or not (
            self.manual_min <= value <= self.manual_max
        ):
            return self.env._(
                "%(kpi)s: %(value)s is not allowed; enter a number from %(min)s to "
                "%(max)s.",
                kpi=self.name,
                value=value,
                min=kpi_math.format_rounded(self.manual_min, 2).rstrip("0").rstrip("."),
                max=kpi_math.format_rounded(self.manual_max, 2).rstrip("0").rstrip("."),
            )
        return False

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------
    @api.onchange("computation_mode")
    def _onchange_computation_mode(self):
        if self.computation_mode == "rating":
            self.model_id = self.env["ir.model"]._get("rating.rating")
            self.value_field = "rating"
            self.date_field = "create_date"
            self.domain = "[('consumed', '=', True), ('rating', '>', 0)]"

    @api.onchange("computation_mode", "direction")
    def _onchange_band_defaults(self):
        """A new KPI's form starts with a valid band (target = threshold = 0
        is refused on save): 100 / 0 for higher is better, 0 / 100 for lower;
        a manual KPI, its scale (5 / 1 for a 1-5 rating). Only while the band
        is still empty or one of these defaults: a band typed in stays."""
        if self._origin:
            return
        for kpi in self:
            band = (kpi.target, kpi.threshold)
            scale = (kpi.manual_max, kpi.manual_min)
            untouched = {(100.0, 0.0), (0.0, 100.0), scale, scale[::-1]}
            if band[0] != band[1] and band not in untouched:
                continue  # typed in
            best, worst = scale if kpi.computation_mode == "manual" else (100.0, 0.0)
            if best == worst:
                continue
            if kpi.direction == "lower":
                best, worst = worst, best
            kpi.target, kpi.threshold = best, worst

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("computation_mode") == "rating":
                vals.setdefault(
                    "model_id", self.env["ir.model"]._get_id("rating.rating")
                )
                vals.setdefault("value_field", "rating")
                vals.setdefault("date_field", "create_date")
                vals.setdefault(
                    "domain", "[('consumed', '=', True), ('rating', '>', 0)]"
                )
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used_by_approved_review(self):
        if "key.account.review.line" in self.env:
            # sudo: counts lines of approved reviews, whoever may read them
            used = (
                self.env["key.account.review.line"]
                .sudo()
                .search_count(
                    [("kpi_id", "in", self.ids), ("review_id.state", "=", "approved")],
                    limit=1,
                )
            )
            if used:
                raise UserError(
                    self.env._(
                        "A KPI used by an approved review cannot be deleted; archive it instead."
                    )
                )

    # ------------------------------------------------------------------
    # Dependencies (validation: key_account_kpi_validation.py)
    # ------------------------------------------------------------------
    def _dependencies(self):
        """KPIs this one reads, as [(kpi, 'same'|'prev'|'last_year')]."""
        self.ensure_one()
        if self.computation_mode == "ratio":
            return [(self.numerator_kpi_id, "same"), (self.denominator_kpi_id, "same")]
        if self.computation_mode == "growth":
            return [
                (self.base_kpi_id, "same"),
                (
                    self.base_kpi_id,
                    "prev" if self.growth_reference == "previous" else "last_year",
                ),
            ]
        if self.computation_mode == "formula" and self.formula:
            by_code = self._kpis_by_code()
            deps = []
            try:
                names = self._formula_names()
            except SyntaxError:
                return []
            for name in names:
                if name.endswith("_prev") and name[:-5] in by_code:
                    deps.append((by_code[name[:-5]], "prev"))
                elif name in by_code:
                    deps.append((by_code[name], "same"))
            return deps
        return []

    def _kpis_by_code(self):
        """Active KPIs visible to this KPI's company, by code (own company first)."""
        company = self.company_id or self.env.company
        kpis = self.sudo().search([("company_id", "in", [company.id, False])])
        by_code = {}
        for kpi in kpis.sorted(lambda k: bool(k.company_id)):
            by_code[kpi.code] = kpi
        return by_code

    def _source_domain(self):
        return (
            safe_eval(
                self.domain or "[]",
                {
                    "datetime": safe_datetime,
                    "context_today": datetime.date.today,
                    "uid": self.env.uid,
                },
            )
            if self.domain
            else []
        )

    # ------------------------------------------------------------------
    # Display
    # ------------------------------------------------------------------
    def _display_units(self, company=None):
        """{kpi id: unit to show}: the KPI's unit, else the company currency
        for sums and averages of a monetary field (amounts are converted to it)."""
        currency = (company or self.env.company).currency_id
        units = {}
        for kpi in self.sudo():
            unit = kpi.unit or ""
            if (
                not unit
                and kpi.computation_mode in ("sum", "average")
                and kpi.model_name
                and kpi.value_field
                and kpi.model_name in self.env
            ):
                try:
                    _model, field = resolve_path(
                        self.env[kpi.model_name], kpi.value_field
                    )
                except ValueError:
                    field = None
                if field is not None and field.type == "monetary":
                    unit = currency.name
            units[kpi.id] = unit
        return units

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_values(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_kpi_value"
        )
        action["domain"] = [("kpi_id", "=", self.id)]
        return action

    def action_test_configuration(self):
        for kpi in self:
            problem = kpi._configuration_problem()
            if problem:
                raise UserError(problem)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("The configuration evaluates."),
            },
        }

    # ------------------------------------------------------------------
    # Engine: data gathering
    # ------------------------------------------------------------------
    def _engine_values(self, partner_ids, date_from, date_to, memo, company):
        """{commercial partner id: value} of this KPI over the period (see
        ``engine/gathering.py``); ``memo`` caches results by (kpi, period) so
        that ratio, growth and formula KPIs reuse what was already gathered."""
        self.ensure_one()
        return Gathering(self.env, company, partner_ids, memo).values(
            self, date_from, date_to
        )

    def _scope_start(self, date_from, date_to):
        """First day the source records are read from, per the period scope."""
        if self.period_scope == "to_date":
            return MIN_DATE
        if self.period_scope == "trailing_12":
            return kpi_math.trailing_12_months(date_to)[0]
        return date_from

    def _source_query(self, partner_ids, date_from, date_to, company):
        """The query of the source records of these commercial partners in the
        period (``sql.aggregate.Source``)."""
        return sql_aggregate.source_query(
            self, partner_ids, date_from, date_to, company
        )
