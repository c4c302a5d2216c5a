"""The KPI engine's orchestration: gather -> upsert -> score accounts ->
early warnings -> score history, for many accounts and one period at once.

Why an abstract model and not a plain class: the engine needs an
environment (cursor, user, company, translations) at every step, other
addons must be able to extend one step (``_inherit`` and ``super()``) without
monkey-patching, and an abstract model has no table, so it costs nothing.
Its methods pass plain dicts and lists between the steps, like OCA
mis_builder's expression processor: the ORM is only used for a fixed number
of reads of configuration (templates, KPIs, grade bands), never per account.

The value model (``key.account.kpi.value``) only stores the results and
keeps the public entry point ``compute_for_period``; the KPI model gathers
source data (``_engine_values``); early warnings are
``key.account.early.warning``; period arithmetic is ``tools/kpi_math.py``.
"""

import contextlib
import json
import logging
import time
from collections import defaultdict

import psycopg2
from psycopg2 import errorcodes, errors

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import kpi_math

_logger = logging.getLogger(__name__)

# the modes whose value is one aggregate of source records over the period
SHARED_SCAN_MODES = ("count", "sum", "average")
CURSOR_PARAM = "key_account_performance.kpi_cron_cursor.%s.%s.%s"
CURSOR_DONE = "done"
# one scheduled run at a time (a session-level advisory lock)
CRON_LOCK = "key_account_kpi_cron"
# transaction-level errors: the transaction is broken (serialization failure,
# deadlock, lock not available, lost connection), nothing can be retried in it
TRANSACTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
MAX_TRIES = 4
RETRY_PAUSE = 0.5  # seconds, times the attempt number


class ConcurrentComputation(errors.LockNotAvailable):
    """Raised by the second of two simultaneous computations of the same
    company and period once the first has finished: its transaction started
    before the first one's values were committed and cannot see them. Odoo's
    request layer (``odoo.service.model.retrying``) retries such concurrency
    errors in a fresh transaction, so an RPC or web caller just gets the
    values; no raw serialization error reaches it."""

    pgcode = errorcodes.LOCK_NOT_AVAILABLE


class KeyAccountKpiEngine(models.AbstractModel):
    _name = "key.account.kpi.engine"
    _description = "Key Account KPI Engine"

    # ------------------------------------------------------------------
    # Locking
    # ------------------------------------------------------------------
    @api.model
    def _lock_key(self, company, date_from, date_to):
        return "key_account_kpi:%s:%s:%s" % (company.id, date_from, date_to)

    @api.model
    def _try_lock(self, company, date_from, date_to):
        """Take the transaction-level advisory lock of a company and period.

        True when taken at once; False when another transaction holds it.
        """
        return self.env.execute_query(
            SQL(
                "SELECT pg_try_advisory_xact_lock(hashtext(%s))",
                self._lock_key(company, date_from, date_to),
            )
        )[0][0]

    @api.model
    def _wait_lock(self, company, date_from, date_to):
        self.env.execute_query(
            SQL(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                self._lock_key(company, date_from, date_to),
            )
        )

    # ------------------------------------------------------------------
    # Orchestration
    # ------------------------------------------------------------------
    @api.model
    def _run(self, partner_ids, date_from, date_to, company):
        """Compute, store and score one period for these commercial partners.

        The caller holds the company/period lock. Returns the ids of the
        values computed (created, updated or unchanged).
        """
        partners = self._read_partners(partner_ids)
        if not partners:
            return []
        partner_ids = list(partners)
        template_of, bands = self._templates_and_bands(partners, company)
        kpis = (
            self.env["key.account.kpi"]
            .sudo()
            .browse({kpi_id for band in bands.values() for kpi_id in band})
        )
        kpis = kpis.filtered("active").sorted(lambda k: (k.sequence, k.id))

        memo = {}
        self._prefetch_shared_scans(
            kpis, partner_ids, date_from, date_to, memo, company
        )
        rows, stale = self._gather_rows(
            kpis, partners, template_of, bands, date_from, date_to, memo, company
        )
        value_ids = self._upsert_values(rows, date_from, date_to, company, stale)
        current = self._current_scores(
            rows, partner_ids, template_of, bands, date_from, date_to
        )
        scores = self._account_scores(current, template_of, bands)
        prev_from, prev_to = kpi_math.previous_period(date_from, date_to)
        previous_values = self._stored_scores(partner_ids, prev_from, prev_to)
        previous = self._account_scores(previous_values, template_of, bands)
        if not self._is_score_period(company, date_from, date_to):
            # another window (analysis): its values are stored, the accounts'
            # score, grade, trend and history stay those of their periods
            return value_ids
        grade_bands = self.env["key.account.grade"]._get_bands(company)
        today = self._today(company)
        changes = self._update_partner_scores(
            partners, scores, previous, grade_bands, date_from, date_to, today
        )
        self.env["key.account.early.warning"]._detect_and_notify(
            partners,
            kpis,
            template_of,
            bands,
            current,
            previous_values,
            changes,
            date_from,
            date_to,
            today,
            company,
        )
        self._write_score_history(
            partners, scores, previous, grade_bands, date_from, date_to, today, company
        )
        self._refresh_next_period_trend(partners, scores, date_from, date_to)
        return value_ids

    @api.model
    def _templates_and_bands(self, partners, company):
        """({partner id: template id}, {template id: {kpi id: band}}) of the
        accounts read by ``_read_partners``: two queries."""
        Template = self.env["key.account.kpi.template"]
        template_of = Template._resolve_for_rows(
            {
                pid: (info["template_id"], info["tier_id"], info["segment_id"])
                for pid, info in partners.items()
            },
            company,
        )
        bands = Template.browse(
            list(set(filter(None, template_of.values())))
        )._kpi_bands()
        return template_of, bands

    @api.model
    def _rescore(self, partner_ids, date_from, date_to, company):
        """Score these accounts again for one period from the values stored
        (after manual values were entered, say): their score, grade and trend
        (when the period is the one they show), the score history and the next
        period's trend, in the same transaction. No value is recomputed, no
        early warning is raised. A fixed number of queries."""
        if not self._is_score_period(company, date_from, date_to):
            return
        partners = self._read_partners(partner_ids)
        if not partners:
            return
        pids = list(partners)
        template_of, bands = self._templates_and_bands(partners, company)
        self.env["key.account.kpi.value"].flush_model()
        scores = self._account_scores(
            self._stored_scores(pids, date_from, date_to), template_of, bands
        )
        previous = self._account_scores(
            self._stored_scores(pids, *kpi_math.previous_period(date_from, date_to)),
            template_of,
            bands,
        )
        grade_bands = self.env["key.account.grade"]._get_bands(company)
        today = self._today(company)
        self._update_partner_scores(
            partners, scores, previous, grade_bands, date_from, date_to, today
        )
        self._write_score_history(
            partners, scores, previous, grade_bands, date_from, date_to, today, company
        )
        self._refresh_next_period_trend(partners, scores, date_from, date_to)

    @api.model
    def _is_score_period(self, company, date_from, date_to):
        """Whether a period moves the accounts' score: a calendar period (month,
        quarter or year) of the company's review periodicity. Any other window
        is analysis: its values are stored, nothing else changes."""
        period_type = company.key_account_period_type or "quarter"
        return kpi_math.period_bounds(date_from, period_type) == (date_from, date_to)

    @api.model
    def _today(self, company):
        return fields.Date.context_today(
            self.with_context(tz=company.partner_id.tz or "UTC")
        )

    # ------------------------------------------------------------------
    # Partners: one plain query
    # ------------------------------------------------------------------
    @api.model
    def _read_partners(self, partner_ids):
        """{partner id: dict} of the columns the engine needs, one query."""
        self.env["res.partner"].flush_model(
            [
                "key_account_manager_id",
                "key_account_tier_id",
                "key_account_segment_id",
                "key_account_template_id",
                "key_account_score",
                "key_account_grade",
                "key_account_score_date",
                "name",
            ]
        )
        rows = self.env.execute_query_dict(
            SQL(
                """
            SELECT id, name, key_account_manager_id AS manager_id,
                   key_account_tier_id AS tier_id, key_account_segment_id AS segment_id,
                   key_account_template_id AS template_id,
                   (key_account_score->>%(company)s)::float8 AS score,
                   key_account_grade->>%(company)s AS grade,
                   (key_account_score_date->>%(company)s)::date AS score_date
              FROM res_partner WHERE id = ANY(%(ids)s) ORDER BY id
        """,
                # the score fields are company-dependent: this company's
                company=str(self.env.company.id),
                ids=list(partner_ids),
            )
        )
        return {row["id"]: row for row in rows}

    # ------------------------------------------------------------------
    # Gathering: KPIs reading the same source share one scan
    # ------------------------------------------------------------------
    @api.model
    def _needed_record_kpis(self, kpis, date_from, date_to):
        """{(kpi, date_from, date_to)} of the record KPIs the period needs,
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

    @api.model
    def _prefetch_shared_scans(
        self, kpis, partner_ids, date_from, date_to, memo, company
    ):
        """Fill ``memo`` for every count / sum / average KPI (and period) the
        computation needs, with one scan per source: KPIs on the same model,
        domain, partner path and date field are read by one grouped
        statement with one filtered aggregate per (KPI, period)."""
        groups = defaultdict(list)
        for kpi, start, end in self._needed_record_kpis(kpis, date_from, date_to):
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
                    memo.update(self._shared_scan(items, partner_ids, company))
            except Exception as exc:  # noqa: BLE001 - each KPI then reports its own error
                _logger.info(
                    "shared scan of %s fell back to one query per KPI: %s", key[0], exc
                )

    @api.model
    def _shared_scan(self, items, partner_ids, company):
        """One grouped statement for several (KPI, period) of one source.

        Returns {(kpi id, date_from, date_to): {partner id: value}} with the
        same figures as each KPI's own ``_gather_records``: a count of
        nothing is absent (NULLIF), a sum or average of nothing is NULL.
        """
        first = items[0][0]
        windows = [
            (kpi, kpi._scope_start(start, end), start, end) for kpi, start, end in items
        ]
        scan_from = min(w[1] for w in windows)
        scan_to = max(w[3] for w in windows)
        Model, query, cp_sql, date_sql, date_field = first._source_query(
            partner_ids, scan_from, scan_to, company
        )
        alias = Model._table
        aggregates = []
        for kpi, scope_from, _start, end in windows:
            condition = kpi._period_condition(
                date_sql, date_field, scope_from, end, company
            )
            mode = kpi.computation_mode
            if mode == "count":
                if kpi.count_distinct in ("day", "month"):
                    local = date_sql
                    if date_field.type == "datetime":
                        tz = company.partner_id.tz or self.env.user.tz or "UTC"
                        local = SQL("timezone(%s, timezone('UTC', %s))", tz, date_sql)
                    aggregate = SQL(
                        "COUNT(DISTINCT date_trunc(%s, %s)) FILTER (WHERE %s)",
                        kpi.count_distinct,
                        local,
                        condition,
                    )
                else:
                    aggregate = SQL("COUNT(*) FILTER (WHERE %s)", condition)
                aggregate = SQL("NULLIF(%s, 0)", aggregate)
            else:
                value_sql, _vfield = _sql_path(Model, alias, kpi.value_field, query)
                if kpi.currency_rate_field:
                    rate_sql, _rfield = _sql_path(
                        Model, alias, kpi.currency_rate_field, query
                    )
                    value_sql = SQL(
                        "(%s / COALESCE(NULLIF(%s, 0), 1.0))", value_sql, rate_sql
                    )
                function = SQL("SUM") if mode == "sum" else SQL("AVG")
                aggregate = SQL(
                    "%s(%s) FILTER (WHERE %s)", function, value_sql, condition
                )
            aggregates.append(aggregate)
        query.groupby = cp_sql
        rows = self.env.execute_query(query.select(cp_sql, *aggregates))
        result = {}
        for index, (kpi, _scope, start, end) in enumerate(windows):
            result[(kpi.id, start, end)] = {
                row[0]: float(row[index + 1])
                for row in rows
                if row[index + 1] is not None
            }
        return result

    @api.model
    def _gather_rows(
        self, kpis, partners, template_of, bands, date_from, date_to, memo, company
    ):
        """Value rows of every computed KPI for every partner of its template,
        scored in Python; and the (kpi, partner) pairs gone to 'no data'."""
        now = fields.Datetime.now()
        rows = []
        stale = []
        partner_ids = list(partners)
        ok, failed = [], {}
        for kpi in kpis:
            if kpi.computation_mode == "manual":
                continue
            try:
                with self.env.cr.savepoint():
                    values = kpi._engine_values(
                        partner_ids, date_from, date_to, memo, company
                    )
            except Exception as exc:  # noqa: BLE001 - a broken KPI must not stop the others
                _logger.warning("KPI %s failed: %s", kpi.code, exc)
                memo.pop((kpi.id, date_from, date_to), None)
                failed[kpi.id] = str(exc) or repr(exc)
                continue
            ok.append(kpi.id)
            kpi_id, code, sequence, direction = (
                kpi.id,
                kpi.code,
                kpi.sequence,
                kpi.direction,
            )
            filled = kpi.computation_mode in ("count", "sum")
            for pid in partner_ids:
                template_id = template_of[pid]
                band = template_id and bands[template_id].get(kpi_id)
                if not band:
                    continue
                value = values.get(pid)
                if value is None:
                    if not filled:
                        stale.append((kpi_id, pid))
                        continue
                    value = 0.0
                target, threshold, weight = band
                score = kpi_math.kpi_score(value, target, threshold, direction)
                rows.append(
                    (
                        pid,
                        kpi_id,
                        value,
                        target,
                        threshold,
                        weight,
                        score,
                        kpi_math.score_status(score) or None,
                        template_id,
                        code,
                        sequence,
                    )
                )
        self._kpi_outcome(ok, failed, now)
        return rows, stale

    @api.model
    def _kpi_outcome(self, ok, failed, now):
        """The KPIs computed and failed ({kpi id: error}) by one gathering.

        A scheduled run collects them (context ``kap_kpi_outcome``) and writes
        the KPIs' last run / success / error once per period, in a short
        transaction of its own: its chunks never update the KPI rows, which
        every computation of the company shares (a manual computation
        committing while a chunk runs would otherwise make the chunk fail on
        a serialization error). A single computation records them at once."""
        outcome = self.env.context.get("kap_kpi_outcome")
        if outcome is None:
            self._record_kpi_runs(ok, failed, now)
            return
        outcome.setdefault("ok", set()).update(ok)
        outcome.setdefault("failed", {}).update(failed)
        outcome["ok"] -= set(outcome["failed"])
        outcome["now"] = now

    @api.model
    def _record_kpi_runs(self, ok, failed, now):
        """Last run / success / error of the KPIs, two statements at most."""
        Kpi = self.env["key.account.kpi"].sudo()
        Kpi.flush_model(["last_run", "last_success", "last_error"])
        self.env.execute_query(
            SQL(
                """
            UPDATE key_account_kpi
               SET last_run = %(now)s, last_success = %(now)s, last_error = NULL
             WHERE id = ANY(%(ids)s)
        """,
                now=now,
                ids=ok,
            )
        )
        if failed:
            ids, errors = zip(*failed.items())
            self.env.execute_query(
                SQL(
                    """
                UPDATE key_account_kpi k SET last_run = %(now)s, last_error = x.e
                  FROM unnest(%(ids)s::int[], %(errors)s::text[]) AS x(id, e)
                 WHERE k.id = x.id
            """,
                    now=now,
                    ids=list(ids),
                    errors=list(errors),
                )
            )
        Kpi.browse(ok + list(failed)).invalidate_recordset(
            ["last_run", "last_success", "last_error"]
        )

    # ------------------------------------------------------------------
    # Writing the values: one statement, ids returned by it
    # ------------------------------------------------------------------
    @api.model
    def _upsert_values(self, rows, date_from, date_to, company, stale):
        """Insert or update all rows in one statement that returns the ids it
        wrote; the ids of the rows left unchanged come from a plain read of
        the period's ids made just before; a third statement drops the
        values gone to 'no data'.

        The read comes first and apart (rather than a second branch of the
        upsert over a materialised CTE of the rows, as up to 18.0.1.2.0):
        on a first computation it finds nothing, and the upsert streams the
        arrays straight into the table (about 1.5 s less at 200,000 values,
        no temporary files). The caller holds the company/period lock, so
        no other engine run writes the period in between; a value entered
        by hand meanwhile is caught by ON CONFLICT and returned by it."""
        Value = self.env["key.account.kpi.value"]
        Value.flush_model()
        columns = list(zip(*rows)) if rows else [[]] * 11
        arrays = dict(
            zip(
                (
                    "p",
                    "k",
                    "val",
                    "tgt",
                    "thr",
                    "w",
                    "s",
                    "st",
                    "t",
                    "kc",
                    "ks",
                ),
                map(_pg_array, columns),
            )
        )
        existing = self.env.execute_query(
            SQL(
                """
            SELECT partner_id, kpi_id, id FROM key_account_kpi_value
             WHERE partner_id = ANY(%(p)s::int[]) AND company_id = %(company)s
               AND date_from = %(date_from)s AND date_to = %(date_to)s
        """,
                p=_pg_array(sorted(set(columns[0]))),
                company=company.id,
                date_from=date_from,
                date_to=date_to,
            )
        )
        # unchanged rows are left alone (no dead tuples, no write_date churn).
        # Computed values carry no user (create_uid / write_uid NULL): the
        # engine writes them, whoever asked for the run (button, cron, RPC);
        # a value corrected by hand through the ORM carries its user. NULL
        # also spares PostgreSQL two foreign-key checks per row written.
        written = self.env.execute_query(
            SQL(
                """
            INSERT INTO key_account_kpi_value AS v (
                partner_id, kpi_id, value, target, threshold, weight, score, status,
                template_id, kpi_code, kpi_sequence,
                date_from, date_to, company_id, is_manual,
                create_uid, create_date, write_uid, write_date)
            SELECT p, k, val, tgt, thr, w, s, st, t, kc, ks,
                   %(date_from)s, %(date_to)s, %(company)s, FALSE,
                   NULL, %(now)s, NULL, %(now)s
              FROM unnest(%(p)s::int[], %(k)s::int[], %(val)s::float8[],
                          %(tgt)s::float8[], %(thr)s::float8[], %(w)s::float8[],
                          %(s)s::float8[], %(st)s::varchar[], %(t)s::int[],
                          %(kc)s::varchar[], %(ks)s::int[])
                   AS x(p, k, val, tgt, thr, w, s, st, t, kc, ks)
            ON CONFLICT (partner_id, kpi_id, date_from, date_to, company_id) DO UPDATE SET
                value = EXCLUDED.value, target = EXCLUDED.target,
                threshold = EXCLUDED.threshold, weight = EXCLUDED.weight,
                score = EXCLUDED.score, status = EXCLUDED.status,
                template_id = EXCLUDED.template_id, kpi_code = EXCLUDED.kpi_code,
                kpi_sequence = EXCLUDED.kpi_sequence, company_id = EXCLUDED.company_id,
                is_manual = FALSE,
                write_uid = NULL, write_date = EXCLUDED.write_date
            WHERE (v.value, v.target, v.threshold, v.weight, v.score, v.status,
                   v.template_id, v.kpi_code, v.kpi_sequence, v.company_id, v.is_manual)
                  IS DISTINCT FROM
                  (EXCLUDED.value, EXCLUDED.target, EXCLUDED.threshold, EXCLUDED.weight,
                   EXCLUDED.score, EXCLUDED.status, EXCLUDED.template_id,
                   EXCLUDED.kpi_code, EXCLUDED.kpi_sequence, EXCLUDED.company_id, FALSE)
            RETURNING v.id
        """,
                date_from=date_from,
                date_to=date_to,
                company=company.id,
                now=fields.Datetime.now(),
                **arrays,
            )
        )
        keys = set(zip(columns[0], columns[1]))
        ids = {row[0] for row in written}
        ids.update(vid for pid, kpi_id, vid in existing if (pid, kpi_id) in keys)
        ids = sorted(ids)
        # always one statement, so that the query count does not depend on the data
        kpi_col, partner_col = (list(col) for col in zip(*stale)) if stale else ([], [])
        self.env.execute_query(
            SQL(
                """
            DELETE FROM key_account_kpi_value v
             USING unnest(%(k)s::int[], %(p)s::int[]) AS x(k, p)
             WHERE v.kpi_id = x.k AND v.partner_id = x.p AND v.company_id = %(company)s
               AND v.date_from = %(date_from)s AND v.date_to = %(date_to)s
        """,
                k=kpi_col,
                p=partner_col,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
            )
        )
        Value.invalidate_model()
        return ids

    # ------------------------------------------------------------------
    # Scoring the accounts, in memory
    # ------------------------------------------------------------------
    @api.model
    def _current_scores(
        self, rows, partner_ids, template_of, bands, date_from, date_to
    ):
        """{partner id: {kpi id: (value, score)}} of the period: the rows just
        written plus the manual values (their band refreshed to the template's)."""
        current = defaultdict(dict)
        for row in rows:
            current[row[0]][row[1]] = (row[2], row[6])
        Value = self.env["key.account.kpi.value"]
        # the manual KPIs by id (a handful), not through a join: right after
        # the upsert the planner's statistics do not know the period's new
        # rows and nested-looped over the KPI table for each of them
        # (1.4 s at 200,000 values instead of 0.1 s)
        manual_kpis = (
            self.env["key.account.kpi"]
            .sudo()
            .browse({kpi_id for band in bands.values() for kpi_id in band})
            .filtered(lambda kpi: kpi.computation_mode == "manual")
        )
        manual = Value.sudo().search_fetch(
            [
                ("kpi_id", "in", manual_kpis.ids),
                ("partner_id", "in", list(partner_ids)),
                ("company_id", "=", self.env.company.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
            ],
            ["partner_id", "kpi_id", "value", "score", "target", "threshold", "weight"],
        )
        for record in manual:
            pid, kpi_id = record.partner_id.id, record.kpi_id.id
            template_id = template_of.get(pid)
            band = template_id and bands[template_id].get(kpi_id)
            if band and (record.target, record.threshold, record.weight) != band:
                record.write(dict(zip(("target", "threshold", "weight"), band)))
            current[pid][kpi_id] = (record.value, record.score)
        return current

    @api.model
    def _stored_scores(self, partner_ids, date_from, date_to):
        """{partner id: {kpi id: (value, score)}} stored for a period by the
        current company, one query."""
        rows = self.env.execute_query(
            SQL(
                """
            SELECT partner_id, kpi_id, value, score FROM key_account_kpi_value
             WHERE partner_id = ANY(%s) AND company_id = %s
               AND date_from = %s AND date_to = %s
        """,
                list(partner_ids),
                self.env.company.id,
                date_from,
                date_to,
            )
        )
        result = defaultdict(dict)
        for pid, kpi_id, value, score in rows:
            result[pid][kpi_id] = (value, score)
        return result

    @api.model
    def _account_scores(self, values, template_of, bands):
        """{partner id: weighted score} over the template KPIs that have a value."""
        result = {}
        for pid, by_kpi in values.items():
            template_id = template_of.get(pid)
            if not template_id:
                continue
            band = bands[template_id]
            score = kpi_math.weighted_score(
                (score, band[kpi_id][2])
                for kpi_id, (_value, score) in by_kpi.items()
                if kpi_id in band
            )
            if score is not None:
                result[pid] = score
        return result

    @api.model
    def _update_partner_scores(
        self, partners, scores, previous, grade_bands, date_from, date_to, today
    ):
        """Write score, grade and trend on partners when the period is closed
        and not older than what they show; returns {partner id: change}."""
        if date_to >= today:
            return {}
        rows = []
        for pid, info in partners.items():
            if info["score_date"] and info["score_date"] > date_to:
                continue
            score = scores.get(pid)
            grade = (
                kpi_math.grade_for(score, grade_bands) if score is not None else None
            )
            rows.append(
                (
                    pid,
                    score,
                    grade or None,
                    kpi_math.trend(score, previous.get(pid)),
                    info["score"] or 0.0,
                    info["grade"] or None,
                )
            )
        if rows:
            Partner = self.env["res.partner"]
            columns = list(zip(*rows))
            self.env.execute_query(
                SQL(
                    """
                UPDATE res_partner p
                   SET key_account_score = COALESCE(p.key_account_score, '{}'::jsonb)
                           || jsonb_build_object(%(c)s, x.s),
                       key_account_grade = COALESCE(p.key_account_grade, '{}'::jsonb)
                           || jsonb_build_object(%(c)s, x.g),
                       key_account_trend = COALESCE(p.key_account_trend, '{}'::jsonb)
                           || jsonb_build_object(%(c)s, x.t),
                       key_account_score_date = COALESCE(p.key_account_score_date, '{}'::jsonb)
                           || jsonb_build_object(%(c)s, %(date_to)s::date),
                       key_account_score_stale = FALSE
                  FROM unnest(%(p)s::int[], %(s)s::float8[], %(g)s::varchar[], %(t)s::float8[])
                       AS x(id, s, g, t)
                 WHERE p.id = x.id
                   -- unchanged accounts are left alone (no dead tuples on recomputation)
                   AND ((p.key_account_score->%(c)s, p.key_account_grade->%(c)s,
                         p.key_account_trend->%(c)s, p.key_account_score_date->%(c)s)
                        IS DISTINCT FROM (to_jsonb(x.s), to_jsonb(x.g), to_jsonb(x.t),
                                          to_jsonb(%(date_to)s::date))
                        OR p.key_account_score_stale)
            """,
                    # company-dependent: this company's score of a shared partner
                    c=str(self.env.company.id),
                    date_to=date_to,
                    p=list(columns[0]),
                    s=list(columns[1]),
                    g=list(columns[2]),
                    t=list(columns[3]),
                )
            )
            Partner.browse(list(columns[0])).invalidate_recordset(
                [
                    "key_account_score",
                    "key_account_grade",
                    "key_account_trend",
                    "key_account_score_date",
                    "key_account_score_stale",
                ]
            )
        return {
            row[0]: {
                "old_score": row[4],
                "old_grade": row[5],
                "score": row[1],
                "grade": row[2],
            }
            for row in rows
        }

    # ------------------------------------------------------------------
    # Score history: one row per account and period, same batch
    # ------------------------------------------------------------------
    @api.model
    def _write_score_history(
        self,
        partners,
        scores,
        previous,
        grade_bands,
        date_from,
        date_to,
        today,
        company,
    ):
        History = self.env["key.account.score.history"]
        History.flush_model()
        teams = self._manager_teams({info["manager_id"] for info in partners.values()})
        label = kpi_math.period_label(None, date_from, date_to)
        rows = []
        for pid, info in partners.items():
            score = scores.get(pid)
            if score is None:
                continue
            before = previous.get(pid)
            rows.append(
                (
                    pid,
                    score,
                    kpi_math.grade_for(score, grade_bands) or None,
                    before,
                    before is not None,
                    kpi_math.trend(score, before),
                    info["tier_id"],
                    info["segment_id"],
                    info["manager_id"],
                    teams.get(info["manager_id"]),
                )
            )
        columns = list(zip(*rows)) if rows else [[]] * 10
        arrays = dict(
            zip(
                ("p", "s", "g", "ps", "hp", "tr", "ti", "sg", "u", "tm"),
                map(_pg_array, columns),
            )
        )
        self.env.execute_query(
            SQL(
                """
            INSERT INTO key_account_score_history AS h (
                partner_id, score, grade, previous_score, has_previous, trend,
                tier_id, segment_id, user_id, team_id,
                company_id, date_from, date_to, period_label, is_running,
                create_uid, create_date, write_uid, write_date)
            SELECT p, s, g, ps, hp, tr, ti, sg, u, tm,
                   %(company)s, %(date_from)s, %(date_to)s, %(label)s, %(running)s,
                   NULL, %(now)s, NULL, %(now)s
              FROM unnest(%(p)s::int[], %(s)s::float8[], %(g)s::varchar[], %(ps)s::float8[],
                          %(hp)s::bool[], %(tr)s::float8[], %(ti)s::int[], %(sg)s::int[],
                          %(u)s::int[], %(tm)s::int[])
                   AS x(p, s, g, ps, hp, tr, ti, sg, u, tm)
            ON CONFLICT (partner_id, date_from, date_to, company_id) DO UPDATE SET
                score = EXCLUDED.score, grade = EXCLUDED.grade,
                previous_score = EXCLUDED.previous_score, has_previous = EXCLUDED.has_previous,
                trend = EXCLUDED.trend, tier_id = EXCLUDED.tier_id,
                segment_id = EXCLUDED.segment_id, user_id = EXCLUDED.user_id,
                team_id = EXCLUDED.team_id, company_id = EXCLUDED.company_id,
                period_label = EXCLUDED.period_label, is_running = EXCLUDED.is_running,
                write_uid = NULL, write_date = EXCLUDED.write_date
            WHERE (h.score, h.grade, h.previous_score, h.has_previous, h.trend, h.tier_id,
                   h.segment_id, h.user_id, h.team_id, h.company_id, h.period_label,
                   h.is_running)
                  IS DISTINCT FROM
                  (EXCLUDED.score, EXCLUDED.grade, EXCLUDED.previous_score,
                   EXCLUDED.has_previous, EXCLUDED.trend, EXCLUDED.tier_id,
                   EXCLUDED.segment_id, EXCLUDED.user_id, EXCLUDED.team_id,
                   EXCLUDED.company_id, EXCLUDED.period_label, EXCLUDED.is_running)
        """,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
                label=label,
                running=date_to >= today,
                now=fields.Datetime.now(),
                **arrays,
            )
        )
        # accounts of the batch without a score any more lose their row
        gone = [pid for pid in partners if pid not in scores]
        self.env.execute_query(
            SQL(
                """
            DELETE FROM key_account_score_history
             WHERE partner_id = ANY(%s) AND company_id = %s
               AND date_from = %s AND date_to = %s
        """,
                gone,
                company.id,
                date_from,
                date_to,
            )
        )
        History.invalidate_model()

    @api.model
    def _refresh_next_period_trend(self, partners, scores, date_from, date_to):
        """The period after this one compares with this one: when it is already
        computed (periods computed out of order, or this one recomputed), its
        previous score and trend, in the score history and on the accounts that
        show it, follow this period's new scores. Two statements, whatever the
        number of accounts."""
        next_from, next_to = kpi_math.next_period(date_from, date_to)
        pids = list(partners)
        self.env["key.account.score.history"].flush_model()
        self.env.execute_query(
            SQL(
                """
            UPDATE key_account_score_history h
               SET previous_score = x.s, has_previous = x.s IS NOT NULL,
                   trend = CASE WHEN x.s IS NULL THEN 0 ELSE h.score - x.s END
              FROM unnest(%(p)s::int[], %(s)s::float8[]) AS x(id, s)
             WHERE h.partner_id = x.id AND h.company_id = %(company)s
               AND h.date_from = %(next_from)s AND h.date_to = %(next_to)s
               AND (h.previous_score, h.has_previous) IS DISTINCT FROM (x.s, x.s IS NOT NULL)
        """,
                p=pids,
                s=[scores.get(pid) for pid in pids],
                company=self.env.company.id,
                next_from=next_from,
                next_to=next_to,
            )
        )
        self.env.execute_query(
            SQL(
                """
            UPDATE res_partner p
               SET key_account_trend = COALESCE(p.key_account_trend, '{}'::jsonb)
                       || jsonb_build_object(%(c)s, h.trend)
              FROM key_account_score_history h
             WHERE h.partner_id = p.id AND p.id = ANY(%(p)s) AND h.company_id = %(company)s
               AND h.date_from = %(next_from)s AND h.date_to = %(next_to)s
               AND (p.key_account_score_date->>%(c)s)::date = %(next_to)s
               AND p.key_account_trend->%(c)s IS DISTINCT FROM to_jsonb(h.trend)
        """,
                p=pids,
                c=str(self.env.company.id),
                company=self.env.company.id,
                next_from=next_from,
                next_to=next_to,
            )
        )
        self.env["key.account.score.history"].invalidate_model()
        self.env["res.partner"].browse(pids).invalidate_recordset(["key_account_trend"])

    @api.model
    def _manager_teams(self, user_ids):
        """{user id: sales team id} of the key-account managers (a few users)."""
        user_ids = [uid for uid in user_ids if uid]
        users = self.env["res.users"].sudo().browse(user_ids)
        return {user.id: user.sale_team_id.id or None for user in users}

    # ------------------------------------------------------------------
    # Scheduled runs: chunks, one commit each, resumable, locked
    # ------------------------------------------------------------------
    @api.model
    def _cron_plan(self):
        """[(company, date_from, date_to, partner ids)] of a scheduled run:
        the last closed and the running period of each company."""
        plan = []
        for company in self.env["res.company"].sudo().search([]):  # pylint: disable=no-search-all
            today = self._today(company)
            period_type = company.key_account_period_type or "quarter"
            partner_ids = (
                self.env["res.partner"]
                .sudo()
                .search(
                    [
                        ("is_key_account", "=", True),
                        ("company_id", "in", [company.id, False]),
                    ],
                    order="id",
                )
                .ids
            )
            for date_from, date_to in (
                kpi_math.last_closed_period(today, period_type),
                kpi_math.period_bounds(today, period_type),
            ):
                plan.append((company, date_from, date_to, partner_ids))
        return plan

    @api.model
    def _cron_cursor(
        self, company, date_from, date_to, value=None, clear=False, done=False
    ):
        """The last partner id done by an unfinished run of this day, kept in
        a system parameter (committed with each chunk). A period finished by
        a run whose other periods are not finished yet is marked done
        (``done=True``; read with ``_cron_period_done``): the run, resumed,
        does not compute it again. The marks go when the whole run is done."""
        Param = self.env["ir.config_parameter"].sudo()
        key = CURSOR_PARAM % (company.id, date_from, date_to)
        day = fields.Date.to_string(self._today(company))
        if clear:
            Param.search([("key", "=", key)]).unlink()
            return 0
        if done:
            Param.set_param(key, "%s:%s" % (day, CURSOR_DONE))
            return 0
        if value is not None:
            Param.set_param(key, "%s:%s" % (day, value))
            return value
        stored_day, last_id = self._cron_cursor_stored(key)
        return int(last_id) if stored_day == day and last_id.isdigit() else 0

    @api.model
    def _cron_cursor_stored(self, key):
        # read without the parameters' cache: another transaction may have moved it
        Param = self.env["ir.config_parameter"].sudo()
        stored = Param.search([("key", "=", key)], limit=1).value or ""
        stored_day, _sep, last_id = stored.partition(":")
        return stored_day, last_id

    @api.model
    def _cron_period_done(self, company, date_from, date_to):
        """This period was finished today by the run now resumed, and none of
        its inputs changed since (then it is computed again)."""
        key = CURSOR_PARAM % (company.id, date_from, date_to)
        stored_day, last_id = self._cron_cursor_stored(key)
        day = fields.Date.to_string(self._today(company))
        if stored_day != day or last_id != CURSOR_DONE:
            return False
        done_at = (
            self.env["ir.config_parameter"]
            .sudo()
            .search([("key", "=", key)], limit=1)
            .write_date
        )
        return not self._inputs_changed_since(company, done_at)

    @api.model
    def _inputs_changed_since(self, company, moment):
        """Whether an input of the company's KPI values changed after
        ``moment``: a record of a model its KPIs read (orders, invoices,
        tickets, answers, ratings…), a KPI, a template or an account. One
        query per model, whatever the number of accounts."""
        if not moment:
            return True
        kpis = (
            self.env["key.account.kpi"]
            .sudo()
            .search([("company_id", "in", [company.id, False])])
        )
        names = {
            "key.account.kpi",
            "key.account.kpi.template",
            "key.account.kpi.template.line",
            "res.partner",
            "survey.user_input",
            "rating.rating",
        } | {name for name in kpis.mapped("model_name") if name}
        for name in sorted(names):
            if name not in self.env or not self.env[name]._log_access:
                continue
            Model = self.env[name].sudo().with_context(active_test=False)
            if Model.search_count([("write_date", ">", moment)], limit=1):
                return True
        return False

    @api.model
    def _try_session_lock(self, key):
        """A session-level advisory lock: kept across the commits of a run
        (a chunk's commit does not let another run in), released by
        ``_session_unlock`` or when the connection ends (a killed run)."""
        return self.env.execute_query(
            SQL("SELECT pg_try_advisory_lock(hashtext(%s))", key)
        )[0][0]

    @api.model
    def _session_unlock(self, key):
        try:
            self.env.execute_query(SQL("SELECT pg_advisory_unlock(hashtext(%s))", key))
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            _logger.info("KPI run: lock %s not released (connection lost)", key)

    @api.model
    def _commit(self):
        if not modules.module.current_test:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _cron_run(self, batch_size=1000):
        """The scheduled computation, in chunks of ``batch_size`` accounts.

        One scheduled run at a time, and one computation per company and
        period at a time: the run holds session-level locks, kept across its
        commits. A second run (the scheduled action run by hand meanwhile) is
        told that a run is in progress, since when and how far; a button or
        RPC computation of a period being computed is told the same.

        Each chunk is committed with the run's cursor (the last account
        done) and its line in the run log (``key.account.kpi.run``), and
        progress is reported to ``ir.cron`` (``_notify_progress``): a run cut
        short (killed, timed out) leaves its cursor, and the next run of the
        day starts after it, without computing again the periods it had
        finished; Odoo reschedules a partially done cron at once.

        An error of one account is isolated (the chunk is retried account by
        account, the failure logged with its error); a transaction-level
        error (serialization failure, deadlock, lock not available, lost
        connection) is never retried inside the broken transaction: the
        chunk is rolled back to the last commit and retried in a fresh
        transaction, a few times with a growing pause; then the run stops
        at its last commit, logs why, and reports the work left.
        """
        if self._queue_job_installed():
            return self._cron_enqueue(batch_size)
        Run = self.env["key.account.kpi.run"].sudo()
        origin = Run._origin_of_context()
        Cron = self.env["ir.cron"]
        if not self._try_session_lock(CRON_LOCK):
            message = Run._describe_running(None, None, None) or self.env._(
                "A computation of the KPIs is in progress."
            )
            if origin == "manual":
                raise UserError(message)
            _logger.info("Scheduled KPI computation not started: %s", message)
            return True
        try:
            done, total = self._cron_run_plan(batch_size, origin)
        finally:
            self._session_unlock(CRON_LOCK)
        Cron._notify_progress(done=done, remaining=max(total - done, 0))
        return True

    @api.model
    def _cron_run_plan(self, batch_size, origin):
        """The periods of the plan, one after the other; (done, total)."""
        Value = self.env["key.account.kpi.value"].sudo()
        Cron = self.env["ir.cron"]
        plan = self._cron_plan()
        total = sum(len(ids) for *_period, ids in plan)
        done = 0
        finished_all = True
        for company, date_from, date_to, partner_ids in plan:
            if self._cron_period_done(company, date_from, date_to):
                _logger.info(
                    "KPI run of %s for %s..%s: already done by this run",
                    company.name,
                    date_from,
                    date_to,
                )
                done += len(partner_ids)
                continue
            lock = self._lock_key(company, date_from, date_to)
            if not self._try_session_lock(lock):
                _logger.info(
                    "KPI run of %s for %s..%s skipped: another computation of "
                    "this period is running; the next run goes on from where "
                    "this one stopped",
                    company.name,
                    date_from,
                    date_to,
                )
                finished_all = False
                continue
            try:
                period_done, finished, stop = self._cron_run_period(
                    Value.with_company(company),
                    company,
                    date_from,
                    date_to,
                    partner_ids,
                    batch_size,
                    origin,
                    done,
                    total,
                )
            finally:
                self._session_unlock(lock)
            done += period_done
            if not finished:
                finished_all = False
            if stop:
                Cron._notify_progress(done=done, remaining=max(total - done, 0))
                return done, total
        if finished_all:
            for company, date_from, date_to, _ids in plan:
                self._cron_cursor(company, date_from, date_to, clear=True)
            self._commit()
        return done, total

    @api.model
    def _cron_run_period(
        self,
        Value,
        company,
        date_from,
        date_to,
        partner_ids,
        batch_size,
        origin,
        done,
        total,
    ):
        """One company and period, chunk by chunk, under its lock.

        Returns (accounts done, period finished, run to stop)."""
        Run = self.env["key.account.kpi.run"].sudo()
        Cron = self.env["ir.cron"]
        start_after = self._cron_cursor(company, date_from, date_to)
        todo = [pid for pid in partner_ids if pid > start_after]
        period_done = len(partner_ids) - len(todo)
        if start_after and todo:
            _logger.info(
                "KPI run of %s for %s..%s resumes after account %s (%s left)",
                company.name,
                date_from,
                date_to,
                start_after,
                len(todo),
            )
        # the run killed or stopped where the cursor says goes on; one that
        # does not match the cursor (of another day) is closed as interrupted
        run = Run._resumable(company, date_from, date_to)
        if run and run.last_partner_id != start_after:
            run._finish(
                "failed",
                self.env._(
                    "Interrupted before it finished; a later run computed the "
                    "period again."
                ),
            )
            run = Run.browse()
        if not run:
            run = Run._start(company, date_from, date_to, origin, len(partner_ids))
        run._write_state_running()
        self._commit()  # the run is seen in the log while it runs
        outcome = {}
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            failures, error = self._cron_chunk_retrying(
                Value.with_context(kap_kpi_outcome=outcome),
                chunk,
                date_from,
                date_to,
                company,
            )
            if error is not None:
                run._finish("stopped", error)
                self._commit()
                _logger.warning(
                    "KPI run of %s for %s..%s stopped after account %s, %s accounts "
                    "left for the next run: %s",
                    company.name,
                    date_from,
                    date_to,
                    start_after if not start else todo[start - 1],
                    len(todo) - start,
                    error,
                )
                return period_done, False, True
            run._progress(len(chunk), failures, chunk[-1])
            self._cron_cursor(company, date_from, date_to, value=chunk[-1])
            period_done += len(chunk)
            Cron._notify_progress(
                done=done + period_done, remaining=max(total - done - period_done, 0)
            )
            self._commit()
        run._log_kpi_errors(outcome.get("failed"))
        run._finish()
        self._cron_cursor(company, date_from, date_to, done=True)
        self._commit()
        if outcome.get("now"):
            self._record_kpi_runs_retrying(outcome)
        return period_done, True, False

    @api.model
    def _record_kpi_runs_retrying(self, outcome):
        """The KPIs' last run / success / error, once per period of a
        scheduled run, in a short transaction of its own."""
        ok, failed = sorted(outcome.get("ok", ())), outcome.get("failed", {})
        for attempt in range(1, MAX_TRIES + 1):
            try:
                with self._chunk_transaction():
                    self._record_kpi_runs(ok, dict(failed), outcome["now"])
                self._commit()
                return
            except TRANSACTION_ERRORS as exc:
                if attempt == MAX_TRIES:
                    _logger.warning(
                        "KPI run: last run of the KPIs not recorded: %s", exc
                    )
                    return
                time.sleep(RETRY_PAUSE * attempt)

    @contextlib.contextmanager
    def _chunk_transaction(self):
        """Undo on a transaction-level error: back to the last commit (a
        fresh transaction), or, under tests (which do not commit), to a
        savepoint taken where the commit would be."""
        if modules.module.current_test:
            with self.env.cr.savepoint():
                yield
            return
        try:
            yield
        except TRANSACTION_ERRORS:
            try:
                self.env.cr.rollback()
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                _logger.info("KPI run: rollback failed (connection lost)")
            self.env.invalidate_all(flush=False)
            raise

    @api.model
    def _cron_chunk_retrying(self, Value, chunk, date_from, date_to, company):
        """The chunk, retried as a whole in a fresh transaction after a
        transaction-level error. Returns ({partner id: error} of the accounts
        that failed, None) or ({}, the error that stopped it)."""
        for attempt in range(1, MAX_TRIES + 1):
            try:
                with self._chunk_transaction():
                    if not self._try_lock(company, date_from, date_to):
                        raise errors.LockNotAvailable(
                            "the lock of %s..%s is taken" % (date_from, date_to)
                        )
                    failures = self._cron_chunk(
                        Value, chunk, date_from, date_to, company
                    )
                    return failures or {}, None
            except TRANSACTION_ERRORS as exc:
                error = "%s: %s" % (type(exc).__name__, str(exc).strip() or repr(exc))
                _logger.info(
                    "KPI chunk of accounts %s-%s (%s..%s), attempt %s of %s: %s",
                    chunk[0],
                    chunk[-1],
                    date_from,
                    date_to,
                    attempt,
                    MAX_TRIES,
                    error,
                )
                if attempt < MAX_TRIES:
                    time.sleep(RETRY_PAUSE * attempt)
        return {}, error

    # ------------------------------------------------------------------
    # Beyond one server: OCA queue_job, when it is installed
    # ------------------------------------------------------------------
    @api.model
    def _queue_job_installed(self):
        """OCA ``queue_job`` is installed in this database (its model exists
        and records have ``with_delay``). Without it, the scheduled run does
        the work itself, chunk by chunk."""
        return "queue.job" in self.env and hasattr(self, "with_delay")

    @api.model
    def _cron_enqueue(self, batch_size=1000):
        """The scheduled run as queue jobs: one job per company, period and
        chunk of accounts, which queue_job's runner spreads over the Odoo
        workers of every server. A chunk already waiting in the queue is not
        enqueued twice (identity key). Returns the number of jobs."""
        count = 0
        for company, date_from, date_to, partner_ids in self._cron_plan():
            for start in range(0, len(partner_ids), batch_size):
                chunk = partner_ids[start : start + batch_size]
                self.with_company(company).with_delay(
                    description="KPIs of %s, %s..%s, accounts %s-%s"
                    % (company.name, date_from, date_to, chunk[0], chunk[-1]),
                    identity_key="key_account_kpi:%s:%s:%s:%s-%s:%s"
                    % (company.id, date_from, date_to, chunk[0], chunk[-1], len(chunk)),
                )._job_compute_chunk(
                    company.id,
                    fields.Date.to_string(date_from),
                    fields.Date.to_string(date_to),
                    chunk,
                )
                count += 1
        _logger.info("Scheduled KPI computation: %s queue jobs enqueued", count)
        return count

    @api.model
    def _job_compute_chunk(self, company_id, date_from, date_to, partner_ids):
        """A queue job: compute one chunk of accounts of one company and
        period, under the period's lock (a job that finds the period locked
        by another computation is retried later by queue_job; so is a job
        that meets a transaction-level error, by queue_job's runner)."""
        company = self.env["res.company"].browse(company_id)
        date_from, date_to = (
            fields.Date.to_date(date_from),
            fields.Date.to_date(date_to),
        )
        if not self._try_lock(company, date_from, date_to):
            from odoo.addons.queue_job.exception import RetryableJobError

            raise RetryableJobError(
                "Another computation of %s..%s is running" % (date_from, date_to),
                seconds=30,
            )
        Run = self.env["key.account.kpi.run"].sudo()
        run = Run._start(
            company, date_from, date_to, "job", len(partner_ids), list(partner_ids)
        )
        Value = self.env["key.account.kpi.value"].sudo().with_company(company)
        outcome = {}
        failures = self._cron_chunk(
            Value.with_context(kap_kpi_outcome=outcome),
            partner_ids,
            date_from,
            date_to,
            company,
        )
        run._progress(len(partner_ids), failures or {}, partner_ids[-1])
        run._log_kpi_errors(outcome.get("failed"))
        run._finish()
        if outcome.get("now"):
            self._record_kpi_runs(
                sorted(outcome.get("ok", ())), outcome["failed"], outcome["now"]
            )
        return "%s accounts computed for %s..%s" % (
            len(partner_ids),
            date_from,
            date_to,
        )

    @api.model
    def _cron_chunk(self, Value, partner_ids, date_from, date_to, company):
        """Compute one chunk; an error of one account is isolated (the chunk
        is retried account by account) and returned: {partner id: error}.
        A transaction-level error is raised at once, never retried in the
        broken transaction (see ``_cron_chunk_retrying``)."""
        partners = self.env["res.partner"].sudo().browse(partner_ids)
        failures = {}
        try:
            with self.env.cr.savepoint():
                Value._compute_values(partners, date_from, date_to, company)
        except TRANSACTION_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - one chunk never stops the run
            # isolate the culprit: retry the chunk one account at a time
            for partner in partners:
                try:
                    with self.env.cr.savepoint():
                        Value._compute_values(partner, date_from, date_to, company)
                except TRANSACTION_ERRORS:
                    raise
                except Exception as exc:  # noqa: BLE001
                    _logger.exception(
                        "Key account KPI computation failed for %s (%s) of %s",
                        partner.display_name,
                        partner.id,
                        company.name,
                    )
                    failures[partner.id] = str(exc) or repr(exc)
        return failures


def _sql_path(model, alias, path, query):
    from .key_account_kpi import _sql_path as sql_path

    return sql_path(model, alias, path, query)


def _pg_array(values):
    """PostgreSQL array literal of numbers / booleans / identifiers / None.

    Array literals ('{1,2,3}') parse far faster than ARRAY[...] of 100,000s
    of parameters, and JSON's encoder (in C) writes them: its numbers, null,
    true / false and double-quoted strings (identifiers and codes, no control
    characters) are what PostgreSQL's array input reads."""
    return "{%s}" % json.dumps(list(values), ensure_ascii=False)[1:-1]
