"""Gathering: the values of KPIs for many accounts and one period at once.

``Gathering`` is built for one company and one set of commercial partners,
with a memo shared by everything that reads through it; ``values(kpi,
date_from, date_to)`` returns ``{partner id: value}`` of one KPI and period.
KPIs that read the same source (model, domain, partner path, date field)
are read first by one scan (``prefetch``), with one filtered aggregate per
(KPI, period); ratio, growth and formula KPIs read their inputs through the
memo. This is the only place where the engine reads source data.
"""

import logging
import math
from collections import defaultdict

from odoo.exceptions import ValidationError
from odoo.tools import SQL
from odoo.tools.safe_eval import _SAFE_OPCODES, test_expr

from ..sql import aggregate as sql_aggregate
from ..tools import kpi_math
from ..tools.formula import (
    FORMULA_MAX_LENGTH,
    formula_compile,
    formula_evaluate,
    formula_shape_problem,
)

_logger = logging.getLogger(__name__)

# the modes whose value is one aggregate of source records over the period
SHARED_SCAN_MODES = ("count", "sum", "average")
RECORD_MODES = ("count", "sum", "average", "duration", "rating")


def needed_record_kpis(kpis, date_from, date_to):
    """{(kpi, date_from, date_to)} of the record KPIs a period needs,
    following ratios, growth and formulas (previous period, last year)."""
    needed = set()
    seen = set()

    def visit(kpi, start, end):
        if not kpi or (kpi.id, start, end) in seen:
            return
        seen.add((kpi.id, start, end))
        if kpi.computation_mode in SHARED_SCAN_MODES:
            needed.add((kpi, start, end))
            return
        for dep, ref in kpi._dependencies():
            if ref == "prev":
                visit(dep, *kpi_math.previous_period(start, end))
            elif ref == "last_year":
                visit(dep, *kpi_math.same_period_last_year(start, end))
            else:
                visit(dep, start, end)

    for kpi in kpis:
        visit(kpi, date_from, date_to)
    return needed


class Gathering:
    """The source data of one company's KPIs for a set of accounts.

    State: ``memo`` {(kpi id, date_from, date_to): {partner id: value}},
    filled by ``prefetch`` (shared scans) and by ``values`` (each KPI and
    period once); a KPI that failed leaves no entry.
    """

    def __init__(self, env, company, partner_ids, memo=None):
        self.env = env
        self.company = company
        self.partner_ids = list(partner_ids)
        self.memo = {} if memo is None else memo

    # ------------------------------------------------------------------
    # Shared scans
    # ------------------------------------------------------------------
    def prefetch(self, kpis, date_from, date_to):
        """Fill the memo for every count / sum / average KPI (and period)
        the period needs, with one scan per source: KPIs on the same model,
        domain, partner path and date field are read by one grouped
        statement with one filtered aggregate per (KPI, period)."""
        groups = defaultdict(list)
        for kpi, start, end in needed_record_kpis(kpis, date_from, date_to):
            if not kpi.model_id or not kpi.date_field:
                continue
            key = (
                kpi.model_id.model,
                (kpi.domain or "[]").strip(),
                kpi.partner_field or "partner_id",
                kpi.date_field,
            )
            groups[key].append((kpi, start, end))
        for key, items in groups.items():
            if len(items) < 2:
                continue  # alone on its source: the KPI's own query is the same scan
            try:
                with self.env.cr.savepoint():
                    self.memo.update(self._shared_scan(items))
            except Exception as exc:  # noqa: BLE001 - each KPI then reports its own error
                _logger.info(
                    "shared scan of %s fell back to one query per KPI: %s", key[0], exc
                )

    def _shared_scan(self, items):
        """One grouped statement for several (KPI, period) of one source.

        Returns {(kpi id, date_from, date_to): {partner id: value}} with the
        same figures as each KPI read alone: a count of nothing is absent, a
        sum or average of nothing is NULL."""
        windows = [
            (kpi, kpi._scope_start(start, end), start, end) for kpi, start, end in items
        ]
        scan_from = min(w[1] for w in windows)
        scan_to = max(w[3] for w in windows)
        source = sql_aggregate.source_query(
            items[0][0], self.partner_ids, scan_from, scan_to, self.company
        )
        aggregates = [
            sql_aggregate.kpi_aggregate(
                kpi,
                source,
                self.company,
                condition=sql_aggregate.period_condition(
                    source.date_sql, source.date_field, scope_from, end, self.company
                ),
            )
            for kpi, scope_from, _start, end in windows
        ]
        rows = self.env.execute_query(sql_aggregate.grouped_select(source, aggregates))
        result = {}
        for index, (kpi, _scope, start, end) in enumerate(windows):
            result[(kpi.id, start, end)] = {
                row[0]: float(row[index + 1])
                for row in rows
                if row[index + 1] is not None
            }
        return result

    # ------------------------------------------------------------------
    # One KPI and period
    # ------------------------------------------------------------------
    def values(self, kpi, date_from, date_to):
        """{commercial partner id: value} of ``kpi`` over the period, through
        the memo."""
        key = (kpi.id, date_from, date_to)
        if key in self.memo:
            return self.memo[key]
        mode = kpi.computation_mode
        if mode in RECORD_MODES:
            result = self._records(kpi, kpi._scope_start(date_from, date_to), date_to)
        elif mode == "survey":
            result = self._survey(kpi, date_from, date_to)
        elif mode == "ratio":
            num = self.values(kpi.numerator_kpi_id, date_from, date_to)
            den = self.values(kpi.denominator_kpi_id, date_from, date_to)
            result = {}
            for pid in self.partner_ids:
                value = kpi_math.ratio(
                    num.get(pid), den.get(pid), kpi.ratio_factor or 1.0
                )
                if value is not None:
                    result[pid] = value
        elif mode == "growth":
            if kpi.growth_reference == "last_year":
                ref_from, ref_to = kpi_math.same_period_last_year(date_from, date_to)
            else:
                ref_from, ref_to = kpi_math.previous_period(date_from, date_to)
            current = self.values(kpi.base_kpi_id, date_from, date_to)
            previous = self.values(kpi.base_kpi_id, ref_from, ref_to)
            result = {}
            for pid in self.partner_ids:
                value = kpi_math.growth(current.get(pid), previous.get(pid))
                if value is not None:
                    result[pid] = value
        elif mode == "formula":
            result = self._formula(kpi, date_from, date_to)
        elif mode == "manual":
            result = self._manual(kpi, date_from, date_to)
        else:
            result = {}
        # a source holding NaN or infinity (a float column, a survey, a
        # rating, an import) is the KPI's run error, not a value
        not_finite = {
            pid: value for pid, value in result.items() if not math.isfinite(value)
        }
        if not_finite:
            self._raise_not_finite(kpi, not_finite)
        self.memo[key] = result
        return result

    def _records(self, kpi, date_from, date_to):
        """One grouped SQL statement: the aggregate per commercial partner."""
        if not self.partner_ids:
            return {}
        source = sql_aggregate.source_query(
            kpi, self.partner_ids, date_from, date_to, self.company
        )
        statement = sql_aggregate.grouped_select(
            source, [sql_aggregate.kpi_aggregate(kpi, source, self.company)]
        )
        rows = self.env.execute_query(statement)
        return {pid: float(value) for pid, value in rows if value is not None}

    def _manual(self, kpi, date_from, date_to):
        groups = (
            self.env["key.account.kpi.value"]
            .sudo()
            ._read_group(
                [
                    ("kpi_id", "=", kpi.id),
                    ("partner_id", "in", self.partner_ids),
                    ("company_id", "=", self.env.company.id),
                    ("date_from", "=", date_from),
                    ("date_to", "=", date_to),
                ],
                ["partner_id"],
                ["value:max"],
            )
        )
        return {partner.id: value for partner, value in groups}

    def _survey(self, kpi, date_from, date_to):
        """Answer counts per partner and scale value, one grouped statement."""
        if not self.partner_ids:
            return {}
        start, end = kpi_math.datetime_bounds(
            date_from, date_to, kpi_math.company_tz(self.company)
        )
        question_ids = (
            kpi.survey_question_id
            or kpi.survey_id.question_ids.filtered(
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
                partners=tuple(self.partner_ids),
                start=start,
                end=end,
            )
        )
        counts = {}
        for pid, scale, count in rows:
            counts.setdefault(pid, {})[scale] = count
        result = {}
        for pid, answer_counts in counts.items():
            if kpi.survey_method == "nps":
                value = kpi_math.nps_from_counts(answer_counts)
            elif kpi.survey_method == "csat":
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

    def _formula(self, kpi, date_from, date_to):
        prev_from, prev_to = kpi_math.previous_period(date_from, date_to)
        columns = {}
        by_code = kpi._kpis_by_code()
        for name in kpi._formula_names():
            if name.endswith("_prev") and name[:-5] in by_code:
                columns[name] = self.values(by_code[name[:-5]], prev_from, prev_to)
            elif name in by_code:
                columns[name] = self.values(by_code[name], date_from, date_to)
        base_context = {
            "period_days": kpi_math.period_days(date_from, date_to),
            "period_months": kpi_math.month_span(date_from, date_to),
        }
        expression = (kpi.formula or "").strip()
        if len(expression) > FORMULA_MAX_LENGTH:
            raise ValidationError(
                self.env._(
                    "the formula is too long (%(length)s characters, at most %(max)s).",
                    length=len(expression),
                    max=FORMULA_MAX_LENGTH,
                )
            )
        problem = formula_shape_problem(expression)
        if problem:
            raise ValidationError(problem)
        # safe_eval's own opcode check once, then evaluated per partner with
        # floats only and restricted builtins (the check is the costly part)
        test_expr(expression, _SAFE_OPCODES, mode="eval")
        code = formula_compile(expression)
        result = {}
        not_finite = {}
        for pid in self.partner_ids:
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
            self._raise_not_finite(kpi, not_finite)
        return result

    def _raise_not_finite(self, kpi, not_finite):
        """Raise the run error of values that are not finite numbers
        ({partner id: value}): the KPI stores nothing for the period."""
        partners = self.env["res.partner"].sudo().browse(list(not_finite)[:3])
        raise ValidationError(
            self.env._(
                "KPI %(kpi)s (%(code)s) gives a value that is not a finite number "
                "(%(value)s) for %(count)s account(s), e.g. %(partners)s: nothing is stored.",
                kpi=kpi.name,
                code=kpi.code,
                value=next(iter(not_finite.values())),
                count=len(not_finite),
                partners=", ".join(partners.mapped("display_name")),
            )
        )
