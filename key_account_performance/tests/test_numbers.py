"""Issue 21, "Numbers people can trust": manual values on the KPI's scale and
finite, one rounding rule on every surface, the records behind a value add
up to it, clean errors instead of tracebacks."""

import datetime

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tools import mute_logger

from ..engine.run import KpiRun
from ..tools import kpi_math
from .common import ReviewCommon


class TestNumbers(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()

    # ------------------------------------------------------------------
    # 5. manual values
    # ------------------------------------------------------------------
    def test_manual_value_outside_the_scale_is_refused(self):
        line = self._line(self.review_a.with_user(self.kam), self.kpi_manual)
        self.assertEqual(
            (self.kpi_manual.manual_min, self.kpi_manual.manual_max), (1.0, 5.0)
        )
        for bad in (-5, 1e308, float("nan"), float("inf"), float("-inf"), 5.5):
            with self.subTest(value=bad), self.assertRaises(ValidationError) as caught:
                line.write({"value": bad})
            message = str(caught.exception)
            if bad in (-5, 1e308, 5.5):
                self.assertIn(self.kpi_manual.name, message)
                self.assertIn("from 1 to 5", message)
        line.write({"value": 4.5})
        self.assertEqual(line.value, 4.5)

    def test_manual_value_as_nan_string_is_refused(self):
        line = self._line(self.review_a.with_user(self.kam), self.kpi_manual)
        for bad in ("nan", "Infinity", "abc"):
            with self.subTest(value=bad), self.assertRaises(ValidationError):
                line.write({"value": bad})

    def test_kpi_declares_its_own_scale(self):
        self.kpi_manual.write({"manual_min": 0.0, "manual_max": 10.0})
        line = self._line(self.review_a.with_user(self.kam), self.kpi_manual)
        line.write({"value": 8.0})
        with self.assertRaisesRegex(ValidationError, "from 0 to 10"):
            line.write({"value": 11.0})
        with self.assertRaises(ValidationError):
            self.kpi_manual.write({"manual_min": 10.0, "manual_max": 0.0})

    def test_percentage_manual_kpi_scale(self):
        share = self.env.ref("key_account_performance.kpi_share_of_wallet")
        self.assertEqual((share.manual_min, share.manual_max), (0.0, 100.0))
        rating = self.env.ref("key_account_performance.kpi_compliance")
        self.assertEqual((rating.manual_min, rating.manual_max), (1.0, 5.0))

    def test_imported_manual_value_is_checked(self):
        Value = self.env["key.account.kpi.value"]
        vals = {
            "partner_id": self.partner_a.id,
            "kpi_id": self.kpi_manual.id,
            "date_from": self.P[0],
            "date_to": self.P[1],
        }
        for bad in (float("nan"), -5.0, float("inf")):
            with self.subTest(value=bad), self.assertRaises(ValidationError):
                Value.create(dict(vals, value=bad))
        self.assertEqual(Value.create(dict(vals, value=3.0)).value, 3.0)

    @mute_logger("odoo.addons.key_account_performance.models.key_account_kpi_engine")
    def test_formula_giving_infinity_is_a_run_error(self):
        kpi = self.env["key.account.kpi"].create(
            {
                "name": "Huge",
                "code": "t_num_huge",
                "computation_mode": "formula",
                # 1.0 on save (finite); the revenue makes it overflow to inf
                "formula": "revenue * 1e306 * 1e306",
                "target": 10.0,
                "threshold": 0.0,
            }
        )
        self.template.write(
            {
                "line_ids": [
                    Command.create({"kpi_id": kpi.id, "target": 10.0, "threshold": 0.0})
                ]
            }
        )
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        values = self.env["key.account.kpi.value"].search(
            [("partner_id", "=", self.partner_a.id), ("date_from", "=", self.P[0])]
        )
        self.assertNotIn(kpi, values.kpi_id, "no value stored")
        self.assertIn(self.kpi_revenue, values.kpi_id, "the other KPIs are computed")
        self.assertIn("not a finite number", kpi.last_error or "")

    # ------------------------------------------------------------------
    # 7. one rounding rule
    # ------------------------------------------------------------------
    def test_one_rounding_rule_on_the_printed_surfaces(self):
        Review = self.env["key.account.review"]
        # Python's '%.0f' % 72.5 gives 72, the web client 73
        self.assertEqual(Review._format_score(72.5), "73")
        self.assertEqual(Review._format_score(73.5), "74")
        self.assertEqual(Review._format_number(72.125), "72.13")
        self.assertEqual(Review._format_number(1234.5), "1,235")
        # the notification texts
        Warning = self.env["key.account.early.warning"]
        run = KpiRun(
            self.env["key.account.kpi.engine"],
            self.company,
            *self.P,
            [self.partner_a.id],
        )
        run.changes = {
            self.partner_a.id: {
                "old_grade": "A",
                "grade": "C",
                "old_score": 90.25,
                "score": 60.45,
            }
        }
        texts = Warning._format(
            run, [(self.partner_a.id, self.kpi_revenue, 200.5, 300.0, 99.125)], None
        )[self.partner_a.id]
        joined = "\n".join(warning.text for warning in texts)
        self.assertIn("(201)", joined)
        self.assertIn("300 → 99.13", joined)
        self.assertIn("from 90.3 to 60.5", joined)

    def test_pdf_scorecard_rounds_half_up(self):
        arch = self.env.ref(
            "key_account_performance.report_key_account_review_document"
        ).arch
        self.assertNotIn("'%.0f'", arch)
        self.assertIn("_format_score", arch)

    # ------------------------------------------------------------------
    # 8. the records behind a value add up to it
    # ------------------------------------------------------------------
    def test_records_behind_a_sum_show_the_measured_column(self):
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        value = self.env["key.account.kpi.value"].search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        self.assertTrue(value.value)
        action = value.action_open_records()
        self.assertEqual(action["res_model"], "sale.order")
        view_id = action["views"][0][0]
        self.assertTrue(view_id, "a list view of its own, not the default one")
        arch = self.env["sale.order"].get_views([(view_id, "list")])["views"]["list"][
            "arch"
        ]
        self.assertIn('name="amount_untaxed"', arch)
        self.assertIn('sum="sum"', arch)
        self.assertNotIn('name="amount_total"', arch)
        orders = self.env["sale.order"].search(action["domain"])
        self.assertEqual(sum(orders.mapped("amount_untaxed")), value.value)
        self.assertGreaterEqual(action["limit"], len(orders))
        label = self.env["sale.order"]._fields["amount_untaxed"].string
        self.assertIn(label, action["name"])
        self.assertIn(kpi_math.period_label(None, *self.P), action["name"])

    # ------------------------------------------------------------------
    # 10. clean errors
    # ------------------------------------------------------------------
    def test_compute_for_period_arguments(self):
        Value = self.env["key.account.kpi.value"]
        with self.assertRaisesRegex(ValidationError, "needs date_from and date_to"):
            Value.compute_for_period()
        with self.assertRaisesRegex(ValidationError, "period_type"):
            Value.compute_for_period(*self.P, period_type="decade")
        with self.assertRaises(ValidationError):
            Value.compute_for_period("decade", "2026-01-01")

    def test_abc_into_a_number_field(self):
        with self.assertRaisesRegex(ValidationError, "Target") as caught:
            self.kpi_manual.write({"target": "abc"})
        self.assertIn("finite number", str(caught.exception))
        with self.assertRaisesRegex(ValidationError, "Weight"):
            self.kpi_manual.write({"weight": float("nan")})
        with self.assertRaises(ValidationError):
            self.kpi_manual.write({"sequence": 10**12})

    def test_nul_byte_in_a_text_field(self):
        with self.assertRaisesRegex(ValidationError, "NUL") as caught:
            self.kpi_manual.write({"description": "bad\x00text"})
        self.assertNotIn("UPDATE", str(caught.exception))
        line = self._line(self.review_a.with_user(self.kam), self.kpi_manual)
        with self.assertRaisesRegex(ValidationError, "NUL"):
            line.write({"comment": "a\x00b"})

    def test_unknown_selection_value(self):
        with self.assertRaisesRegex(ValidationError, "decade"):
            self.env["key.account.review.cycle"].create(
                {
                    "period_type": "decade",
                    "date_from": "2020-01-01",
                    "date_to": "2029-12-31",
                }
            )

    def test_review_cycle_in_1899(self):
        with self.assertRaisesRegex(ValidationError, "1900-01-01"):
            self.env["key.account.review.cycle"].create(
                {
                    "period_type": "year",
                    "date_from": datetime.date(1899, 1, 1),
                    "date_to": datetime.date(1899, 12, 31),
                }
            )

    def test_reject_reason_stored_as_its_label(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.leader).action_reject(reason=["Figures incomplete"])
        self.assertEqual(review.reject_reason, "Figures incomplete")
        self.assertEqual(review.state, "rejected")

    def test_reject_reason_must_be_text(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        with self.assertRaises(UserError):
            review.with_user(self.leader).action_reject(reason={"a": 1})
