"""KPI formulas are bounded in time and memory, and their errors and logs
stay short."""

import multiprocessing
import time

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from ..tools.formula import formula_compile, formula_evaluate
from .edge_common import EdgeCaseCommon


def _evaluate_in_child(code, context):
    """In a forked child: evaluate, exit 0 on overflow (the expected end)."""
    try:
        formula_evaluate(code, context)
    except OverflowError:
        return
    raise SystemExit(3)  # a result where an overflow was expected


@tagged("post_install", "-at_install")
class TestFormulaLimits(EdgeCaseCommon):
    # ------------------------------------------------------------------
    # formulas are bounded in time and memory; logs stay short
    # ------------------------------------------------------------------
    def _formula_kpi(self, formula, code="t_df_formula"):
        return self.env["key.account.kpi"].create(
            {
                "name": "Formula %s" % code,
                "code": code,
                "computation_mode": "formula",
                "formula": formula,
                "target": 100.0,
                "threshold": 0.0,
            }
        )

    def test_formula_power_tower_refused_at_once(self):
        start = time.monotonic()
        with self.assertRaisesRegex(ValidationError, "overflows"):
            self._formula_kpi("9**9**9**9", code="t_df_tower")
        with self.assertRaisesRegex(ValidationError, "overflows"):
            self._formula_kpi("revenue ** 10 ** 400", code="t_df_tower2")
        self.assertLess(time.monotonic() - start, 5.0)

    def test_formula_boolean_tower_bounded(self):
        # booleans are integers: (x == x) + (x == x) + … builds 9 without a
        # number, and 9**9**9**9 from it; floats at every step keep it bounded.
        # Evaluated in a forked child: on the old tree it never returns.
        nine = "(%s)" % "+".join(["(revenue == revenue)"] * 9)
        tower = "**".join([nine] * 4)
        self.assertLess(len(tower), 2000)
        code = formula_compile(tower)
        ctx = multiprocessing.get_context("fork")
        child = ctx.Process(
            target=_evaluate_in_child, args=(code, {"revenue": 1.0}), daemon=True
        )
        child.start()
        child.join(20)
        alive = child.is_alive()
        if alive:
            child.kill()
            child.join()
        self.assertFalse(alive, "the boolean power tower did not finish in 20 s")
        self.assertEqual(child.exitcode, 0, "overflow is raised, nothing else")
        self.assertIsInstance(
            formula_evaluate(
                formula_compile("(revenue > 1) + (not revenue)"), {"revenue": 2}
            ),
            float,
        )
        start = time.monotonic()
        with self.assertRaisesRegex(ValidationError, "overflows"):
            self._formula_kpi(tower, code="t_df_bool_tower")
        self.assertLess(time.monotonic() - start, 5.0)

    def test_formula_bounded_at_computation(self):
        # valid on save (every input is 1 there) but an integer power of
        # billions of digits at computation on the old tree
        kpi = self._formula_kpi("round(revenue) ** (9 ** 9)")
        self.template.write(
            {
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": kpi.id,
                            "weight": 1.0,
                            "target": 100.0,
                            "threshold": 0.0,
                        }
                    )
                ]
            }
        )
        start = time.monotonic()
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        self.assertLess(time.monotonic() - start, 10.0)
        values = self.env["key.account.kpi.value"].search(
            [("partner_id", "=", self.partner_a.id), ("date_from", "=", self.P[0])]
        )
        self.assertIn(self.kpi_revenue, values.kpi_id, "the other KPIs are computed")
        self.assertNotIn(kpi, values.kpi_id, "an overflow is no value")

    def test_formula_floats_keep_results(self):
        kpi = self._formula_kpi(
            "round(revenue / 7, 2) + max(order_count, 1) ** 2 + period_days * 0"
        )
        self.template.write(
            {
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": kpi.id,
                            "weight": 1.0,
                            "target": 100.0,
                            "threshold": 0.0,
                        }
                    )
                ]
            }
        )
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        value = self.env["key.account.kpi.value"].search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", kpi.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        self.assertAlmostEqual(value.value, round(600 / 7, 2) + 4)

    def test_huge_formula_message_and_log_are_short(self):
        huge = "1+" * (2 * 1024 * 1024) + "1"
        with self.assertRaises(ValidationError) as caught:
            self._formula_kpi(huge)
        self.assertLess(len(str(caught.exception)), 500)
        self.assertIn("too long", str(caught.exception))
        # stored anyway (e.g. by SQL): the computation refuses it, briefly
        kpi = self._formula_kpi("revenue * 2")
        self.template.write(
            {
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": kpi.id,
                            "weight": 1.0,
                            "target": 100.0,
                            "threshold": 0.0,
                        }
                    )
                ]
            }
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL("UPDATE key_account_kpi SET formula = %s WHERE id = %s", huge, kpi.id)
        )
        kpi.invalidate_recordset(["formula"])
        with self.assertLogs(
            "odoo.addons.key_account_performance", level="WARNING"
        ) as logs:
            self.env["key.account.kpi.value"].compute_for_period(
                *self.P, partner_ids=self.partner_a.ids
            )
        self.assertTrue(logs.output)
        self.assertLess(max(len(line) for line in logs.output), 1000)
        self.assertLess(len(kpi.last_error), 500)
