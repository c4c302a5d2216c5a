from unittest.mock import patch

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.key_account_kpi_engine import KeyAccountKpiEngine
from .common import ReviewCommon


@tagged("post_install", "-at_install")
class TestLockedHistory(ReviewCommon):
    """Approved reviews keep their evidence; what they used is archived, not deleted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()
        cls.review = cls.review_a

    def _approve(self):
        review = self._fill_and_submit(self.review.with_user(self.kam))
        review.with_user(self.leader).action_approve()
        self.assertEqual(self.review.state, "approved")
        self.assertEqual(self.review.approved_by_id, self.leader)
        self.assertTrue(self.review.approved_date)
        return self.review

    def test_approved_review_and_lines_are_read_only(self):
        review = self._approve()
        for user in (self.kam, self.leader, self.admin):
            with self.assertRaises(UserError):  # AccessError is a UserError
                review.with_user(user).write({"comment": "<p>rewritten</p>"})
            with self.assertRaises(UserError):  # AccessError is a UserError
                review.line_ids[:1].with_user(user).write({"comment": "changed"})
            with self.assertRaises(UserError):  # AccessError is a UserError
                review.with_user(user).unlink()
            with self.assertRaises(UserError):  # AccessError is a UserError
                review.line_ids[:1].with_user(user).unlink()

    def test_kpi_and_template_used_by_approved_review_archive_not_delete(self):
        self._approve()
        with self.assertRaises(UserError):
            self.kpi_orders.unlink()
        with self.assertRaises(UserError):
            self.template.unlink()
        self.kpi_orders.active = False
        self.template.active = False
        self.assertFalse(self.kpi_orders.active)
        self.assertEqual(self.review.template_id, self.template)
        self.assertIn(self.kpi_orders, self.review.line_ids.kpi_id)

    def test_template_and_data_changes_never_alter_past_reviews(self):
        review = self._approve()
        frozen = [
            (
                line.kpi_id.id,
                line.value,
                line.target,
                line.threshold,
                line.weight,
                line.score,
            )
            for line in review.line_ids
        ]
        version = review.template_version
        score = review.score
        # the rules change, the data change, the period is recomputed
        self.template.line_ids.filtered(lambda ln: ln.kpi_id == self.kpi_revenue).write(
            {"target": 99999.0, "threshold": 1.0, "weight": 9.0}
        )
        self.assertGreater(self.template.version, version)
        self._order(self.partner_a, 5000.0, self._day(self.P, 20))
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=[self.partner_a.id]
        )
        self.cycle.action_generate_reviews()
        review.invalidate_recordset()
        self.assertEqual(review.template_version, version)
        self.assertEqual(review.score, score)
        self.assertEqual(
            [
                (
                    line.kpi_id.id,
                    line.value,
                    line.target,
                    line.threshold,
                    line.weight,
                    line.score,
                )
                for line in review.line_ids
            ],
            frozen,
        )

    def test_bad_input_is_refused_with_clear_errors(self):
        Cycle = self.env["key.account.review.cycle"]
        with self.assertRaises(ValidationError) as caught:
            Cycle.create(
                {
                    "period_type": "month",
                    "date_from": "2024-03-31",
                    "date_to": "2024-03-01",
                }
            )
        self.assertIn("before the start", str(caught.exception))
        Cycle.create(
            {"period_type": "month", "date_from": "2024-03-01", "date_to": "2024-03-31"}
        )
        with self.assertRaises(ValidationError) as caught:
            Cycle.create(
                {
                    "period_type": "month",
                    "date_from": "2024-03-15",
                    "date_to": "2024-04-14",
                }
            )
        self.assertIn("overlaps", str(caught.exception))
        # another type may cover the same days
        Cycle.create(
            {"period_type": "year", "date_from": "2024-01-01", "date_to": "2024-12-31"}
        )
        review = self._fill_and_submit(self.review.with_user(self.kam))
        with self.assertRaises(UserError):
            review.with_user(self.leader).action_reject()
        with self.assertRaises(UserError):
            review.with_user(self.leader).action_reject(reason="   ")
        with self.assertRaises(ValidationError):
            self.template.line_ids[:1].weight = -1

    def test_one_broken_account_never_aborts_the_scheduled_run(self):
        original = KeyAccountKpiEngine._run
        broken = self.partner_b

        def compute(self_, partner_ids, date_from, date_to, company):
            if broken.id in partner_ids:
                raise ValueError("simulated failure of one account")
            return original(self_, partner_ids, date_from, date_to, company)

        with (
            patch.object(KeyAccountKpiEngine, "_run", compute),
            mute_logger(
                "odoo.addons.key_account_performance.models.key_account_kpi_engine"
            ),
        ):
            self.env["key.account.kpi.value"].with_company(
                self.company
            )._cron_compute_kpis()
        # the running period had never been computed before this run
        values = self.env["key.account.kpi.value"].search(
            [("date_from", "=", self.N[0]), ("date_to", "=", self.N[1])]
        )
        self.assertIn(self.partner_a, values.partner_id)
        self.assertNotIn(broken, values.partner_id)

    def test_partner_smart_buttons_open_the_account_reviews_and_actions(self):
        partner = self.partner_a.with_user(self.kam)
        self.env["key.account.improvement.action"].create(
            {
                "name": "Quarterly business review",
                "partner_id": self.partner_a.id,
                "user_id": self.kam.id,
            }
        )
        self.assertEqual(partner.key_account_review_count, 1)
        self.assertEqual(partner.key_account_action_count, 1)
        action = partner.action_view_key_account_reviews()
        self.assertEqual(
            self.env[action["res_model"]].search(action["domain"]), self.review
        )
        action = partner.action_view_key_account_actions()
        self.assertEqual(action["res_model"], "key.account.improvement.action")
