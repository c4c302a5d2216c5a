"""The KPI engine's Odoo entry point: the scheduled action, OCA queue_job
jobs, the value model's ``compute_for_period`` (RPC, button) and the review's
rescoring call this AbstractModel; it builds the run objects and holds the
locks.

- ``engine/run.py``: ``KpiRun``, one computation (definitions -> gathering ->
  scoring -> writing -> history -> warnings) for some accounts of one
  company and one period;
- ``engine/gathering.py``: the source data of the KPIs (one scan per source);
- ``engine/scheduled.py``: ``ScheduledRun``, the scheduled run in chunks,
  each retried whole in a fresh transaction, resumable, logged in
  ``key.account.kpi.run``;
- ``sql/``: the statements; ``tools/kpi_math.py``: the arithmetic.

Why an abstract model: the entry points need an environment (cursor, user,
company, translations), other addons may extend a step (``_inherit`` and
``super()``), and an abstract model has no table.
"""

import logging

from psycopg2 import errorcodes, errors

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine.gathering import Gathering
from ..engine.run import KpiRun
from ..engine.scheduled import CRON_LOCK, TRANSACTION_ERRORS, ScheduledRun
from ..sql import locks as sql_locks
from ..sql import values as sql_values
from ..tools import kpi_math

_logger = logging.getLogger(__name__)


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
    # Computations
    # ------------------------------------------------------------------
    @api.model
    def _run(self, partner_ids, date_from, date_to, company):
        """Compute, store and score one period for these commercial partners
        (``KpiRun.compute``). The caller holds the company/period lock.
        Returns the ids of the values computed (created, updated or unchanged)."""
        return KpiRun(self, company, date_from, date_to, partner_ids).compute()

    @api.model
    def _rescore(self, partner_ids, date_from, date_to, company):
        """Score these accounts again for one period from the values stored
        (``KpiRun.rescore``), in the same transaction."""
        KpiRun(self, company, date_from, date_to, partner_ids).rescore()

    @api.model
    def _today(self, company):
        """The company's today (``kpi_math.company_today``)."""
        return kpi_math.company_today(company)

    @api.model
    def _prefetch_shared_scans(
        self, kpis, partner_ids, date_from, date_to, memo, company
    ):
        """Fill ``memo`` with the shared scans of these KPIs for a period
        (``Gathering.prefetch``)."""
        Gathering(self.env, company, partner_ids, memo).prefetch(
            kpis, date_from, date_to
        )

    @api.model
    def _log_kpi_failure(self, kpi, exc):
        _logger.warning("KPI %s failed: %s", kpi.code, exc)

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
        self.env.execute_query(sql_values.record_kpi_success(ok, now))
        if failed:
            self.env.execute_query(sql_values.record_kpi_errors(failed, now))
        Kpi.browse(list(ok) + list(failed)).invalidate_recordset(
            ["last_run", "last_success", "last_error"]
        )

    # ------------------------------------------------------------------
    # Locks
    # ------------------------------------------------------------------
    @api.model
    def _lock_key(self, company, date_from, date_to):
        return "key_account_kpi:%s:%s:%s" % (company.id, date_from, date_to)

    @api.model
    def _try_lock(self, company, date_from, date_to):
        """Take the transaction-level advisory lock of a company and period.

        True when taken at once; False when another transaction holds it.
        """
        key = self._lock_key(company, date_from, date_to)
        return self.env.execute_query(sql_locks.try_xact_lock(key))[0][0]

    @api.model
    def _wait_lock(self, company, date_from, date_to):
        key = self._lock_key(company, date_from, date_to)
        self.env.execute_query(sql_locks.wait_xact_lock(key))

    @api.model
    def _try_session_lock(self, key):
        """A session-level advisory lock: kept across the commits of a run
        (a chunk's commit does not let another run in), released by
        ``_session_unlock`` or when the connection ends (a killed run)."""
        return self.env.execute_query(sql_locks.try_session_lock(key))[0][0]

    @api.model
    def _session_unlock(self, key):
        try:
            self.env.execute_query(sql_locks.session_unlock(key))
        except TRANSACTION_ERRORS:
            _logger.info("KPI run: lock %s not released (connection lost)", key)

    # ------------------------------------------------------------------
    # Scheduled runs (engine/scheduled.py)
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
    def _cron_run(self, batch_size=1000):
        """The scheduled computation, in chunks of ``batch_size`` accounts
        (``ScheduledRun``; with OCA queue_job, one job per chunk).

        One scheduled run at a time: a second one (the scheduled action run
        by hand meanwhile) is told that a run is in progress, since when
        and how far."""
        if self._queue_job_installed():
            return self._cron_enqueue(batch_size)
        Run = self.env["key.account.kpi.run"].sudo()
        origin = Run._origin_of_context()
        if not self._try_session_lock(CRON_LOCK):
            message = Run._describe_running(None, None, None) or self.env._(
                "A computation of the KPIs is in progress."
            )
            if origin == "manual":
                raise UserError(message)
            _logger.info("Scheduled KPI computation not started: %s", message)
            return True
        try:
            done, total = ScheduledRun(self, batch_size, origin).run()
        finally:
            self._session_unlock(CRON_LOCK)
        self.env["ir.cron"]._notify_progress(done=done, remaining=max(total - done, 0))
        return True

    @api.model
    def _cron_chunk(self, partner_ids, date_from, date_to, company):
        """Compute one chunk; an error of one account is isolated (the chunk
        is retried account by account) and returned: {partner id: error}.
        A transaction-level error is raised at once, never retried in the
        broken transaction (``ScheduledRun`` retries the chunk in a fresh one)."""
        failures = {}
        try:
            with self.env.cr.savepoint():
                self._run(partner_ids, date_from, date_to, company)
        except TRANSACTION_ERRORS:
            raise
        except Exception:  # noqa: BLE001 - one chunk never stops the run
            # isolate the culprit: retry the chunk one account at a time
            for partner in self.env["res.partner"].sudo().browse(partner_ids):
                try:
                    with self.env.cr.savepoint():
                        self._run(partner.ids, date_from, date_to, company)
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
        outcome = {}
        failures = (
            self.sudo()
            .with_company(company)
            .with_context(kap_kpi_outcome=outcome)
            ._cron_chunk(partner_ids, date_from, date_to, company)
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
