import datetime

from odoo.tests import Form, tagged, users

from .common import ReviewCommon

OVERDUE = "key_account_performance.mail_activity_type_improvement_overdue"


@tagged("post_install", "-at_install")
class TestImprovementAction(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Action = cls.env["key.account.improvement.action"]
        cls.cycle0 = cls._cycle(cls.P0)
        cls.cycle0.action_generate_reviews()
        reviews = cls.env["key.account.review"].search(
            [("cycle_id", "=", cls.cycle0.id)]
        )
        cls.review0_a = reviews.filtered(lambda r: r.partner_id == cls.partner_a)
        cls.review0_b = reviews.filtered(lambda r: r.partner_id == cls.partner_b)

    def _action_from(self, review, kpi):
        line = self._line(review, kpi)
        result = line.action_create_improvement_action()
        self.assertEqual(result["res_model"], "key.account.improvement.action")
        return self.env["key.account.improvement.action"].browse(result["res_id"])

    # ------------------------------------------------------------------
    # Creation
    # ------------------------------------------------------------------
    @users("kap_rt_kam2")
    def test_one_click_from_a_line_below_threshold(self):
        line = self._line(self.review0_b.with_env(self.env), self.kpi_revenue)
        self.assertEqual(line.status, "alert", "B had no order in P0: revenue 0")
        action = self._action_from(self.review0_b.with_env(self.env), self.kpi_revenue)
        self.assertRecordValues(
            action,
            [
                {
                    "partner_id": self.partner_b.id,
                    "review_id": self.review0_b.id,
                    "review_line_id": line.id,
                    "kpi_id": self.kpi_revenue.id,
                    "user_id": self.kam2.id,
                    "baseline_value": 0.0,
                    "target_value": 1000.0,
                    "state": "todo",
                    "baseline_date_from": self.P0[0],
                    "baseline_date_to": self.P0[1],
                    "effect_date_from": self.P[0],
                    "effect_date_to": self.P[1],
                    "effect": "too_early",
                }
            ],
        )
        self.assertEqual(line.action_count, 1)
        self.assertEqual(self.review0_b.with_env(self.env).action_count, 1)

    def test_actions_from_a_frozen_review(self):
        review = self._fill_and_submit(self.review0_b.with_user(self.kam2))
        review.with_user(self.leader).action_approve()
        action = self._action_from(review.with_user(self.kam2), self.kpi_revenue)
        self.assertEqual(action.review_id, review)
        self.assertEqual(review.state, "approved")

    @users("kap_rt_kam")
    def test_by_hand(self):
        with Form(self.env["key.account.improvement.action"]) as form:
            form.name = "Quarterly business review with procurement"
            form.partner_id = self.partner_a
            form.kpi_id = self.kpi_orders
            form.date_deadline = self.today + datetime.timedelta(days=30)
            form.baseline_value = 2.0
            form.target_value = 4.0
        action = form.record
        self.assertEqual(action.user_id, self.kam)
        self.assertEqual(action.state, "todo")
        self.assertEqual(
            (action.baseline_date_from, action.baseline_date_to),
            self.P,
            "by hand, the baseline is the last closed period",
        )
        self.assertEqual(action.effect, "too_early")

    @users("kap_rt_kam")
    def test_state_changes(self):
        action = self.env["key.account.improvement.action"].create(
            {"name": "Fix invoicing errors", "partner_id": self.partner_a.id}
        )
        action.action_start()
        self.assertEqual(action.state, "in_progress")
        action.action_done()
        self.assertEqual(action.state, "done")
        self.assertEqual(action.date_done, self.today)
        action.action_reset()
        self.assertFalse(action.date_done)
        action.action_cancel()
        self.assertEqual(action.state, "cancelled")

    @users("kap_rt_kam", "kap_rt_leader", "kap_rt_admin")
    def test_views(self):
        views = self.env["key.account.improvement.action"].get_views(
            [
                (False, "kanban"),
                (False, "list"),
                (False, "calendar"),
                (False, "form"),
                (False, "search"),
            ]
        )
        kanban = views["views"]["kanban"]["arch"]
        self.assertIn('t-name="card"', kanban)
        self.assertIn("<main", kanban)
        self.assertIn("<footer", kanban)
        self.assertIn('date_start="date_deadline"', views["views"]["calendar"]["arch"])
        self.assertEqual(
            self.env["key.account.improvement.action"].fields_get(["state"])["state"][
                "selection"
            ],
            [
                ("todo", "To Do"),
                ("in_progress", "In Progress"),
                ("done", "Done"),
                ("cancelled", "Cancelled"),
            ],
        )

    # ------------------------------------------------------------------
    # Overdue reminder
    # ------------------------------------------------------------------
    def test_overdue_reminder(self):
        yesterday = self.today - datetime.timedelta(days=1)
        overdue = self.Action.create(
            {
                "name": "Overdue visit",
                "partner_id": self.partner_a.id,
                "user_id": self.kam.id,
                "date_deadline": yesterday,
            }
        )
        started = self.Action.create(
            {
                "name": "Overdue started",
                "partner_id": self.partner_a.id,
                "user_id": self.kam.id,
                "date_deadline": yesterday,
                "state": "in_progress",
            }
        )
        on_time = self.Action.create(
            {
                "name": "Future visit",
                "partner_id": self.partner_a.id,
                "user_id": self.kam.id,
                "date_deadline": self.today + datetime.timedelta(days=3),
            }
        )
        done = self.Action.create(
            {
                "name": "Done late",
                "partner_id": self.partner_a.id,
                "user_id": self.kam.id,
                "date_deadline": yesterday,
                "state": "done",
            }
        )
        self.assertTrue(overdue.is_overdue)
        self.assertIn(overdue, self.Action.search([("is_overdue", "=", True)]))
        self.assertNotIn(on_time, self.Action.search([("is_overdue", "=", True)]))
        self.assertIn(on_time, self.Action.search([("is_overdue", "=", False)]))

        self.Action._cron_remind_overdue()
        activity = self._activities(overdue, OVERDUE)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.kam)
        self.assertEqual(len(self._activities(started, OVERDUE)), 1)
        self.assertFalse(self._activities(on_time, OVERDUE))
        self.assertFalse(self._activities(done, OVERDUE))

        # no duplicate while one is open
        self.Action._cron_remind_overdue()
        self.assertEqual(self._activities(overdue, OVERDUE), activity)

        # done closes the reminder; the next run does not bring it back
        overdue.with_user(self.kam).action_done()
        self.assertFalse(self._activities(overdue, OVERDUE))
        self.Action._cron_remind_overdue()
        self.assertFalse(self._activities(overdue, OVERDUE))

        # once the reminder is handled, a still-overdue action is reminded again
        self._activities(started, OVERDUE).action_feedback(
            feedback="Postponed with the customer"
        )
        self.Action._cron_remind_overdue()
        self.assertEqual(len(self._activities(started, OVERDUE)), 1)

    # ------------------------------------------------------------------
    # Measured effect
    # ------------------------------------------------------------------
    def test_effect_measured_in_the_next_cycle(self):
        # in P0: B had no revenue (0), A had 1 order and 1200 of revenue
        grow_b = self._action_from(
            self.review0_b.with_user(self.kam2), self.kpi_revenue
        )
        more_orders_a = self._action_from(
            self.review0_a.with_user(self.kam), self.kpi_orders
        )
        revenue_a = self.Action.create(
            {
                "name": "Keep revenue",
                "partner_id": self.partner_a.id,
                "kpi_id": self.kpi_revenue.id,
                "review_id": self.review0_a.id,
                "baseline_value": 1200.0,
                "target_value": 1500.0,
            }
        )
        dropped = self._action_from(
            self.review0_b.with_user(self.kam2), self.kpi_orders
        )
        dropped.action_cancel()
        actions = grow_b | more_orders_a | revenue_a | dropped
        self.assertEqual(set(actions.mapped("effect")), {"too_early"})

        # the next cycle (P) computes P's values and measures the effect
        cycle = self._cycle(self.P)
        cycle.action_generate_reviews()
        self.assertRecordValues(
            grow_b,
            [
                {
                    "effect": "improved",
                    "effect_value": 100.0,
                    "effect_delta": 100.0,
                    "target_reached": False,
                }
            ],
        )
        self.assertRecordValues(
            more_orders_a,
            [{"effect": "improved", "baseline_value": 1.0, "effect_value": 2.0}],
        )
        self.assertRecordValues(
            revenue_a,
            [{"effect": "not_improved", "effect_value": 600.0, "effect_delta": -600.0}],
        )
        self.assertEqual(
            dropped.effect, "too_early", "cancelled actions are not measured"
        )

        # the new review shows the previous review's actions with their effect
        review = self._reviews(cycle)[self.partner_b]
        self.assertEqual(review.previous_review_id, self.review0_b)
        self.assertIn(grow_b, review.previous_action_ids)

        # actions decided in P wait for the running period N
        later = self._action_from(review.with_user(self.kam2), self.kpi_revenue)
        self.assertEqual((later.effect_date_from, later.effect_date_to), self.N)
        self.Action._cron_measure_effect()
        self.assertEqual(later.effect, "too_early")

    def test_effect_lower_is_better(self):
        kpi = self.env["key.account.kpi"].create(
            {
                "name": "Late deliveries (test)",
                "code": "t_rv_late",
                "computation_mode": "manual",
                "direction": "lower",
                "target": 1.0,
                "threshold": 10.0,
            }
        )
        self.env["key.account.kpi.value"].create(
            {
                "partner_id": self.partner_a.id,
                "kpi_id": kpi.id,
                "date_from": self.P[0],
                "date_to": self.P[1],
                "value": 3.0,
                "target": 1.0,
                "threshold": 10.0,
                "is_manual": True,
            }
        )
        action = self.Action.create(
            {
                "name": "Fewer late deliveries",
                "partner_id": self.partner_a.id,
                "kpi_id": kpi.id,
                "baseline_value": 6.0,
                "target_value": 2.0,
                "baseline_date_from": self.P0[0],
                "baseline_date_to": self.P0[1],
            }
        )
        self.assertRecordValues(
            action,
            [
                {
                    "effect": "improved",
                    "effect_value": 3.0,
                    "effect_delta": -3.0,
                    "target_reached": False,
                }
            ],
        )
        action.target_value = 3.0
        self.assertTrue(action.target_reached)
