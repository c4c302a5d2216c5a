"""Issue 27 (items 1, 6, 7, 9, 17) and issue 21 (item 6): the attacker is a
KAM or a manager acting through the ORM with their own rights."""

import datetime

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import ReviewCommon


@tagged("post_install", "-at_install")
class TestCloseHoles(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Action = cls.env["key.account.improvement.action"]
        cls.Value = cls.env["key.account.kpi.value"]
        # P0 and P computed: B's revenue of P is 100, A's 600
        cls.Value.compute_for_period(*cls.P0)
        cls.Value.compute_for_period(*cls.P)

    def _action_vals(self, partner, **extra):
        return dict(
            {
                "name": "Probe",
                "partner_id": partner.id,
                "kpi_id": self.kpi_revenue.id,
                "baseline_date_from": self.P0[0],
                "baseline_date_to": self.P0[1],
            },
            **extra,
        )

    # ------------------------------------------------------------------
    # 27.1: improvement actions are no oracle
    # ------------------------------------------------------------------
    def test_kam_cannot_create_action_on_another_account(self):
        Action = self.Action.with_user(self.kam)
        with self.assertRaises(AccessError):
            Action.create(self._action_vals(self.partner_b))
        # their own account: fine, measured (A's revenue of P)
        own = Action.create(self._action_vals(self.partner_a))
        self.assertEqual(own.effect_value, 600.0)
        # nor moved to another account afterwards
        with self.assertRaises(AccessError):
            own.write({"partner_id": self.partner_b.id})

    def test_manager_outside_team_cannot_create_action(self):
        # the leader's team holds kam and manager, not kam2
        with self.assertRaises(AccessError):
            self.Action.with_user(self.leader).create(
                self._action_vals(self.partner_b, user_id=self.leader.id)
            )
        action = self.Action.with_user(self.leader).create(
            self._action_vals(self.partner_a, user_id=self.kam.id)
        )
        self.assertEqual(action.effect_value, 600.0)

    def test_effect_measured_with_the_owner_rights(self):
        # the administrator gives kam an action on kam2's account: measuring
        # reads only what kam may read (nothing of B)
        action = self.Action.with_user(self.admin).create(
            self._action_vals(self.partner_b, user_id=self.kam.id)
        )
        self.assertEqual(action.effect, "too_early")
        self.assertEqual(action.effect_value, 0.0)
        action.user_id = self.kam2
        action.action_measure_effect()
        self.assertEqual(action.effect_value, 100.0, "kam2 may read B's revenue")

    def test_effect_measured_within_the_action_company(self):
        other = self.env["res.company"].create({"name": "Company B (holes)"})
        shared = self.env["res.partner"].create(
            {
                "name": "Shared account",
                "is_company": True,
                "company_id": False,
                "key_account_tier_id": self.tier.id,
                "key_account_manager_id": self.kam.id,
                "key_account_template_id": self.template.id,
            }
        )
        # company B's revenue of the shared partner in P
        self.Value.sudo().create(
            {
                "partner_id": shared.id,
                "kpi_id": self.kpi_revenue.id,
                "date_from": self.P[0],
                "date_to": self.P[1],
                "company_id": other.id,
                "value": 987654.0,
                "target": 1000.0,
                "threshold": 200.0,
            }
        )
        self.admin.company_ids = [Command.link(other.id)]
        action = self.Action.with_user(self.admin).create(
            self._action_vals(shared, user_id=self.admin.id)
        )
        self.assertEqual(action.company_id, self.company)
        self.assertEqual(action.effect, "too_early")
        self.assertEqual(action.effect_value, 0.0, "company B's figure stays in B")

    def test_owner_outside_the_account_still_carries_the_action_out(self):
        action = self.Action.with_user(self.admin).create(
            self._action_vals(self.partner_a, user_id=self.kam2.id)
        )
        mine = action.with_user(self.kam2)
        mine.action_start()
        mine.write({"description": "<p>Call procurement</p>"})
        self.assertEqual(action.state, "in_progress")
        with self.assertRaises(AccessError):
            mine.write({"kpi_id": self.kpi_orders.id})

    # ------------------------------------------------------------------
    # 27.6: the effect is the addon's
    # ------------------------------------------------------------------
    def test_effect_fields_are_not_writable(self):
        action = self.Action.with_user(self.kam).create(
            self._action_vals(self.partner_a)
        )
        for user in (self.kam, self.admin):
            for vals in (
                {"effect": "not_improved"},
                {"effect_value": 5000.0},
                {"effect_delta": 4400.0},
                {"target_reached": not action.target_reached},
                {"date_done": self.today},
                {"effect_date_from": self.P0[0]},
            ):
                with self.assertRaises(UserError, msg=str(vals)):
                    action.with_user(user).write(vals)
        with self.assertRaises(UserError):
            action.sudo().write({"effect_value": 1.0})
        with self.assertRaises(UserError):
            self.Action.with_user(self.kam).create(
                self._action_vals(self.partner_a, effect="improved", effect_value=9.0)
            )
        # the same value (a form saving it unchanged) and the buttons pass
        action.with_user(self.kam).write({"effect_value": action.effect_value})
        action.with_user(self.kam).action_done()
        self.assertEqual(action.date_done, self.today)
        self.assertEqual(action.effect_value, 600.0)

    # ------------------------------------------------------------------
    # 27.7: customer value by the KAM
    # ------------------------------------------------------------------
    def test_kam_customer_value_own_accounts_today_only(self):
        Partner = self.env["res.partner"].with_user(self.kam)
        with self.assertRaises(AccessError):
            Partner.compute_key_account_value(as_of=self.P[1])
        with self.assertRaises(AccessError):
            Partner.compute_key_account_value(horizon_days=30)
        Partner.compute_key_account_value()
        self.assertEqual(self.partner_a.sudo().key_account_value_date, self.today)
        self.assertFalse(
            self.partner_b.sudo().key_account_value_date,
            "kam2's account is not refreshed by kam",
        )
        # a manager: the whole company, any day
        self.env["res.partner"].with_user(self.leader).compute_key_account_value(
            as_of=self.P[1], horizon_days=30
        )
        self.assertEqual(self.partner_b.sudo().key_account_value_date, self.P[1])

    # ------------------------------------------------------------------
    # 27.9: other windows do not move the account's score
    # ------------------------------------------------------------------
    def test_other_windows_do_not_move_the_score(self):
        partner = self.partner_a.sudo()
        shown = (
            partner.key_account_score,
            partner.key_account_grade,
            partner.key_account_trend,
            partner.key_account_score_date,
        )
        self.assertEqual(shown[3], self.P[1])
        History = self.env["key.account.score.history"].sudo()
        before = History.search_count([("partner_id", "=", partner.id)])
        window = (self.P0[0], self.today - datetime.timedelta(days=1))
        ids = self.Value.with_user(self.kam).compute_for_period(
            *window, partner_ids=partner.ids
        )
        self.assertTrue(ids, "the window's values are computed and stored")
        partner.invalidate_recordset()
        self.assertEqual(
            (
                partner.key_account_score,
                partner.key_account_grade,
                partner.key_account_trend,
                partner.key_account_score_date,
            ),
            shown,
        )
        self.assertEqual(
            History.search_count([("partner_id", "=", partner.id)]), before
        )

    # ------------------------------------------------------------------
    # 27.17: a manager computes and drills down within their scope
    # ------------------------------------------------------------------
    def test_manager_computes_only_the_team_accounts(self):
        Value = self.Value.with_user(self.leader)
        with self.assertRaises(AccessError):
            Value.compute_for_period(*self.N, partner_ids=self.partner_b.ids)
        ids = Value.compute_for_period(*self.N)
        partners = self.Value.sudo().browse(ids).partner_id
        self.assertIn(self.partner_a, partners)
        self.assertNotIn(self.partner_b, partners)

    def test_drill_down_only_readable_records(self):
        orders = self.env["sale.order"].search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("date_order", ">=", self.P[0]),
                ("date_order", "<=", self.P[1]),
            ]
        )
        self.assertEqual(len(orders), 2)
        orders.write({"user_id": self.admin.id})
        orders[0].user_id = self.kam
        value = self.Value.with_user(self.kam).search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
                ("date_to", "=", self.P[1]),
            ]
        )
        action = value.action_open_records()
        self.assertEqual(action["domain"], [("id", "in", orders[0].ids)])

    # ------------------------------------------------------------------
    # 21.6: the header follows the review at submission
    # ------------------------------------------------------------------
    def test_submitted_review_updates_the_account_score(self):
        self._generate_cycle()
        partner = self.partner_a.sudo()
        before = partner.key_account_score
        review = self._fill_and_submit(self.review_a.with_user(self.kam), value=5.0)
        self.assertEqual(review.state, "submitted")
        partner.invalidate_recordset()
        points = sum(
            row["points"]
            for row in self.partner_a.with_user(self.kam).key_account_score_breakdown(
                *self.P
            )
        )
        self.assertNotAlmostEqual(partner.key_account_score, before, places=2)
        self.assertAlmostEqual(partner.key_account_score, points, places=1)
        self.assertAlmostEqual(partner.key_account_score, review.score, places=1)
        history = (
            self.env["key.account.score.history"]
            .sudo()
            .search(
                [
                    ("partner_id", "=", partner.id),
                    ("date_from", "=", self.P[0]),
                    ("date_to", "=", self.P[1]),
                ]
            )
        )
        self.assertAlmostEqual(history.score, partner.key_account_score, places=2)
