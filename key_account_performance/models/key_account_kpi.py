"""KPI definitions and the engine's data gathering.

A KPI definition says *how* to measure. ``_engine_values`` returns, for one
KPI and one period, ``{commercial partner id: value}`` for many partners at
once: one grouped SQL statement per KPI and period, whatever the number of
partners. This file is the only place where the engine reads source data.
"""

import ast
import contextlib
import datetime
import logging
import math

import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.safe_eval import _SAFE_OPCODES, safe_eval, test_expr, test_python_expr
from odoo.tools.safe_eval import datetime as safe_datetime

from ..tools import kpi_math

_logger = logging.getLogger(__name__)

RECORD_MODES = ("count", "sum", "average", "duration", "rating")
FORMULA_BUILTINS = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
}
FORMULA_PERIOD_NAMES = ("period_days", "period_months")
# what validation gives the period names (a quarter)
FORMULA_PERIOD_DEFAULTS = {"period_days": 90.0, "period_months": 3.0}
# a formula is a short arithmetic expression; longer ones are refused unparsed
FORMULA_MAX_LENGTH = 2000
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
    model_name = fields.Char(related="model_id.model", string="Source Model Name")
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
    # Validation
    # ------------------------------------------------------------------
    @api.constrains("code", "company_id")
    def _check_code_unique(self):
        for kpi in self:
            if not kpi.code or not kpi.code.isidentifier():
                raise ValidationError(
                    self.env._(
                        "KPI %(kpi)s: the code %(code)r must be a Python identifier "
                        "(letters, digits and underscores).",
                        kpi=kpi.name,
                        code=kpi.code,
                    )
                )
            if self.with_context(active_test=False).search_count(
                [
                    ("code", "=", kpi.code),
                    ("company_id", "=", kpi.company_id.id),
                    ("id", "!=", kpi.id),
                ],
                limit=1,
            ):
                raise ValidationError(
                    self.env._(
                        "KPI %(kpi)s: the code %(code)s is already used in this company.",
                        kpi=kpi.name,
                        code=kpi.code,
                    )
                )

    @api.constrains("target", "threshold", "weight")
    def _check_band(self):
        for kpi in self:
            if kpi.weight < 0:
                raise ValidationError(
                    self.env._(
                        "KPI %(kpi)s: the weight cannot be negative.", kpi=kpi.name
                    )
                )
            if kpi.computation_mode != "manual" or kpi.target or kpi.threshold:
                if kpi.target == kpi.threshold:
                    raise ValidationError(
                        self.env._(
                            "KPI %(kpi)s: the target (%(target)s) must differ from the threshold.",
                            kpi=kpi.name,
                            target=kpi.target,
                        )
                    )

    @api.constrains("computation_mode", "manual_min", "manual_max")
    def _check_manual_scale(self):
        for kpi in self.filtered(lambda k: k.computation_mode == "manual"):
            if kpi.manual_min >= kpi.manual_max:
                raise ValidationError(
                    self.env._(
                        "KPI %(kpi)s: the lowest value (%(min)s) must be below the highest "
                        "value (%(max)s).",
                        kpi=kpi.name,
                        min=kpi.manual_min,
                        max=kpi.manual_max,
                    )
                )

    @api.constrains(
        "computation_mode",
        "model_id",
        "domain",
        "partner_field",
        "date_field",
        "date_end_field",
        "value_field",
        "currency_rate_field",
        "numerator_kpi_id",
        "denominator_kpi_id",
        "base_kpi_id",
        "formula",
        "survey_id",
        "survey_question_id",
    )
    def _check_configuration(self):
        for kpi in self:
            problem = kpi._configuration_problem()
            if problem:
                raise ValidationError(
                    self.env._(
                        "KPI %(kpi)s (%(code)s): %(problem)s",
                        kpi=kpi.name,
                        code=kpi.code,
                        problem=problem,
                    )
                )

    def _configuration_problem(self):
        """Return a message naming what does not evaluate, or False."""
        self.ensure_one()
        mode = self.computation_mode
        if mode in RECORD_MODES:
            problem = self._record_mode_problem()
        else:
            problem = self._derived_mode_problem()
        if problem:
            return problem
        if mode in ("ratio", "growth", "formula"):
            try:
                self._check_cycle()
            except ValidationError as exc:
                return exc.args[0]
        return False

    def _record_mode_problem(self):
        """What does not evaluate in a KPI read from source records, or False."""
        _ = self.env._
        mode = self.computation_mode
        if not self.model_id:
            return _("a source model is required.")
        model = self.env[self.model_id.model]
        try:
            # compiling the domain into a query checks every field it names
            model._search(self._source_domain())
        except Exception as exc:  # noqa: BLE001 - any evaluation error is reported
            return _(
                "the domain %(domain)s does not evaluate: %(error)s",
                domain=self.domain,
                error=exc,
            )
        paths = [
            ("partner_field", self.partner_field, "many2one", "res.partner"),
            ("date_field", self.date_field, "date", None),
        ]
        if mode == "duration":
            paths.append(("date_end_field", self.date_end_field, "date", None))
        if mode in ("sum", "average", "rating"):
            paths.append(("value_field", self.value_field, "number", None))
        if self.currency_rate_field and mode in ("sum", "average"):
            paths.append(
                ("currency_rate_field", self.currency_rate_field, "number", None)
            )
        for label, path, kind, comodel in paths:
            if not path:
                return _(
                    "the field %(field)s is required for this computation mode.",
                    field=self._fields[label].string,
                )
            problem = _path_problem(model, path, kind, comodel)
            if problem:
                return _(
                    "the %(field)s path %(path)r is invalid: %(problem)s",
                    field=self._fields[label].string,
                    path=path,
                    problem=problem,
                )
        return False

    def _derived_mode_problem(self):
        """What is missing in a ratio, growth, survey or formula KPI, or False."""
        _ = self.env._
        mode = self.computation_mode
        if mode == "ratio":
            if not self.numerator_kpi_id or not self.denominator_kpi_id:
                return _("a ratio needs a numerator KPI and a denominator KPI.")
            if self in (self.numerator_kpi_id | self.denominator_kpi_id):
                return _("a ratio cannot refer to itself.")
        elif mode == "growth":
            if not self.base_kpi_id:
                return _("a growth KPI needs a base KPI.")
            if self.base_kpi_id == self:
                return _("a growth KPI cannot refer to itself.")
        elif mode == "survey":
            if not self.survey_id:
                return _("a survey is required.")
            if (
                self.survey_question_id
                and self.survey_question_id.survey_id != self.survey_id
            ):
                return _("the question does not belong to the survey.")
        elif mode == "formula":
            problem = self._formula_problem()
            if problem:
                return problem
        return False

    def _formula_names(self):
        expression = (self.formula or "").strip()
        if len(expression) > FORMULA_MAX_LENGTH:
            return set()  # refused unparsed (see _formula_problem)
        tree = ast.parse(expression, mode="eval")
        return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}

    def _formula_problem(self):
        _ = self.env._
        expression = (self.formula or "").strip()
        if not expression:
            return _("the formula is empty.")
        if len(expression) > FORMULA_MAX_LENGTH:
            # refused before any parsing; the message never echoes the formula
            return _(
                "the formula is too long (%(length)s characters, at most %(max)s).",
                length=len(expression),
                max=FORMULA_MAX_LENGTH,
            )
        try:
            message = test_python_expr(expression, mode="eval")
        except Exception as exc:  # noqa: BLE001 - safe_eval refuses names with NameError
            message = str(exc)
        if not message:
            message = _formula_shape_problem(expression)
        if message:
            return _(
                "the formula is not a safe expression: %(error)s",
                error=_shorten(message),
            )
        codes = set(self._kpis_by_code().keys())
        unknown = []
        for name in sorted(self._formula_names()):
            base = name[:-5] if name.endswith("_prev") else name
            if name in FORMULA_BUILTINS or name in FORMULA_PERIOD_NAMES:
                continue
            if base not in codes or base == self.code:
                unknown.append(name)
        if unknown:
            return _(
                "the formula refers to unknown names: %(names)s (use KPI codes, "
                "<code>_prev, period_days, period_months, min, max, abs, round).",
                names=_shorten(", ".join(unknown)),
            )
        # evaluated with floats only: bounded in time and memory (9**9**9**9
        # overflows at once instead of building an integer of billions of digits)
        context = dict.fromkeys(self._formula_names() - set(FORMULA_BUILTINS), 1.0)
        context.update(FORMULA_PERIOD_DEFAULTS)
        try:
            with contextlib.suppress(ZeroDivisionError):  # a value of 0 is allowed
                formula_evaluate(formula_compile(expression), context)
        except OverflowError:
            return _(
                "the formula does not evaluate: its result overflows (numbers are limited "
                "to about 1e308)."
            )
        except Exception as exc:  # noqa: BLE001
            return _(
                "the formula does not evaluate: %(error)s",
                error=_shorten(str(exc) or repr(exc)),
            )
        return False

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

    def _check_cycle(self):
        seen = set()
        path = []

        def visit(kpi):
            if kpi.id in path:
                raise ValidationError(
                    self.env._(
                        "the KPIs refer to each other in a loop (%(codes)s).",
                        codes=" -> ".join(self.browse(path + [kpi.id]).mapped("code")),
                    )
                )
            if kpi.id in seen:
                return
            path.append(kpi.id)
            for dep, _ref in kpi._dependencies():
                if dep:
                    visit(dep)
            path.pop()
            seen.add(kpi.id)

        visit(self)

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
                    _model, field = _resolve_path(
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
        """{commercial partner id: value} of this KPI over the period.

        ``memo`` caches results by (kpi, period) so that ratio, growth and
        formula KPIs reuse what was already gathered.
        """
        self.ensure_one()
        key = (self.id, date_from, date_to)
        if key in memo:
            return memo[key]
        mode = self.computation_mode
        if mode in RECORD_MODES:
            result = self._gather_records(
                partner_ids, self._scope_start(date_from, date_to), date_to, company
            )
        elif mode == "survey":
            result = self._gather_survey(partner_ids, date_from, date_to, company)
        elif mode == "ratio":
            num = self.numerator_kpi_id._engine_values(
                partner_ids, date_from, date_to, memo, company
            )
            den = self.denominator_kpi_id._engine_values(
                partner_ids, date_from, date_to, memo, company
            )
            result = {}
            for pid in partner_ids:
                value = kpi_math.ratio(
                    num.get(pid), den.get(pid), self.ratio_factor or 1.0
                )
                if value is not None:
                    result[pid] = value
        elif mode == "growth":
            if self.growth_reference == "last_year":
                ref_from, ref_to = kpi_math.same_period_last_year(date_from, date_to)
            else:
                ref_from, ref_to = kpi_math.previous_period(date_from, date_to)
            current = self.base_kpi_id._engine_values(
                partner_ids, date_from, date_to, memo, company
            )
            previous = self.base_kpi_id._engine_values(
                partner_ids, ref_from, ref_to, memo, company
            )
            result = {}
            for pid in partner_ids:
                value = kpi_math.growth(current.get(pid), previous.get(pid))
                if value is not None:
                    result[pid] = value
        elif mode == "formula":
            result = self._evaluate_formula(
                partner_ids, date_from, date_to, memo, company
            )
        elif mode == "manual":
            result = self._gather_manual(partner_ids, date_from, date_to)
        else:
            result = {}
        # a source holding NaN or infinity (a float column, a survey, a
        # rating, an import) is the KPI's run error, not a value
        not_finite = {
            pid: value for pid, value in result.items() if not math.isfinite(value)
        }
        if not_finite:
            self._raise_not_finite(not_finite)
        memo[key] = result
        return result

    def _gather_manual(self, partner_ids, date_from, date_to):
        groups = (
            self.env["key.account.kpi.value"]
            .sudo()
            ._read_group(
                [
                    ("kpi_id", "=", self.id),
                    ("partner_id", "in", list(partner_ids)),
                    ("company_id", "=", self.env.company.id),
                    ("date_from", "=", date_from),
                    ("date_to", "=", date_to),
                ],
                ["partner_id"],
                ["value:max"],
            )
        )
        return {partner.id: value for partner, value in groups}

    def _evaluate_formula(self, partner_ids, date_from, date_to, memo, company):
        prev_from, prev_to = kpi_math.previous_period(date_from, date_to)
        columns = {}
        by_code = self._kpis_by_code()
        for name in self._formula_names():
            if name.endswith("_prev") and name[:-5] in by_code:
                columns[name] = by_code[name[:-5]]._engine_values(
                    partner_ids, prev_from, prev_to, memo, company
                )
            elif name in by_code:
                columns[name] = by_code[name]._engine_values(
                    partner_ids, date_from, date_to, memo, company
                )
        base_context = {}
        base_context["period_days"] = kpi_math.period_days(date_from, date_to)
        base_context["period_months"] = kpi_math.month_span(date_from, date_to)
        expression = (self.formula or "").strip()
        if len(expression) > FORMULA_MAX_LENGTH:
            raise ValidationError(
                self.env._(
                    "the formula is too long (%(length)s characters, at most %(max)s).",
                    length=len(expression),
                    max=FORMULA_MAX_LENGTH,
                )
            )
        problem = _formula_shape_problem(expression)
        if problem:
            raise ValidationError(problem)
        # safe_eval's own opcode check once, then evaluated per partner with
        # floats only and restricted builtins (the check is the costly part)
        test_expr(expression, _SAFE_OPCODES, mode="eval")
        code = formula_compile(expression)
        result = {}
        not_finite = {}
        for pid in partner_ids:
            context = dict(base_context)
            for name, values in columns.items():
                context[name] = values.get(pid)
            if any(context[name] is None for name in columns):
                continue  # a missing input means no data, not zero
            try:
                value = formula_evaluate(code, context, finite=False)
            except OverflowError:
                not_finite[pid] = "overflow"
                continue
            except (ArithmeticError, TypeError, ValueError):
                continue  # division by zero, complex result: no value
            if value is None:
                continue
            if not math.isfinite(value):
                not_finite[pid] = value
                continue
            result[pid] = value
        if not_finite:
            # NaN or infinity is the KPI's run error, never a stored value
            self._raise_not_finite(not_finite)
        return result

    def _raise_not_finite(self, not_finite):
        """Raise the run error of values that are not finite numbers
        ({partner id: value}): the KPI stores nothing for the period."""
        partners = self.env["res.partner"].sudo().browse(list(not_finite)[:3])
        raise ValidationError(
            self.env._(
                "KPI %(kpi)s (%(code)s) gives a value that is not a finite number "
                "(%(value)s) for %(count)s account(s), e.g. %(partners)s: nothing is stored.",
                kpi=self.name,
                code=self.code,
                value=next(iter(not_finite.values())),
                count=len(not_finite),
                partners=", ".join(partners.mapped("display_name")),
            )
        )

    def _datetime_bounds(self, date_from, date_to, company):
        """UTC datetimes: first instant of date_from .. first instant after date_to."""
        tz = pytz.timezone(company.partner_id.tz or self.env.user.tz or "UTC")
        start = tz.localize(datetime.datetime.combine(date_from, datetime.time.min))
        end = tz.localize(
            datetime.datetime.combine(
                date_to + datetime.timedelta(days=1), datetime.time.min
            )
        )
        return (
            start.astimezone(pytz.utc).replace(tzinfo=None),
            end.astimezone(pytz.utc).replace(tzinfo=None),
        )

    def _period_condition(self, sql_expr, field, date_from, date_to, company):
        if field.type == "datetime":
            start, end = self._datetime_bounds(date_from, date_to, company)
            return SQL("(%s >= %s AND %s < %s)", sql_expr, start, sql_expr, end)
        return SQL("(%s >= %s AND %s <= %s)", sql_expr, date_from, sql_expr, date_to)

    def _scope_start(self, date_from, date_to):
        """First day the source records are read from, per the period scope."""
        if self.period_scope == "to_date":
            return MIN_DATE
        if self.period_scope == "trailing_12":
            return kpi_math.trailing_12_months(date_to)[0]
        return date_from

    def _source_query(self, partner_ids, date_from, date_to, company):
        """The query of the source records of these commercial partners in the
        period: (model, query, commercial partner SQL, date SQL, date field).
        Shared by the aggregation and by 'open the records behind a value'."""
        Model = self.env[self.model_id.model].sudo().with_company(company)
        query = Model._search(self._source_domain())
        alias = Model._table
        partner_sql, _field = _sql_path(Model, alias, self.partner_field, query)
        cp_alias = query.make_alias(alias, "kap_commercial")
        query.add_join(
            "JOIN",
            cp_alias,
            "res_partner",
            SQL("%s = %s", SQL.identifier(cp_alias, "id"), partner_sql),
        )
        cp_sql = SQL.identifier(cp_alias, "commercial_partner_id")
        query.add_where(SQL("%s IN %s", cp_sql, tuple(partner_ids)))
        date_sql, date_field = _sql_path(Model, alias, self.date_field, query)
        query.add_where(
            self._period_condition(date_sql, date_field, date_from, date_to, company)
        )
        if "company_id" in Model._fields and Model._fields["company_id"].store:
            company_sql = Model._field_to_sql(alias, "company_id", query)
            query.add_where(
                SQL("(%s = %s OR %s IS NULL)", company_sql, company.id, company_sql)
            )
        if self.computation_mode == "duration":
            end_sql, _end_field = _sql_path(Model, alias, self.date_end_field, query)
            query.add_where(SQL("%s IS NOT NULL", end_sql))
        return Model, query, cp_sql, date_sql, date_field

    def _gather_records(self, partner_ids, date_from, date_to, company):
        """One grouped SQL statement: the aggregate per commercial partner."""
        if not partner_ids:
            return {}
        Model, query, cp_sql, date_sql, date_field = self._source_query(
            partner_ids, date_from, date_to, company
        )
        alias = Model._table

        mode = self.computation_mode
        if mode == "count":
            if self.count_distinct in ("day", "month"):
                local = date_sql
                if date_field.type == "datetime":
                    tz = company.partner_id.tz or self.env.user.tz or "UTC"
                    local = SQL("timezone(%s, timezone('UTC', %s))", tz, date_sql)
                aggregate = SQL(
                    "COUNT(DISTINCT date_trunc(%s, %s))", self.count_distinct, local
                )
            else:
                aggregate = SQL("COUNT(*)")
        elif mode == "duration":
            end_sql, _end_field = _sql_path(Model, alias, self.date_end_field, query)
            divisor = 86400.0 if self.duration_unit == "days" else 3600.0
            aggregate = SQL(
                "AVG(EXTRACT(EPOCH FROM (%s::timestamp - %s::timestamp))) / %s",
                end_sql,
                date_sql,
                divisor,
            )
        else:
            value_sql, _vfield = _sql_path(Model, alias, self.value_field, query)
            if self.currency_rate_field and mode in ("sum", "average"):
                rate_sql, _rfield = _sql_path(
                    Model, alias, self.currency_rate_field, query
                )
                value_sql = SQL(
                    "(%s / COALESCE(NULLIF(%s, 0), 1.0))", value_sql, rate_sql
                )
            function = SQL("SUM") if mode == "sum" else SQL("AVG")
            aggregate = SQL("%s(%s)", function, value_sql)
        query.groupby = cp_sql
        rows = self.env.execute_query(query.select(cp_sql, aggregate))
        return {pid: float(value) for pid, value in rows if value is not None}

    def _gather_survey(self, partner_ids, date_from, date_to, company):
        """Answer counts per partner and scale value, one grouped statement."""
        if not partner_ids:
            return {}
        start, end = self._datetime_bounds(date_from, date_to, company)
        question_ids = (
            self.survey_question_id
            or self.survey_id.question_ids.filtered(
                lambda q: q.question_type == "scale"
            )[:1]
        ).ids
        if not question_ids:
            return {}
        question = self.env["survey.question"].sudo().browse(question_ids[0])
        self.env["survey.user_input.line"].flush_model()
        self.env["survey.user_input"].flush_model()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        rows = self.env.execute_query(
            SQL(
                """
            SELECT p.commercial_partner_id, l.value_scale, COUNT(*)
              FROM survey_user_input_line l
              JOIN survey_user_input i ON i.id = l.user_input_id
              JOIN res_partner p ON p.id = i.partner_id
             WHERE l.question_id = %(question)s
               AND l.answer_type = 'scale' AND NOT COALESCE(l.skipped, FALSE)
               AND i.state = 'done'
               AND p.commercial_partner_id IN %(partners)s
               AND COALESCE(i.end_datetime, i.create_date) >= %(start)s
               AND COALESCE(i.end_datetime, i.create_date) < %(end)s
          GROUP BY p.commercial_partner_id, l.value_scale
        """,
                question=question.id,
                partners=tuple(partner_ids),
                start=start,
                end=end,
            )
        )
        counts = {}
        for pid, scale, count in rows:
            counts.setdefault(pid, {})[scale] = count
        result = {}
        for pid, answer_counts in counts.items():
            if self.survey_method == "nps":
                value = kpi_math.nps_from_counts(answer_counts)
            elif self.survey_method == "csat":
                value = kpi_math.csat_from_counts(answer_counts, question.scale_max)
            else:
                total = sum(answer_counts.values())
                value = (
                    sum(v * c for v, c in answer_counts.items()) / total
                    if total
                    else None
                )
            if value is not None:
                result[pid] = value
        return result

    def _gather_record_ids(self, partner_id, date_from, date_to, company):
        """The source records behind one value (for 'open the records')."""
        self.ensure_one()
        if self.computation_mode not in RECORD_MODES:
            return self.env["ir.model"], []
        Model, query, _cp, _date, _field = self._source_query(
            [partner_id], self._scope_start(date_from, date_to), date_to, company
        )
        rows = self.env.execute_query(query.select(SQL.identifier(Model._table, "id")))
        return Model, [row[0] for row in rows]

    def _gather_record_measures(self, partner_id, date_from, date_to, company):
        """{record id: (date, measured value)} of the source records behind one
        value of a sum or average KPI, each measured as the aggregate counts
        it: the value field through its path, converted to the company
        currency by the record's rate. One statement."""
        self.ensure_one()
        if self.computation_mode not in ("sum", "average") or not self.value_field:
            return {}
        Model, query, _cp, date_sql, _field = self._source_query(
            [partner_id], self._scope_start(date_from, date_to), date_to, company
        )
        alias = Model._table
        value_sql, _vfield = _sql_path(Model, alias, self.value_field, query)
        if self.currency_rate_field:
            rate_sql, _rfield = _sql_path(Model, alias, self.currency_rate_field, query)
            value_sql = SQL("(%s / COALESCE(NULLIF(%s, 0), 1.0))", value_sql, rate_sql)
        rows = self.env.execute_query(
            query.select(SQL.identifier(alias, "id"), date_sql, value_sql)
        )
        # a path through a one2many gives a row per line: a record counts them all
        measures = {}
        for rid, day, value in rows:
            if value is not None:
                measures[rid] = (day, measures.get(rid, (day, 0.0))[1] + float(value))
        return measures

    def _records_need_measures(self, Model, measures):
        """Whether the records' own column would not add up to the value: the
        value is read through a path, or converted from another currency."""
        self.ensure_one()
        if not measures:
            return False
        if "." in self.value_field or self.value_field not in Model._fields:
            return True
        if not self.currency_rate_field:
            return False
        records = Model.browse(list(measures))
        raw = {
            row["id"]: row[self.value_field] for row in records.read([self.value_field])
        }
        return any(
            abs((raw.get(rid) or 0.0) - measure) > 1e-6
            for rid, (_day, measure) in measures.items()
        )

    def _records_measure_label(self, Model):
        """What the records behind a value measure, e.g. 'sum of Untaxed Amount'."""
        self.ensure_one()
        _ = self.env._

        def label(path):
            try:
                return _resolve_path(Model, path)[1]._description_string(self.env)
            except ValueError:
                return path

        mode = self.computation_mode
        if mode == "sum":
            return _("sum of %(field)s", field=label(self.value_field))
        if mode in ("average", "rating"):
            return _("average of %(field)s", field=label(self.value_field))
        if mode == "duration":
            return _(
                "average time from %(start)s to %(end)s",
                start=label(self.date_field),
                end=label(self.date_end_field),
            )
        return _("number of records")

    def _records_view_id(self, Model):
        """A list view of the source records showing the measured column with
        its total (sum) or mean (average), so that the records behind a value
        add up to it; the partner and the date placing a record in the
        period beside it. Made once per model and columns (a primary view of
        low priority, never the model's default list)."""
        self.ensure_one()

        def direct(path):
            return bool(path) and "." not in path and path in Model._fields

        columns = []
        for path in (self.date_field, self.partner_field):
            if direct(path) and path not in columns:
                columns.append(path)
        if self.computation_mode == "duration" and direct(self.date_end_field):
            columns.append(self.date_end_field)
        measure = None
        if self.computation_mode in ("sum", "average", "rating") and direct(
            self.value_field
        ):
            measure = self.value_field
        parts = ['<list create="0" edit="0">', '<field name="display_name"/>']
        parts += ['<field name="%s"/>' % name for name in columns if name != measure]
        if measure:
            field = Model._fields[measure]
            aggregate = "sum" if self.computation_mode == "sum" else "avg"
            parts.append('<field name="%s" %s="%s"/>' % (measure, aggregate, aggregate))
            currency = getattr(field, "currency_field", None)
            if field.type == "monetary" and currency and currency in Model._fields:
                parts.append('<field name="%s" column_invisible="1"/>' % currency)
        parts.append("</list>")
        arch = "".join(parts)
        name = "key_account_performance records %s %s" % (
            Model._name,
            "-".join(columns + [measure or "", self.computation_mode]),
        )
        View = self.env["ir.ui.view"].sudo()
        view = View.search(
            [("name", "=", name), ("model", "=", Model._name), ("type", "=", "list")],
            limit=1,
        )
        if not view:
            view = View.create(
                {
                    "name": name,
                    "model": Model._name,
                    "type": "list",
                    "mode": "primary",
                    "priority": 1000,
                    "arch": arch,
                }
            )
        elif view.arch_db != arch:
            view.arch = arch
        return view.id


# ----------------------------------------------------------------------
# Formulas
# ----------------------------------------------------------------------

_FORMULA_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
)


def _shorten(text, limit=200):
    """``text`` cut to ``limit`` characters: messages and logs never echo a
    huge formula whole."""
    text = str(text)
    return (
        text
        if len(text) <= limit
        else "%s… (%d characters)" % (text[:limit], len(text))
    )


def _float_round(number, ndigits=None):
    # round() of a float without ndigits returns an int: keep floats only
    digits = 0 if ndigits is None else max(-400, min(400, int(ndigits)))
    return float(round(float(number), digits))


def _float_min(*args):
    return float(min(*args))


def _float_max(*args):
    return float(max(*args))


def _float_abs(number):
    return float(abs(number))


def _float_pow(base, exponent):
    # a power of floats only: bounded in time and memory whatever its operands
    return float(base) ** float(exponent)


# names the compiled formula calls: not identifiers, so that no KPI code and
# nothing written in a formula can name them
_FORMULA_FLOAT = "kap float"
_FORMULA_POW = "kap pow"

FORMULA_EVAL_BUILTINS = {
    "min": _float_min,
    "max": _float_max,
    "abs": _float_abs,
    "round": _float_round,
    "True": True,
    "False": False,
    "None": None,
    _FORMULA_FLOAT: float,
    _FORMULA_POW: _float_pow,
}


class _FloatsOnly(ast.NodeTransformer):
    """Every number of a formula is a float, at every step: constants become
    floats, comparisons and ``not`` (booleans, which are integers) are turned
    into floats, and ``**`` is a power of floats. Float arithmetic takes
    constant time and memory and raises OverflowError where integer
    arithmetic would build numbers of billions of digits (``9**9**9**9``,
    or the same tower built from ``(x == x) + (x == x) + …``)."""

    def visit_Constant(self, node):
        if isinstance(node.value, (int, float)):
            node.value = float(node.value)
        return node

    def _call(self, name, *args):
        return ast.Call(
            func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[]
        )

    def visit_Compare(self, node):
        self.generic_visit(node)
        return self._call(_FORMULA_FLOAT, node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return (
            self._call(_FORMULA_FLOAT, node) if isinstance(node.op, ast.Not) else node
        )

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Pow):
            return self._call(_FORMULA_POW, node.left, node.right)
        return node


def formula_compile(expression):
    """Compile a formula (already checked by ``_formula_shape_problem``) for
    ``formula_evaluate``: floats only, at every step (``_FloatsOnly``)."""
    tree = _FloatsOnly().visit(ast.parse(expression, mode="eval"))
    return compile(ast.fix_missing_locations(tree), "<formula>", "eval")


def formula_evaluate(code, context, finite=True):
    """Evaluate compiled formula ``code`` with ``context`` {name: number}:
    a finite float, or None (no value: infinite or not a number). With
    ``finite`` False, NaN and infinities are returned as they are (the
    engine reports them as the KPI's run error).

    Raises ArithmeticError (division by zero, overflow), TypeError (e.g. a
    complex result) or ValueError."""
    names = {
        name: float(value) if isinstance(value, (int, float)) else value
        for name, value in context.items()
    }
    # the code was checked by test_python_expr and compiled by formula_compile
    # (numbers only, a few math builtins)
    value = eval(code, {"__builtins__": dict(FORMULA_EVAL_BUILTINS)}, names)  # noqa: S307 pylint: disable=eval-used
    if value is None:
        return None
    value = float(value)
    return value if not finite or math.isfinite(value) else None


def _formula_shape_problem(expression):
    """Arithmetic over names and min/max/abs/round only: no attributes,
    subscripts, lambdas, comprehensions or other calls."""
    for node in ast.walk(ast.parse(expression, mode="eval")):
        if not isinstance(node, _FORMULA_NODES):
            return "%s is not allowed" % type(node).__name__
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name)
            and node.func.id in FORMULA_BUILTINS
            and not node.keywords
        ):
            return "only min(), max(), abs() and round() may be called"
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            return "only numbers are allowed as constants"
    return False


# ----------------------------------------------------------------------
# Field paths
# ----------------------------------------------------------------------


def _resolve_path(model, path):
    """Follow a dotted path; return (model of the last field, last field)."""
    names = (path or "").split(".")
    current = model
    for index, name in enumerate(names):
        field = current._fields.get(name)
        if field is None:
            raise ValueError(
                current.env._(
                    "%(model)s has no field %(field)r", model=current._name, field=name
                )
            )
        if index == len(names) - 1:
            return current, field
        if field.type != "many2one":
            raise ValueError(
                current.env._(
                    "%(field)s on %(model)s is not a many2one",
                    model=current._name,
                    field=name,
                )
            )
        current = current.env[field.comodel_name]
    raise ValueError("empty path")


def _path_problem(model, path, kind, comodel=None):
    try:
        last_model, field = _resolve_path(model, path)
    except ValueError as exc:
        return str(exc)
    _ = model.env._
    if not (field.store or field.related) or not field.column_type:
        return _("%(field)s is not stored in the database", field=field.name)
    if kind == "date" and field.type not in ("date", "datetime"):
        return _(
            "%(field)s is a %(type)s, not a date", field=field.name, type=field.type
        )
    if kind == "number" and field.type not in ("integer", "float", "monetary"):
        return _(
            "%(field)s is a %(type)s, not a number", field=field.name, type=field.type
        )
    if kind == "many2one" and (
        field.type != "many2one" or field.comodel_name != comodel
    ):
        return _(
            "%(field)s does not point to %(comodel)s", field=field.name, comodel=comodel
        )
    return False


def _sql_path(model, alias, path, query):
    """SQL expression of a dotted field path, adding LEFT JOINs to ``query``."""
    names = path.split(".")
    current = model
    for name in names[:-1]:
        field = current._fields[name]
        comodel = current.env[field.comodel_name]
        column = current._field_to_sql(alias, name, query)
        co_alias = query.make_alias(alias, name)
        query.add_join(
            "LEFT JOIN",
            co_alias,
            comodel._table,
            SQL("%s = %s", column, SQL.identifier(co_alias, "id")),
        )
        current, alias = comodel, co_alias
    # _field_to_sql follows non-stored related fields to their stored target
    return current._field_to_sql(alias, names[-1], query), current._fields[names[-1]]
