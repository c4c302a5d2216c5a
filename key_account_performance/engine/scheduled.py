"""Scheduled runs: the last closed and the running period of every company,
in chunks of accounts, each chunk committed, the run resumable and locked.

How to use (``key.account.kpi.engine._cron_run`` does it)::

    done, total = ScheduledRun(engine, batch_size, origin).run()

How it works:

- one scheduled run at a time (session-level advisory lock ``CRON_LOCK``,
  taken by the caller), one computation per company and period at a time
  (the period's session-level lock, kept across the chunks' commits);
- each chunk is computed by ``key.account.kpi.engine._cron_chunk`` (one
  ``KpiRun``, retried account by account when one account fails) and
  committed with the period's cursor (``PeriodCursor``: the last account
  done) and its line in the run log (``key.account.kpi.run``);
- a transaction-level error (serialization failure, deadlock, lock not
  available, lost connection) is never retried inside the broken
  transaction: the chunk is rolled back to the last commit and retried as a
  whole in a fresh transaction, up to ``MAX_TRIES`` times with a growing
  pause; then the run stops at its last commit and says why;
- a run cut short leaves its cursor: the next run of the day goes on after
  it and does not compute again the periods it had finished.
"""

import contextlib
import logging
import time

import psycopg2
from psycopg2 import errors

from odoo import fields, modules

_logger = logging.getLogger(__name__)

CURSOR_PARAM = "key_account_performance.kpi_cron_cursor.%s.%s.%s"
CURSOR_DONE = "done"
# one scheduled run at a time (a session-level advisory lock)
CRON_LOCK = "key_account_kpi_cron"
# transaction-level errors: the transaction is broken (serialization failure,
# deadlock, lock not available, lost connection), nothing can be retried in it
TRANSACTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
MAX_TRIES = 4
RETRY_PAUSE = 0.5  # seconds, times the attempt number


def commit(env):
    """Commit, except under tests (which run in one transaction)."""
    if not modules.module.current_test:
        env.cr.commit()  # pylint: disable=invalid-commit


@contextlib.contextmanager
def chunk_transaction(env):
    """Undo on a transaction-level error: back to the last commit (a fresh
    transaction), or, under tests (which do not commit), to a savepoint
    taken where the commit would be."""
    if modules.module.current_test:
        with env.cr.savepoint():
            yield
        return
    try:
        yield
    except TRANSACTION_ERRORS:
        try:
            env.cr.rollback()
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            _logger.info("KPI run: rollback failed (connection lost)")
        env.invalidate_all(flush=False)
        raise


def retrying(env, what, work):
    """Call ``work()`` in a transaction of its own, again in a fresh one
    after a transaction-level error, up to MAX_TRIES times with a growing
    pause. Returns (its result, None) or (None, the last error)."""
    error = None
    for attempt in range(1, MAX_TRIES + 1):
        try:
            with chunk_transaction(env):
                return work(), None
        except TRANSACTION_ERRORS as exc:
            error = "%s: %s" % (type(exc).__name__, str(exc).strip() or repr(exc))
            _logger.info("%s, attempt %s of %s: %s", what, attempt, MAX_TRIES, error)
            if attempt < MAX_TRIES:
                time.sleep(RETRY_PAUSE * attempt)
    return None, error


class PeriodCursor:
    """The last account done by an unfinished run of the day, for one
    company and period, kept in a system parameter (committed with each
    chunk). A period finished while the run's other periods are not is
    marked done: the run, resumed, does not compute it again. The marks go
    when the whole run is done."""

    def __init__(self, engine, company, date_from, date_to):
        self.engine = engine
        self.company = company
        self.key = CURSOR_PARAM % (company.id, date_from, date_to)
        self.Param = engine.env["ir.config_parameter"].sudo()

    def _day(self):
        return fields.Date.to_string(self.engine._today(self.company))

    def _stored(self):
        # read without the parameters' cache: another transaction may have moved it
        stored = self.Param.search([("key", "=", self.key)], limit=1).value or ""
        stored_day, _sep, last_id = stored.partition(":")
        return stored_day, last_id

    def last_id(self):
        """The last account done today, 0 when none."""
        stored_day, last_id = self._stored()
        return int(last_id) if stored_day == self._day() and last_id.isdigit() else 0

    def move(self, partner_id):
        self.Param.set_param(self.key, "%s:%s" % (self._day(), partner_id))

    def mark_done(self):
        self.Param.set_param(self.key, "%s:%s" % (self._day(), CURSOR_DONE))

    def clear(self):
        self.Param.search([("key", "=", self.key)]).unlink()

    def is_done(self):
        """Finished today by the run now resumed, and none of its inputs
        changed since (then it is computed again)."""
        stored_day, last_id = self._stored()
        if stored_day != self._day() or last_id != CURSOR_DONE:
            return False
        done_at = self.Param.search([("key", "=", self.key)], limit=1).write_date
        return not inputs_changed_since(self.engine.env, self.company, done_at)


def inputs_changed_since(env, company, moment):
    """Whether an input of the company's KPI values changed after
    ``moment``: a record of a model its KPIs read (orders, invoices,
    tickets, answers, ratings…), a KPI, a template or an account. One query
    per model, whatever the number of accounts."""
    if not moment:
        return True
    kpis = (
        env["key.account.kpi"]
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
        if name not in env or not env[name]._log_access:
            continue
        Model = env[name].sudo().with_context(active_test=False)
        if Model.search_count([("write_date", ">", moment)], limit=1):
            return True
    return False


class ScheduledRun:
    """One scheduled run over the plan of ``engine._cron_plan()``.

    State: ``plan`` [(company, date_from, date_to, partner ids)], fixed at
    the start; ``done`` the accounts done so far over the plan (grows chunk
    by chunk, and by whole periods finished earlier today); ``total`` the
    accounts of the plan.
    """

    def __init__(self, engine, batch_size, origin):
        self.engine = engine
        self.env = engine.env
        self.batch_size = batch_size
        self.origin = origin
        self.Run = self.env["key.account.kpi.run"].sudo()
        self.plan = engine._cron_plan()
        self.total = sum(len(ids) for *_period, ids in self.plan)
        self.done = 0

    def notify(self):
        self.env["ir.cron"]._notify_progress(
            done=self.done, remaining=max(self.total - self.done, 0)
        )

    def run(self):
        """The periods of the plan, one after the other; (done, total)."""
        finished_all = True
        for company, date_from, date_to, partner_ids in self.plan:
            label = "KPI run of %s for %s..%s" % (company.name, date_from, date_to)
            if PeriodCursor(self.engine, company, date_from, date_to).is_done():
                _logger.info("%s: already done by this run", label)
                self.done += len(partner_ids)
                continue
            lock = self.engine._lock_key(company, date_from, date_to)
            if not self.engine._try_session_lock(lock):
                _logger.info(
                    "%s skipped: another computation of this period is running; "
                    "the next run goes on from where this one stopped",
                    label,
                )
                finished_all = False
                continue
            try:
                finished = self.run_period(company, date_from, date_to, partner_ids)
            finally:
                self.engine._session_unlock(lock)
            if finished is None:  # stopped: the work left is for the next run
                self.notify()
                return self.done, self.total
            finished_all = finished_all and finished
        if finished_all:
            for company, date_from, date_to, _ids in self.plan:
                PeriodCursor(self.engine, company, date_from, date_to).clear()
            commit(self.env)
        return self.done, self.total

    def _open_log(self, company, date_from, date_to, partner_ids, start_after):
        """The run log line of the period: the one killed or stopped where
        the cursor says goes on; one that does not match the cursor (of
        another day) is closed as interrupted and a new one starts."""
        run = self.Run._resumable(company, date_from, date_to)
        if run and run.last_partner_id != start_after:
            run._finish(
                "failed",
                self.env._(
                    "Interrupted before it finished; a later run computed the "
                    "period again."
                ),
            )
            run = self.Run.browse()
        if not run:
            run = self.Run._start(
                company, date_from, date_to, self.origin, len(partner_ids)
            )
        run._write_state_running()
        commit(self.env)  # the run is seen in the log while it runs
        return run

    def run_period(self, company, date_from, date_to, partner_ids):
        """One company and period, chunk by chunk, under its lock. True when
        finished, None when the run must stop (a chunk failed at transaction
        level on every attempt)."""
        cursor = PeriodCursor(self.engine, company, date_from, date_to)
        start_after = cursor.last_id()
        todo = [pid for pid in partner_ids if pid > start_after]
        self.done += len(partner_ids) - len(todo)
        if start_after and todo:
            _logger.info(
                "KPI run of %s for %s..%s resumes after account %s (%s left)",
                company.name,
                date_from,
                date_to,
                start_after,
                len(todo),
            )
        run = self._open_log(company, date_from, date_to, partner_ids, start_after)
        outcome = {}
        # sudo: a scheduled run computes every key account of the company
        engine = self.engine.sudo().with_context(kap_kpi_outcome=outcome)
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            failures, error = retrying(
                self.env,
                "KPI chunk of accounts %s-%s (%s..%s)"
                % (chunk[0], chunk[-1], date_from, date_to),
                lambda chunk=chunk: self._chunk(
                    engine, chunk, (company, date_from, date_to)
                ),
            )
            if error is not None:
                run._finish("stopped", error)
                commit(self.env)
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
                return None
            run._progress(len(chunk), failures, chunk[-1])
            cursor.move(chunk[-1])
            self.done += len(chunk)
            self.notify()
            commit(self.env)
        run._log_kpi_errors(outcome.get("failed"))
        run._finish()
        cursor.mark_done()
        commit(self.env)
        if outcome.get("now"):
            self._record_kpi_runs(outcome)
        return True

    def _chunk(self, engine, chunk, period):
        """One chunk under the period's transaction lock: {partner id: error}
        of the accounts that failed."""
        company, date_from, date_to = period
        if not engine._try_lock(company, date_from, date_to):
            raise errors.LockNotAvailable(
                "the lock of %s..%s is taken" % (date_from, date_to)
            )
        return engine._cron_chunk(chunk, date_from, date_to, company) or {}

    def _record_kpi_runs(self, outcome):
        """The KPIs' last run / success / error, once per period, in a short
        transaction of its own."""
        ok, failed = sorted(outcome.get("ok", ())), dict(outcome.get("failed", {}))

        def record():
            self.engine._record_kpi_runs(ok, failed, outcome["now"])
            commit(self.env)

        _result, error = retrying(self.env, "KPI run: last run of the KPIs", record)
        if error is not None:
            _logger.warning("KPI run: last run of the KPIs not recorded: %s", error)
