"""One computation of the KPIs: a run object, like OCA mis_builder's
``AccountingExpressionProcessor``.

How to use (the AbstractModel ``key.account.kpi.engine`` does it)::

    run = KpiRun(engine, company, date_from, date_to, partner_ids)
    value_ids = run.compute()        # or, phase by phase, in this order:
    run.load()                       # definitions: accounts, templates, bands, KPIs
    run.gather()                     # source data, scored in Python
    run.write_values()               # the values, one upsert
    run.score()                      # the accounts' scores, this period and the previous
    run.update_accounts()            # score, grade and trend shown on the accounts
    run.warn()                       # early warnings
    run.record_history()             # score history, next period's trend

How it works: the run is built from what is fixed for it (company, period,
accounts) and each phase reads what the phases before left in its
attributes, never from the phase after: data flows one way, definitions ->
gathering -> scoring -> writing -> history -> warnings. Every phase runs a
fixed number of statements (``sql/``) whatever the number of accounts; the
configuration (templates, bands, KPIs, grade bands) is read once, in
``load``. The caller holds the company/period lock (``engine/scheduled.py``
for scheduled runs in chunks, ``key.account.kpi.value.compute_for_period``
for one computation).
"""

from collections import defaultdict

from odoo import fields

from ..sql import columns_of
from ..sql import history as sql_history
from ..sql import values as sql_values
from ..tools import kpi_math
from .gathering import Gathering

PARTNER_SCORE_FIELDS = [
    "key_account_score",
    "key_account_grade",
    "key_account_trend",
    "key_account_score_date",
    "key_account_score_stale",
]


class KpiRun:
    """The KPIs of some accounts of one company for one period."""

    def __init__(self, engine, company, date_from, date_to, partner_ids):
        engine = engine.with_company(company)
        self.engine = engine
        self.env = engine.env
        self.company = company
        self.date_from = date_from
        self.date_to = date_to
        # (company id, date_from, date_to): the key of every row the run writes
        self.period = (company.id, date_from, date_to)
        # read on first use: the company's today (see today)
        self._today = None
        # before load: the ids asked for; after: those found, sorted
        self.partner_ids = list(partner_ids)
        # after load: {partner id: row of sql.values.read_partners}
        self.partners = {}
        # after load: {partner id: template id or False}
        self.template_of = {}
        # after load: {template id: {kpi id: (target, threshold, weight)}}
        self.bands = {}
        # after load_kpis: the active KPIs of the templates (sudo), in sequence order
        self.kpis = self.env["key.account.kpi"].sudo().browse()
        # read on first use: the company's grade bands (see grade_bands)
        self._grade_bands = None
        # after gather: {(kpi id, date_from, date_to): {partner id: value}}
        self.memo = {}
        # after gather: value rows, in the order of sql.values.VALUE_COLUMNS
        self.rows = []
        # after gather: [(kpi id, partner id)] of the values gone to 'no data'
        self.stale = []
        # after gather: ids of the KPIs computed, {kpi id: error} of those failed
        self.ok = []
        self.failed = {}
        # after write_values: ids of the values computed (written or unchanged)
        self.value_ids = []
        # after score: {partner id: {kpi id: (value, score)}} of this period
        # (the rows gathered and the manual values) and of the previous one
        self.current = {}
        self.previous_values = {}
        # after score: {partner id: account score} of this period / the previous one
        self.scores = {}
        self.previous = {}
        # after update_accounts: {partner id: {old_score, old_grade, score, grade}}
        self.changes = {}

    # ------------------------------------------------------------------
    # The whole computation
    # ------------------------------------------------------------------
    def compute(self):
        """Compute, store and score the period for the accounts; returns the
        ids of the values computed (created, updated or unchanged)."""
        if not self.load():
            return []
        self.load_kpis()
        self.gather()
        self.write_values()
        self.score()
        if not self.is_score_period():
            # another window (analysis): its values are stored, the accounts'
            # score, grade, trend and history stay those of their periods
            return self.value_ids
        self.update_accounts()
        self.warn()
        self.record_history()
        return self.value_ids

    def rescore(self):
        """Score the accounts again from the values stored (after manual
        values were entered, say): score, grade and trend, score history and
        the next period's trend. Nothing gathered, no warning."""
        if not self.is_score_period() or not self.load():
            return
        self.env["key.account.kpi.value"].flush_model()
        self.current = self._stored_scores(self.date_from, self.date_to)
        self._score_accounts()
        self.update_accounts()
        self.record_history()

    def is_score_period(self):
        """Whether the period moves the accounts' score: a calendar period
        (month, quarter or year) of the company's review periodicity. Any
        other window is analysis: its values are stored, nothing else changes."""
        period_type = self.company.key_account_period_type or "quarter"
        return kpi_math.period_bounds(self.date_from, period_type) == (
            self.date_from,
            self.date_to,
        )

    # ------------------------------------------------------------------
    # Definitions
    # ------------------------------------------------------------------
    def load(self):
        """Read the accounts, their templates and the templates' bands: a
        few queries. False when there is no account."""
        Partner = self.env["res.partner"]
        Partner.flush_model(
            [
                "name",
                "key_account_manager_id",
                "key_account_tier_id",
                "key_account_segment_id",
                "key_account_template_id",
                "key_account_score",
                "key_account_grade",
                "key_account_score_date",
            ]
        )
        rows = self.env.execute_query_dict(
            sql_values.read_partners(self.partner_ids, self.env.company.id)
        )
        self.partners = {row["id"]: row for row in rows}
        self.partner_ids = list(self.partners)
        if not self.partners:
            return False
        Template = self.env["key.account.kpi.template"]
        self.template_of = Template._resolve_for_rows(
            {
                pid: (info["template_id"], info["tier_id"], info["segment_id"])
                for pid, info in self.partners.items()
            },
            self.company,
        )
        self.bands = Template.browse(
            list(set(filter(None, self.template_of.values())))
        )._kpi_bands()
        return True

    def load_kpis(self):
        """The active KPIs of the templates, in sequence order."""
        kpi_ids = {kpi_id for band in self.bands.values() for kpi_id in band}
        # sudo: the configuration of the KPIs, read by the engine for any caller
        self.kpis = (
            self.env["key.account.kpi"]
            .sudo()
            .browse(kpi_ids)
            .filtered("active")
            .sorted(lambda k: (k.sequence, k.id))
        )

    @property
    def today(self):
        """The company's today (``key.account.kpi.engine._today``)."""
        if self._today is None:
            self._today = self.engine._today(self.company)
        return self._today

    @property
    def grade_bands(self):
        """The company's grade bands, read once (by the first phase that
        grades an account)."""
        if self._grade_bands is None:
            self._grade_bands = self.env["key.account.grade"]._get_bands(self.company)
        return self._grade_bands

    # ------------------------------------------------------------------
    # Gathering
    # ------------------------------------------------------------------
    def gather(self):
        """Gather every computed KPI for every account of its template (one
        scan per source) and score each value: ``rows``, ``stale``, ``ok``
        and ``failed``. A broken KPI is recorded and does not stop the others."""
        now = fields.Datetime.now()
        gathering = Gathering(self.kpis.env, self.company, self.partner_ids, self.memo)
        gathering.prefetch(self.kpis, self.date_from, self.date_to)
        for kpi in self.kpis:
            if kpi.computation_mode == "manual":
                continue
            key = (kpi.id, self.date_from, self.date_to)
            if key in self.memo:
                # read by a shared scan: no statement left to fail, no savepoint
                values = self.memo[key]
            else:
                try:
                    with self.env.cr.savepoint():
                        values = gathering.values(kpi, self.date_from, self.date_to)
                except Exception as exc:  # noqa: BLE001 - a broken KPI must not stop the others
                    self.engine._log_kpi_failure(kpi, exc)
                    self.memo.pop(key, None)
                    self.failed[kpi.id] = str(exc) or repr(exc)
                    continue
            self.ok.append(kpi.id)
            self._value_rows(kpi, values)
        self.engine._kpi_outcome(self.ok, self.failed, now)

    def _value_rows(self, kpi, values):
        """Rows of one KPI's values ({partner id: value}) for the accounts
        whose template holds it; a count or sum of nothing is 0, any other
        KPI without a value goes to 'no data'."""
        kpi_id, code, sequence, direction = (
            kpi.id,
            kpi.code,
            kpi.sequence,
            kpi.direction,
        )
        filled = kpi.computation_mode in ("count", "sum")
        for pid in self.partner_ids:
            template_id = self.template_of[pid]
            band = template_id and self.bands[template_id].get(kpi_id)
            if not band:
                continue
            value = values.get(pid)
            if value is None:
                if not filled:
                    self.stale.append((kpi_id, pid))
                    continue
                value = 0.0
            target, threshold, weight = band
            score = kpi_math.kpi_score(value, target, threshold, direction)
            self.rows.append(
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

    # ------------------------------------------------------------------
    # Writing the values: one statement, ids returned by it
    # ------------------------------------------------------------------
    def write_values(self):
        """Insert or update all rows in one statement that returns the ids it
        wrote; the ids of the rows left unchanged come from a plain read of
        the period's ids made just before; a third statement drops the
        values gone to 'no data'.

        The read comes first and apart: on a first computation it finds
        nothing, and the upsert streams the arrays straight into the table.
        The caller holds the company/period lock, so no other engine run
        writes the period in between; a value entered by hand meanwhile is
        caught by ON CONFLICT and returned by it."""
        Value = self.env["key.account.kpi.value"]
        Value.flush_model()
        arrays = columns_of(self.rows, sql_values.VALUE_COLUMNS)
        existing = self.env.execute_query(
            sql_values.existing_value_ids(self.period, [row[0] for row in self.rows])
        )
        written = self.env.execute_query(
            sql_values.upsert_values(self.period, arrays, fields.Datetime.now())
        )
        keys = {(row[0], row[1]) for row in self.rows}
        ids = {row[0] for row in written}
        ids.update(vid for pid, kpi_id, vid in existing if (pid, kpi_id) in keys)
        self.value_ids = sorted(ids)
        # always one statement, so that the query count does not depend on the data
        self.env.execute_query(sql_values.delete_values(self.period, self.stale))
        Value.invalidate_model()

    # ------------------------------------------------------------------
    # Scoring the accounts, in memory
    # ------------------------------------------------------------------
    def score(self):
        """The values of the period (rows gathered and manual values, whose
        band follows the template's) and of the previous period, and the
        accounts' weighted scores of both."""
        current = defaultdict(dict)
        for row in self.rows:
            current[row[0]][row[1]] = (row[2], row[6])
        # the manual KPIs by id (a handful), not through a join: right after
        # the upsert the planner's statistics do not know the period's new
        # rows and would nest-loop over the KPI table for each of them
        manual_kpis = self.kpis.browse(
            {kpi_id for band in self.bands.values() for kpi_id in band}
        ).filtered(lambda kpi: kpi.computation_mode == "manual")
        # sudo: the run writes the values of accounts its caller may compute
        manual = (
            self.env["key.account.kpi.value"]
            .sudo()
            .search_fetch(
                [
                    ("kpi_id", "in", manual_kpis.ids),
                    ("partner_id", "in", self.partner_ids),
                    ("company_id", "=", self.env.company.id),
                    ("date_from", "=", self.date_from),
                    ("date_to", "=", self.date_to),
                ],
                [
                    "partner_id",
                    "kpi_id",
                    "value",
                    "score",
                    "target",
                    "threshold",
                    "weight",
                ],
            )
        )
        for record in manual:
            pid, kpi_id = record.partner_id.id, record.kpi_id.id
            template_id = self.template_of.get(pid)
            band = template_id and self.bands[template_id].get(kpi_id)
            if band and (record.target, record.threshold, record.weight) != band:
                record.write(dict(zip(("target", "threshold", "weight"), band)))
            current[pid][kpi_id] = (record.value, record.score)
        self.current = current
        self._score_accounts()

    def _score_accounts(self):
        """``scores`` from ``current``; ``previous_values`` and ``previous``
        read from the previous period's stored values."""
        self.scores = self._account_scores(self.current)
        prev_from, prev_to = kpi_math.previous_period(self.date_from, self.date_to)
        self.previous_values = self._stored_scores(prev_from, prev_to)
        self.previous = self._account_scores(self.previous_values)

    def _stored_scores(self, date_from, date_to):
        """{partner id: {kpi id: (value, score)}} stored for a period by the
        company, one query."""
        rows = self.env.execute_query(
            sql_values.stored_scores(
                (self.env.company.id, date_from, date_to), self.partner_ids
            )
        )
        result = defaultdict(dict)
        for pid, kpi_id, value, score in rows:
            result[pid][kpi_id] = (value, score)
        return result

    def _account_scores(self, values):
        """{partner id: weighted score} over the template KPIs that have a value."""
        result = {}
        for pid, by_kpi in values.items():
            template_id = self.template_of.get(pid)
            if not template_id:
                continue
            band = self.bands[template_id]
            score = kpi_math.weighted_score(
                (score, band[kpi_id][2])
                for kpi_id, (_value, score) in by_kpi.items()
                if kpi_id in band
            )
            if score is not None:
                result[pid] = score
        return result

    def update_accounts(self):
        """Write score, grade and trend on the accounts when the period is
        closed and not older than what they show: ``changes``."""
        if self.date_to >= self.today:
            self.changes = {}
            return
        rows = []
        for pid, info in self.partners.items():
            if info["score_date"] and info["score_date"] > self.date_to:
                continue
            score = self.scores.get(pid)
            grade = (
                kpi_math.grade_for(score, self.grade_bands)
                if score is not None
                else None
            )
            rows.append(
                (
                    pid,
                    score,
                    grade or None,
                    kpi_math.trend(score, self.previous.get(pid)),
                    info["score"] or 0.0,
                    info["grade"] or None,
                )
            )
        if rows:
            self.env.execute_query(
                sql_values.update_partner_scores(
                    self.env.company.id, self.date_to, [row[:4] for row in rows]
                )
            )
            self.env["res.partner"].browse(
                [row[0] for row in rows]
            ).invalidate_recordset(PARTNER_SCORE_FIELDS)
        self.changes = {
            row[0]: {
                "old_score": row[4],
                "old_grade": row[5],
                "score": row[1],
                "grade": row[2],
            }
            for row in rows
        }

    # ------------------------------------------------------------------
    # Early warnings
    # ------------------------------------------------------------------
    def warn(self):
        """Early warnings of the period (``key.account.early.warning``)."""
        return self.env["key.account.early.warning"]._detect_and_notify(self)

    # ------------------------------------------------------------------
    # Score history: one row per account and period, same batch
    # ------------------------------------------------------------------
    def record_history(self, next_period=True):
        """Upsert the accounts' history rows of the period, drop those of
        accounts without a score; then (``next_period``) the next period,
        when already computed, compares with this one."""
        History = self.env["key.account.score.history"]
        History.flush_model()
        teams = self._manager_teams()
        rows = []
        for pid, info in self.partners.items():
            score = self.scores.get(pid)
            if score is None:
                continue
            before = self.previous.get(pid)
            rows.append(
                (
                    pid,
                    score,
                    kpi_math.grade_for(score, self.grade_bands) or None,
                    before,
                    before is not None,
                    kpi_math.trend(score, before),
                    info["tier_id"],
                    info["segment_id"],
                    info["manager_id"],
                    teams.get(info["manager_id"]),
                )
            )
        # each statement records the rows it changes in the score-history
        # summary; the period's deltas are folded at the end
        self.env.execute_query(
            sql_history.upsert_history(
                self.period,
                columns_of(rows, sql_history.HISTORY_COLUMNS),
                kpi_math.period_label(None, self.date_from, self.date_to),
                self.date_to >= self.today,
                fields.Datetime.now(),
                [row[0] for row in rows],
            )
        )
        gone = [pid for pid in self.partners if pid not in self.scores]
        if gone:
            self.env.execute_query(sql_history.delete_history(self.period, gone))
        History.invalidate_model()
        periods = [self.period]
        if next_period:
            periods.append(self._refresh_next_period_trend())
        self.env["key.account.score.summary"]._compact(periods)

    def _refresh_next_period_trend(self):
        """The period after this one compares with this one: when it is already
        computed (periods computed out of order, or this one recomputed), its
        previous score and trend, in the score history and on the accounts that
        show it, follow this period's new scores. Two statements; returns
        the next period."""
        next_period = (
            self.env.company.id,
            *kpi_math.next_period(self.date_from, self.date_to),
        )
        pids = list(self.partners)
        self.env["key.account.score.history"].flush_model()
        self.env.execute_query(
            sql_history.refresh_next_history(
                next_period, pids, [self.scores.get(pid) for pid in pids]
            )
        )
        self.env.execute_query(
            sql_history.refresh_next_partner_trend(next_period, pids)
        )
        self.env["key.account.score.history"].invalidate_model()
        self.env["res.partner"].browse(pids).invalidate_recordset(["key_account_trend"])
        return next_period

    def _manager_teams(self):
        """{user id: sales team id} of the accounts' managers (a few users):
        their main active team, as their appraisals record it (sales_team's
        ``sale_team_id`` still names an archived team)."""
        user_ids = {info["manager_id"] for info in self.partners.values()} - {None}
        users = self.env["res.users"].sudo().browse([uid for uid in user_ids if uid])
        return {
            user_id: team.id or None
            for user_id, team in users._key_account_main_teams().items()
        }
