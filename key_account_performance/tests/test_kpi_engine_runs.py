"""The engine as a whole: score history, period bounds, shared scans,
scheduled runs (chunks, resume after an interrupted run) and simultaneous
computations of the same period from separate connections."""

import datetime
import functools
import threading
import time
from unittest.mock import patch

from odoo import Command, api
from odoo.exceptions import UserError
from odoo.service.model import MAX_TRIES_ON_CONCURRENCY_FAILURE as MAX_TRIES
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tests import tagged

from ..engine import scheduled as scheduled_module
from ..models.key_account_kpi_engine import KeyAccountKpiEngine
from ..tools import kpi_math
from .kpi_common import Q1, Q4, KpiCommon, KpiOrdersCommon

CRON_PARAM = "key_account_performance.kpi_cron_cursor.%s.%s.%s"


class SimulatedKill(BaseException):
    """Stands for a SIGKILL: nothing catches it, the chunk's work is lost."""


@tagged("post_install", "-at_install")
class TestKpiEngineRuns(KpiOrdersCommon):
    # ------------------------------------------------------------------
    # Score history
    # ------------------------------------------------------------------
    def test_score_history_written_with_the_values(self):
        History = self.env["key.account.score.history"]
        self.Value.compute_for_period(*Q4, partner_ids=[self.partner_a.id])
        self.Value.compute_for_period(
            *Q1, partner_ids=(self.partner_a | self.partner_b).ids
        )
        rows = History.search(
            [
                ("partner_id", "in", (self.partner_a | self.partner_b).ids),
                ("date_from", "=", Q1[0]),
                ("date_to", "=", Q1[1]),
            ]
        )
        self.assertEqual(len(rows), 2, "one row per account and period")
        row_a = rows.filtered(lambda r: r.partner_id == self.partner_a)
        # the closed period is the one the partner shows
        self.assertEqual(self.partner_a.key_account_score_date, Q1[1])
        self.assertAlmostEqual(row_a.score, self.partner_a.key_account_score)
        self.assertEqual(row_a.grade, self.partner_a.key_account_grade)
        self.assertAlmostEqual(row_a.trend, self.partner_a.key_account_trend)
        self.assertTrue(row_a.has_previous)
        previous = History.search(
            [("partner_id", "=", self.partner_a.id), ("date_from", "=", Q4[0])]
        )
        self.assertAlmostEqual(row_a.previous_score, previous.score)
        self.assertEqual(row_a.period_label, "2025 Q1")
        self.assertFalse(row_a.is_running)
        self.assertEqual(row_a.tier_id, self.tier)
        self.assertEqual(row_a.user_id, self.kam)
        # written by the engine: no user, a write date
        self.assertFalse(rows.create_uid | rows.write_uid)
        self.assertTrue(all(rows.mapped("write_date")))
        row_b = rows - row_a
        self.assertFalse(row_b.has_previous)
        # recomputing replaces, never duplicates
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        self.assertEqual(
            History.search_count(
                [("partner_id", "=", self.partner_a.id), ("date_from", "=", Q1[0])]
            ),
            1,
        )

    def test_score_history_of_the_running_period(self):
        today = datetime.date.today()
        running = kpi_math.period_bounds(today, "quarter")
        self._order(
            self.partner_a,
            500.0,
            datetime.datetime.combine(running[0], datetime.time(12)),
        )
        self.Value.compute_for_period(*running, partner_ids=[self.partner_a.id])
        row = self.env["key.account.score.history"].search(
            [("partner_id", "=", self.partner_a.id), ("date_from", "=", running[0])]
        )
        self.assertEqual(len(row), 1)
        self.assertTrue(row.is_running)
        values = self._values(self.partner_a, *running)
        bands = {line.kpi_id.code: line.weight for line in self.template.line_ids}
        expected = kpi_math.weighted_score(
            (v.score, bands[code]) for code, v in values.items() if code in bands
        )
        self.assertAlmostEqual(row.score, expected)

    # ------------------------------------------------------------------
    # Bad input
    # ------------------------------------------------------------------
    def test_period_out_of_range_is_a_clear_error(self):
        with self.assertRaises(UserError) as caught:
            self.Value.compute_for_period("0001-01-01", "9999-12-31")
        self.assertIn("out of range", str(caught.exception))
        self.assertIn("1900-01-01", str(caught.exception))

    # ------------------------------------------------------------------
    # Shared scans give the figures of one query per KPI
    # ------------------------------------------------------------------
    def test_shared_scan_matches_one_query_per_kpi(self):
        Engine = self.env["key.account.kpi.engine"]
        kpis = self.env["key.account.kpi"].browse(
            [
                self.kpi[c].id
                for c in (
                    "revenue",
                    "order_count",
                    "revenue_growth",
                    "retention",
                    "churn",
                    "repeat_purchase_rate",
                    "gross_margin",
                )
            ]
        )
        ids = (self.partner_a | self.partner_b).ids
        shared = {}
        Engine._prefetch_shared_scans(kpis, ids, *Q1, shared, self.company)
        self.assertIn(
            (self.kpi["revenue"].id, *Q4), shared, "previous period in the same scan"
        )
        for (kpi_id, date_from, date_to), values in shared.items():
            alone = (
                self.env["key.account.kpi"]
                .browse(kpi_id)
                ._engine_values(ids, date_from, date_to, {}, self.company)
            )
            self.assertEqual(set(values), set(alone))
            for pid, value in alone.items():
                self.assertAlmostEqual(values[pid], value)

    # ------------------------------------------------------------------
    # Scheduled runs
    # ------------------------------------------------------------------
    def _only_these_accounts(self, partners):
        """The scheduled run covers every key account: keep only ours."""
        self.env["res.partner"].search(
            [
                ("is_key_account", "=", True),
                ("id", "not in", partners.ids),
            ]
        ).write({"key_account_tier_id": False})

    def _cron_periods(self):
        today = self.env["key.account.kpi.engine"]._today(self.company)
        period_type = self.company.key_account_period_type or "quarter"
        return [
            kpi_math.last_closed_period(today, period_type),
            kpi_math.period_bounds(today, period_type),
        ]

    def _snapshot(self, periods, partners):
        values = self.Value.search(
            [
                ("date_from", "in", [p[0] for p in periods]),
                ("partner_id", "in", partners.ids),
            ]
        )
        keys = [(v.partner_id.id, v.kpi_id.id, v.date_from, v.date_to) for v in values]
        self.assertEqual(
            len(keys), len(set(keys)), "one value per account, KPI and period"
        )
        return {key: round(v.value, 6) for key, v in zip(keys, values)}

    def test_cron_resumes_after_an_interrupted_run(self):
        partners = self.partner_a | self.partner_b
        for index in range(5):
            partner = self._make_account("Cron %s" % index)
            self._order(partner, 100.0 * (index + 1), datetime.datetime.now())
            partners |= partner
        self._only_these_accounts(partners)
        periods = self._cron_periods()
        original = KeyAccountKpiEngine._cron_chunk
        chunks = []

        def chunk(self_, partner_ids, date_from, date_to, company, kill_at=None):
            chunks.append((date_from, list(partner_ids)))
            if len(chunks) == kill_at:
                raise SimulatedKill()
            return original(self_, partner_ids, date_from, date_to, company)

        # the first run is killed in its second chunk (no assertRaises: Odoo's
        # rolls its block back, and the first chunk must stay, as committed)
        killed = False
        with patch.object(
            KeyAccountKpiEngine,
            "_cron_chunk",
            functools.partialmethod(chunk, kill_at=2),
        ):
            try:
                self.Value._cron_compute_kpis(batch_size=2)
            except SimulatedKill:
                killed = True
        self.assertTrue(killed)
        first_from, first_ids = chunks[0]
        param = CRON_PARAM % (self.company.id, periods[0][0], periods[0][1])
        stored = self.env["ir.config_parameter"].search([("key", "=", param)]).value
        self.assertTrue(
            stored and stored.endswith(":%s" % first_ids[-1]),
            "the cursor is the last account of the committed chunk "
            "(%s, chunks %s)" % (stored, chunks),
        )
        done = self.Value.search([("date_from", "=", periods[0][0])]).partner_id
        self.assertTrue(set(first_ids) <= set(done.ids))
        self.assertFalse(
            set(chunks[1][1]) & set(done.ids), "the killed chunk left nothing"
        )

        # the next run starts after the cursor and finishes the job
        chunks.clear()
        with patch.object(
            KeyAccountKpiEngine, "_cron_chunk", functools.partialmethod(chunk)
        ):
            self.Value._cron_compute_kpis(batch_size=2)
        self.assertGreater(min(chunks[0][1]), first_ids[-1], "resumed, not restarted")
        self.assertFalse(
            self.env["ir.config_parameter"].search([("key", "=", param)]),
            "run finished",
        )
        resumed = self._snapshot(periods, partners)

        # a clean run gives the same values
        self.Value.search([("date_from", "in", [p[0] for p in periods])]).unlink()
        self.Value._cron_compute_kpis(batch_size=2)
        self.assertEqual(self._snapshot(periods, partners), resumed)

    def test_cron_skips_a_period_locked_by_another_computation(self):
        periods = self._cron_periods()
        Engine = self.env["key.account.kpi.engine"]
        self._only_these_accounts(self.partner_a | self.partner_b)
        # another transaction holds the lock of the closed period
        with self.registry.cursor() as other_cr:
            other = api.Environment(other_cr, self.env.uid, {})
            self.assertTrue(
                other["key.account.kpi.engine"]._try_lock(self.company, *periods[0])
            )
            with patch.object(scheduled_module._logger, "info") as info:
                self.Value._cron_compute_kpis(batch_size=2)
            other_cr.rollback()
        self.assertTrue(
            any("skipped" in call.args[0] for call in info.call_args_list),
            info.call_args_list,
        )
        mine = (self.partner_a | self.partner_b).ids
        self.assertFalse(
            self.Value.search_count(
                [("date_from", "=", periods[0][0]), ("partner_id", "in", mine)]
            ),
            "nothing written twice while the other computation runs",
        )
        self.assertTrue(
            self.Value.search_count(
                [("date_from", "=", periods[1][0]), ("partner_id", "in", mine)]
            ),
            "the other period went on",
        )
        self.assertTrue(Engine._try_lock(self.company, *periods[0]))

    def test_cron_reports_its_progress_to_ir_cron(self):
        """Run by ir.cron itself (method_direct_trigger gives the run its
        ir.cron.progress record), in chunks of 2 accounts: after each chunk
        the run's progress record holds the accounts done and remaining
        (ir.cron._notify_progress), and at the end everything is done."""
        partners = self.partner_a | self.partner_b
        for index in range(3):
            partners |= self._make_account("Progress %s" % index)
        self._only_these_accounts(partners)
        # no cursor of an earlier run of the day: the run starts from scratch
        self.env["ir.config_parameter"].search(
            [("key", "=like", CRON_PARAM.split("%")[0] + "%")]
        ).unlink()
        plan = self.env["key.account.kpi.engine"]._cron_plan()
        total = sum(len(ids) for *_period, ids in plan)
        self.assertGreaterEqual(total, 2 * len(partners), "two periods per company")
        cron = self.env.ref("key_account_performance.ir_cron_compute_kpis")
        cron.code = "model._cron_compute_kpis(batch_size=2)"
        Progress = self.env["ir.cron.progress"].sudo()
        before = Progress.search([("cron_id", "=", cron.id)])

        def recorded():
            """(done, remaining) of the run's progress record, as stored."""
            Progress.flush_model()
            self.env.cr.execute(
                "SELECT done, remaining FROM ir_cron_progress "
                "WHERE cron_id = %s AND id != ALL(%s) ORDER BY id",
                [cron.id, before.ids],
            )
            rows = self.env.cr.fetchall()
            self.assertEqual(len(rows), 1, "one progress record for the run")
            return rows[0]

        original = KeyAccountKpiEngine._cron_chunk
        seen = []  # per chunk: (accounts done before it, progress at its start)

        def chunk(self_, partner_ids, *args, **kwargs):
            done_before = sum(len(ids) for ids, _progress in seen)
            seen.append((list(partner_ids), (done_before, recorded())))
            return original(self_, partner_ids, *args, **kwargs)

        with patch.object(KeyAccountKpiEngine, "_cron_chunk", chunk):
            cron.method_direct_trigger()
        self.assertGreaterEqual(len(seen), 2, "the run took several chunks")
        self.assertEqual(seen[0][1][1], (0, 0), "nothing reported before the run")
        for _ids, (done_before, progress) in seen[1:]:
            self.assertEqual(
                progress,
                (done_before, total - done_before),
                "progress reported after each chunk (done, remaining)",
            )
        self.assertEqual(sum(len(ids) for ids, _progress in seen), total)
        self.assertEqual(recorded(), (total, 0), "the run reports itself done")


@tagged("post_install", "-at_install")
class TestKpiEngineConcurrency(KpiCommon):
    """Simultaneous computations of one period from separate connections
    (committed data, separate cursors in threads, each call wrapped the way
    Odoo's RPC layer wraps it)."""

    N_ACCOUNTS = 6

    def _setup_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.env.uid, {})
            kpis = env["key.account.kpi"].search(
                [("code", "in", ("revenue", "order_count")), ("company_id", "=", False)]
            )
            template = env["key.account.kpi.template"].create(
                {
                    "name": "Concurrency template",
                    "line_ids": [Command.create({"kpi_id": kpi.id}) for kpi in kpis],
                }
            )
            tier = env["key.account.tier"].create({"name": "Concurrency tier"})
            partners = env["res.partner"].create(
                [
                    {
                        "name": "Concurrent %s" % index,
                        "is_company": True,
                        "key_account_tier_id": tier.id,
                        "key_account_template_id": template.id,
                    }
                    for index in range(self.N_ACCOUNTS)
                ]
            )
            cr.commit()  # pylint: disable=invalid-commit
            return template.id, tier.id, partners.ids, kpis.ids

    def _cleanup(self, template_id, tier_id, partner_ids):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.env.uid, {})
            env["key.account.kpi.value"].search(
                [("partner_id", "in", partner_ids)]
            ).unlink()
            env["res.partner"].browse(partner_ids).unlink()
            env["key.account.tier"].browse(tier_id).unlink()
            env["key.account.kpi.template"].browse(template_id).unlink()
            cr.commit()  # pylint: disable=invalid-commit

    @staticmethod
    def _like_rpc(env, func):
        """What ``odoo.service.model.retrying`` does around an RPC call: retry
        a concurrency error (lock not available, serialization failure,
        deadlock) in a fresh transaction, up to 5 times. (``retrying`` itself
        reloads the registry, whose lock the test runner holds.)"""
        for attempt in range(1, MAX_TRIES + 1):
            try:
                result = func()
                env.flush_all()
                return result
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                if attempt == MAX_TRIES:
                    raise
                env.cr.rollback()
                env.invalidate_all(flush=False)
                time.sleep(0.05 * attempt)
        return None

    def _simultaneous(self, callers, partner_ids):
        barrier = threading.Barrier(callers)
        results, failures = [], []
        original = KeyAccountKpiEngine._run

        def slow_run(self_, *args, **kwargs):
            ids = original(self_, *args, **kwargs)
            time.sleep(0.3)  # hold the lock long enough for the others to meet it
            return ids

        def call():
            try:
                with self.registry.cursor() as cr:
                    # the test runner holds the registry lock: give the new
                    # cursor its transaction on the loaded registry directly
                    cr.transaction = api.Transaction(self.registry)
                    env = api.Environment(cr, self.env.uid, {})
                    Value = env["key.account.kpi.value"]
                    env.cr.execute(
                        "SELECT 1"
                    )  # the transaction (and its snapshot) has begun
                    barrier.wait(timeout=30)
                    ids = self._like_rpc(
                        env,
                        functools.partial(Value.compute_for_period, *Q1, partner_ids),
                    )
                    cr.commit()  # pylint: disable=invalid-commit
                    results.append(sorted(ids))
            except Exception as exc:  # noqa: BLE001 - reported by the test
                failures.append(repr(exc))

        with patch.object(KeyAccountKpiEngine, "_run", slow_run):
            threads = [threading.Thread(target=call) for _i in range(callers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        return results, failures

    def test_two_and_four_simultaneous_computations(self):
        template_id, tier_id, partner_ids, kpi_ids = self._setup_committed()
        try:
            for callers in (2, 4):
                results, failures = self._simultaneous(callers, partner_ids)
                self.assertFalse(failures, "no caller sees an error")
                self.assertEqual(len(results), callers)
                self.assertTrue(
                    all(ids == results[0] for ids in results),
                    "every caller gets the same values",
                )
                with self.registry.cursor() as cr:
                    cr.execute(
                        """
                        SELECT partner_id, kpi_id, COUNT(*) FROM key_account_kpi_value
                         WHERE partner_id = ANY(%s) AND date_from = %s AND date_to = %s
                      GROUP BY partner_id, kpi_id""",
                        [partner_ids, *Q1],
                    )
                    rows = cr.fetchall()
                self.assertEqual(
                    len(rows), len(partner_ids) * len(kpi_ids), "none lost"
                )
                self.assertTrue(all(count == 1 for _p, _k, count in rows), "none twice")
                self.assertEqual(len(results[0]), len(rows))
        finally:
            self._cleanup(template_id, tier_id, partner_ids)
