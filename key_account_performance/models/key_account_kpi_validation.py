"""Validation of KPI definitions: a code, band, scale, source (model,
domain, field paths), derived KPI or formula that does not evaluate is
refused when saved, with a message that names the problem."""

import contextlib

from odoo import api, models
from odoo.exceptions import ValidationError
from odoo.tools.safe_eval import test_python_expr

from ..engine.gathering import RECORD_MODES
from ..tools.field_paths import path_problem
from ..tools.formula import (
    FORMULA_BUILTINS,
    FORMULA_MAX_LENGTH,
    FORMULA_PERIOD_DEFAULTS,
    FORMULA_PERIOD_NAMES,
    formula_compile,
    formula_evaluate,
    formula_names,
    formula_shape_problem,
    shorten,
)


class KeyAccountKpi(models.Model):
    _inherit = "key.account.kpi"

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
        "person_field",
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
        if self.person_field:
            if mode != "count":
                return _("a person field applies to count KPIs only.")
            paths.append(("person_field", self.person_field, "users", None))
        for label, path, kind, comodel in paths:
            if not path:
                return _(
                    "the field %(field)s is required for this computation mode.",
                    field=self._fields[label].string,
                )
            problem = path_problem(model, path, kind, comodel)
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
        return formula_names(expression)

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
            message = formula_shape_problem(expression)
        if message:
            return _(
                "the formula is not a safe expression: %(error)s",
                error=shorten(message),
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
                names=shorten(", ".join(unknown)),
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
                error=shorten(str(exc) or repr(exc)),
            )
        return False

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
