"""Scheduled KPI computations people can trust (issue 21, items 1, 2, 3, 11):
a transaction-level failure never loses a chunk, every run leaves a trace in
the run log, overlapping runs are refused with a clear message, a resumed run
does not compute again what it had finished."""

import datetime
import functools
import threading
from unittest.mock import patch

from psycopg2 import errors

from odoo import api, fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..engine import scheduled as scheduled_module
from ..models.key_account_kpi_engine import KeyAccountKpiEngine
from ..tools import kpi_math
from . import test_kpi_engine_runs as runs_module
from .kpi_common import KpiCommon

Q1 = (datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
CRON_PARAM = "key_account_performance.kpi_cron_cursor.%s.%s.%s"


ENGINE_LOGGER = "odoo.addons.key_account_performance.models.key_account_kpi_engine"


class SimulatedKill(BaseException):
    """Stands for a SIGKILL: nothing catches it, the chunk's work is lost."""


@tagged("post_install", "-at_install")
class RunLogCommon(KpiCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accounts = cls.partner_a | cls.partner_b
        for index in range(4):
            partner = cls._make_account("Run log %s" % index)
            cls._order(partner, 100.0 * (index + 1), datetime.datetime.now())
            cls.accounts |= partner
        # the scheduled run covers every key account: keep only ours
        cls.env["res.partner"].search(
            [("is_key_account", "=", True), ("id", "not in", cls.accounts.ids)]
        ).write({"key_account_tier_id": False})
        cls.env["ir.config_parameter"].search(
            [("key", "=like", CRON_PARAM.split("%")[0] + "%")]
        ).unlink()
        cls.Run = cls.env["key.account.kpi.run"]

    def setUp(self):
        super().setUp()
        # no pause between the retries of a chunk in tests
        patcher = patch.object(scheduled_module, "RETRY_PAUSE", 0)
        patcher.start()
        self.addCleanup(patcher.stop)

    def _periods(self):
        today = self.env["key.account.kpi.engine"]._today(self.company)
        period_type = self.company.key_account_period_type or "quarter"
        return [
            kpi_math.last_closed_period(today, period_type),
            kpi_math.period_bounds(today, period_type),
        ]

    def _accounts_with_values(self, period):
        return set(
            self.Value.search(
                [
                    ("date_from", "=", period[0]),
                    ("date_to", "=", period[1]),
                    ("partner_id", "in", self.accounts.ids),
                ]
            ).partner_id.ids
        )

    def _runs(self):
        return self.Run.search(
            [("company_id", "=", self.company.id), ("origin", "in", ("cron", "manual"))]
        )


@tagged("post_install", "-at_install")
class TestKpiRunLog(RunLogCommon):
    # ------------------------------------------------------------------
    # 1. transaction-level failures never lose a chunk
    # ------------------------------------------------------------------
    def test_transaction_error_retries_the_chunk_not_each_account(self):
        """A serialization failure in a chunk: the chunk is computed again as
        a whole (in a fresh transaction), never account by account inside
        the broken one, and nothing is lost."""
        original = KeyAccountKpiEngine._run
        calls = []

        def flaky(self_, partner_ids, *args):
            calls.append(list(partner_ids))
            if len(calls) == 1:
                raise errors.SerializationFailure("could not serialize access")
            return original(self_, partner_ids, *args)

        with patch.object(KeyAccountKpiEngine, "_run", flaky):
            self.Value._cron_compute_kpis(batch_size=3)
        self.assertEqual(calls[1], calls[0], "the same chunk, again")
        self.assertTrue(
            all(len(ids) > 1 for ids in calls), "no account-by-account retry"
        )
        for period in self._periods():
            self.assertEqual(self._accounts_with_values(period), set(self.accounts.ids))
        self.assertEqual(set(self._runs().mapped("state")), {"done"})

    def test_persistent_transaction_error_stops_the_run_with_work_left(self):
        """A chunk that fails at transaction level on every attempt stops the
        run at its last commit: the cursor stays before the chunk, the run
        says it stopped and why, ir.cron is told work is left (it runs the
        action again at once); the next run finishes the job."""
        periods = self._periods()
        ids = sorted(self.accounts.ids)
        original = KeyAccountKpiEngine._run
        calls = []

        def broken(self_, partner_ids, *args):
            calls.append(list(partner_ids))
            if ids[2] in partner_ids:
                raise errors.DeadlockDetected("deadlock detected")
            return original(self_, partner_ids, *args)

        progress = []
        with (
            patch.object(KeyAccountKpiEngine, "_run", broken),
            patch.object(
                type(self.env["ir.cron"]),
                "_notify_progress",
                lambda self_, **kw: progress.append(kw),
            ),
        ):
            self.Value._cron_compute_kpis(batch_size=2)
        self.assertEqual(
            len([c for c in calls if ids[2] in c]),
            scheduled_module.MAX_TRIES,
            "the chunk was tried a bounded number of times, as a whole",
        )
        self.assertTrue(all(len(c) > 1 for c in calls), "no account-by-account retry")
        self.assertEqual(self._accounts_with_values(periods[0]), set(ids[:2]))
        self.assertFalse(self._accounts_with_values(periods[1]), "the run stopped")
        param = CRON_PARAM % (self.company.id, *periods[0])
        stored = self.env["ir.config_parameter"].search([("key", "=", param)]).value
        self.assertTrue(stored.endswith(":%s" % ids[1]), stored)
        run = self._runs()
        self.assertEqual(run.state, "stopped")
        self.assertIn("DeadlockDetected", run.error)
        self.assertEqual(run.accounts_done, 2)
        self.assertTrue(progress, calls)
        self.assertGreater(progress[-1]["remaining"], 0, "work left reported")

        # the next run goes on after the cursor and finishes
        calls.clear()

        def recorded(self_, partner_ids, *args):
            calls.append(list(partner_ids))
            return original(self_, partner_ids, *args)

        with patch.object(KeyAccountKpiEngine, "_run", recorded):
            self.Value._cron_compute_kpis(batch_size=2)
        self.assertGreater(min(calls[0]), ids[1], "resumed, not restarted")
        for period in periods:
            self.assertEqual(self._accounts_with_values(period), set(ids))
        self.assertEqual(run.state, "done", "the stopped run went on")
        self.assertEqual(run.accounts_done, len(ids))

    # ------------------------------------------------------------------
    # 2. every run leaves a trace
    # ------------------------------------------------------------------
    @mute_logger(ENGINE_LOGGER)  # the account's failure is logged at ERROR on purpose
    def test_failed_account_is_logged_and_shown_on_its_page(self):
        culprit = self.accounts[2]
        original = KeyAccountKpiEngine._run

        def failing(self_, partner_ids, *args):
            if culprit.id in partner_ids:
                raise ValueError("no exchange rate for XYZ")
            return original(self_, partner_ids, *args)

        with patch.object(KeyAccountKpiEngine, "_run", failing):
            self.Value.with_context(cron_id=1)._cron_compute_kpis(batch_size=4)
        runs = self._runs()
        self.assertEqual(len(runs), 2)
        for run in runs:
            self.assertEqual(run.state, "partial")
            self.assertEqual(run.origin, "cron")
            self.assertEqual(run.accounts_total, len(self.accounts))
            self.assertEqual(run.accounts_done, len(self.accounts))
            self.assertEqual(run.accounts_failed, 1)
            self.assertEqual(run.failure_ids.partner_id, culprit)
            self.assertIn("no exchange rate", run.failure_ids.error)
            self.assertTrue(run.date_start and run.date_end)
            self.assertEqual(run.user_id, self.env.user)
        self.assertIn("no exchange rate", culprit.key_account_compute_error)
        self.assertFalse(
            any((self.accounts - culprit).mapped("key_account_compute_error"))
        )
        # the account's page says so
        arch = self.env["res.partner"].get_view(view_type="form")["arch"]
        self.assertIn("key_account_compute_error", arch)

        # a later run that computes the account clears the warning
        self.env.invalidate_all()
        self.Value._cron_compute_kpis(batch_size=4)
        self.env.invalidate_all()
        self.assertFalse(culprit.key_account_compute_error)

    def test_computation_by_hand_is_logged(self):
        ids = self.Value.compute_for_period(*Q1, partner_ids=self.partner_a.ids)
        self.assertTrue(ids)
        run = self.Run.search(
            [("date_from", "=", Q1[0]), ("date_to", "=", Q1[1])], limit=1
        )
        self.assertEqual(run.origin, "rpc")
        self.assertEqual(run.state, "done")
        self.assertEqual(run.user_id, self.env.user)
        self.assertEqual(run.accounts_done, 1)
        self.assertEqual(run.partner_scope, self.partner_a.ids)

    def test_run_log_menu_for_administrators(self):
        menu = self.env.ref("key_account_performance.menu_key_account_kpi_run")
        self.assertEqual(
            menu.parent_id,
            self.env.ref("key_account_performance.menu_key_account_config"),
        )
        self.assertEqual(
            menu.action.res_model,
            "key.account.kpi.run",
            "the run log, under Configuration",
        )

    # ------------------------------------------------------------------
    # 3. one run at a time
    # ------------------------------------------------------------------
    def _other_run(self, key, **vals):
        """Another connection: a running run in the log (committed) and its
        session lock held. Returns the cursor; undone by the cleanup."""
        other_cr = self.registry.cursor()
        env = api.Environment(other_cr, self.env.uid, {})
        run = env["key.account.kpi.run"].create(
            {
                "company_id": self.company.id,
                "origin": "cron",
                "date_start": fields.Datetime.now(),
                "accounts_total": 10,
                "accounts_done": 4,
                **vals,
            }
        )
        other_cr.commit()  # pylint: disable=invalid-commit
        self.assertTrue(env["key.account.kpi.engine"]._try_session_lock(key))

        def cleanup():
            env["key.account.kpi.engine"]._session_unlock(key)
            run.unlink()
            other_cr.commit()  # pylint: disable=invalid-commit
            other_cr.close()

        self.addCleanup(cleanup)
        return other_cr

    def test_computation_of_a_period_in_progress_is_told_so(self):
        Engine = self.env["key.account.kpi.engine"]
        self._other_run(
            Engine._lock_key(self.company, *Q1), date_from=Q1[0], date_to=Q1[1]
        )
        with patch.object(KeyAccountKpiEngine, "_run") as run:
            with self.assertRaises(UserError) as caught:
                self.Value.compute_for_period(*Q1, partner_ids=self.partner_a.ids)
        self.assertFalse(run.called, "nothing computed")
        message = str(caught.exception)
        self.assertIn("being computed since", message)
        self.assertIn("4 of 10 accounts", message)

    def test_second_scheduled_run_is_refused_while_one_is_running(self):
        periods = self._periods()
        self._other_run(
            scheduled_module.CRON_LOCK, date_from=periods[0][0], date_to=periods[0][1]
        )
        with patch.object(KeyAccountKpiEngine, "_cron_chunk") as chunk:
            # by hand (ir.cron "Run Manually"): told a run is in progress
            with self.assertRaises(UserError) as caught:
                self.Value.with_context(ir_cron_progress_id=-1)._cron_compute_kpis(
                    batch_size=2
                )
            self.assertIn("being computed since", str(caught.exception))
            self.assertIn("4 of 10 accounts", str(caught.exception))
            # by the scheduler: no error, nothing done twice
            self.assertTrue(
                self.Value.with_context(cron_id=1)._cron_compute_kpis(batch_size=2)
            )
        self.assertFalse(chunk.called)

    # ------------------------------------------------------------------
    # 11. no wasted recomputation
    # ------------------------------------------------------------------
    def _kill_then_resume(self, meanwhile=None):
        """A scheduled run killed in the first chunk of the second period,
        ``meanwhile()``, then the run again: (periods, the (period start,
        account ids) of the chunks the resumed run computed)."""
        periods = self._periods()
        original = KeyAccountKpiEngine._cron_chunk
        chunks = []
        per_period = -(-len(self.accounts) // 2)

        def chunk(self_, partner_ids, date_from, date_to, company, kill_at=None):
            chunks.append((date_from, list(partner_ids)))
            if len(chunks) == kill_at:
                raise SimulatedKill()
            return original(self_, partner_ids, date_from, date_to, company)

        with patch.object(
            KeyAccountKpiEngine,
            "_cron_chunk",
            functools.partialmethod(chunk, kill_at=per_period + 1),
        ):
            killed = False
            try:
                self.Value._cron_compute_kpis(batch_size=2)
            except SimulatedKill:
                killed = True
        self.assertTrue(killed)
        self.assertEqual(chunks[-1][0], periods[1][0])
        chunks.clear()
        if meanwhile:
            meanwhile()
        with patch.object(
            KeyAccountKpiEngine, "_cron_chunk", functools.partialmethod(chunk)
        ):
            self.Value._cron_compute_kpis(batch_size=2)
        return periods, chunks

    def test_resumed_run_does_not_compute_finished_periods_again(self):
        periods, chunks = self._kill_then_resume()
        self.assertEqual(
            {start for start, _ids in chunks},
            {periods[1][0]},
            "the finished period is not computed again",
        )
        self.assertEqual(
            sorted(pid for _start, ids in chunks for pid in ids),
            sorted(self.accounts.ids),
        )
        for period in periods:
            self.assertEqual(self._accounts_with_values(period), set(self.accounts.ids))
        self.assertFalse(
            self.env["ir.config_parameter"].search(
                [("key", "=like", CRON_PARAM.split("%")[0] + "%")]
            ),
            "the finished run leaves no cursor",
        )
        # the killed period's run went on: one run per period
        self.assertEqual(len(self._runs()), 2)
        self.assertEqual(set(self._runs().mapped("state")), {"done"})

    def test_resumed_run_recomputes_a_finished_period_whose_inputs_changed(self):
        """An order written after the period was finished: the resumed run
        computes that period again (its values would be stale otherwise)."""

        def order_changed():
            # within one test transaction every write_date is the same: an
            # order changed after the first period was marked done, by hand
            self.env.flush_all()
            self.env.cr.execute(
                "UPDATE sale_order SET write_date = now() + interval '1 minute' "
                "WHERE id = (SELECT max(id) FROM sale_order)"
            )

        periods, chunks = self._kill_then_resume(order_changed)
        self.assertEqual(
            {start for start, _ids in chunks},
            {periods[0][0], periods[1][0]},
            "the period whose inputs changed is computed again",
        )

    def test_caller_that_waited_does_not_compute_again(self):
        """A call that waited for another computation of its period, which
        finished meanwhile (covering its accounts), gets the values without
        computing them again."""
        first = self.Value.compute_for_period(*Q1, partner_ids=self.accounts.ids)
        key = (
            self.env.cr.dbname,
            threading.get_ident(),
            self.company.id,
            *Q1,
            tuple(sorted(self.partner_a.ids)),
        )
        # the call waited since before the other computation finished
        self.env["key.account.kpi.run"]._waiting_since(key)
        self.Run.search([("date_from", "=", Q1[0])]).write(
            {"date_end": fields.Datetime.now() + datetime.timedelta(seconds=1)}
        )
        with patch.object(KeyAccountKpiEngine, "_run") as run:
            ids = self.Value.compute_for_period(*Q1, partner_ids=self.partner_a.ids)
        self.assertFalse(run.called, "not computed again")
        mine = self.Value.browse(first).filtered(
            lambda v: v.partner_id == self.partner_a
        )
        self.assertEqual(ids, sorted(mine.ids))
        # a call that did not wait computes
        with patch.object(KeyAccountKpiEngine, "_run", return_value=[]) as run:
            self.Value.compute_for_period(*Q1, partner_ids=self.partner_a.ids)
        self.assertTrue(run.called)


@tagged("post_install", "-at_install")
class TestKpiRunConflict(RunLogCommon):
    """Its own class, so its own transaction: the update committed by another
    connection makes every later write of the KPI rows in this transaction
    (whose snapshot predates it) a serialization failure."""

    @mute_logger("odoo.sql_db", ENGINE_LOGGER)  # the provoked conflict is logged
    def test_kpi_rows_committed_meanwhile_do_not_lose_a_chunk(self):
        """The reproduction of the issue: the run's transaction has its
        snapshot, another connection commits an update of the KPI rows (a
        manual computation recording its run), then the scheduled action
        runs: every account of every period gets its values, no failure."""
        kpi_ids = [kpi.id for kpi in self.kpi.values() if kpi]
        self.env.cr.execute("SELECT 1")  # the run's snapshot is taken
        with self.registry.cursor() as other_cr:
            other_cr.execute(
                "UPDATE key_account_kpi SET write_date = write_date WHERE id = ANY(%s)",
                [kpi_ids],
            )
            other_cr.commit()  # pylint: disable=invalid-commit
        self.Value._cron_compute_kpis(batch_size=2)
        for period in self._periods():
            self.assertEqual(
                self._accounts_with_values(period),
                set(self.accounts.ids),
                "no account of %s..%s lost" % period,
            )
        runs = self._runs()
        self.assertEqual(len(runs), 2, "one run per period")
        self.assertEqual(set(runs.mapped("state")), {"done"})
        self.assertEqual(runs.mapped("accounts_done"), [len(self.accounts)] * 2)
        self.assertFalse(runs.failure_ids)


@tagged("post_install", "-at_install")
class TestKpiRunWaiters(KpiCommon):
    """Simultaneous computations of one period from separate connections
    (committed data, threads, each call wrapped the way Odoo's RPC layer
    wraps it: the scaffolding of test_kpi_engine_runs)."""

    N_ACCOUNTS = 4
    _setup_committed = runs_module.TestKpiEngineConcurrency._setup_committed
    _cleanup = runs_module.TestKpiEngineConcurrency._cleanup
    _like_rpc = staticmethod(runs_module.TestKpiEngineConcurrency._like_rpc)
    _simultaneous = runs_module.TestKpiEngineConcurrency._simultaneous

    def test_four_callers_compute_the_period_once(self):
        """Four callers of the same period and accounts at once: one
        computes, the three that waited for it get its values without
        computing them again (no recomputation by the retries)."""
        template_id, tier_id, partner_ids, kpi_ids = self._setup_committed()
        computed = []
        original = KeyAccountKpiEngine._run

        def counted(self_, partner_ids, *args):
            computed.append(sorted(partner_ids))
            return original(self_, partner_ids, *args)

        try:
            with patch.object(KeyAccountKpiEngine, "_run", counted):
                results, failures = self._simultaneous(4, partner_ids)
            self.assertFalse(failures, "no caller sees an error")
            self.assertEqual(len(results), 4)
            self.assertTrue(all(ids == results[0] for ids in results))
            self.assertEqual(len(results[0]), len(partner_ids) * len(kpi_ids))
            self.assertEqual(len(computed), 1, "the period was computed once")
        finally:
            self._cleanup(template_id, tier_id, partner_ids)
