"""The drill-down from a KPI value to its records works for a KAM and a
decider outside the team, within their own rights."""

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .edge_common import EdgeCaseCommon


@tagged("post_install", "-at_install")
class TestDrillDownAccess(EdgeCaseCommon):
    # ------------------------------------------------------------------
    # the drill-down works for a KAM, within their own rights
    # ------------------------------------------------------------------
    def test_drill_down_for_kam(self):
        Value = self.env["key.account.kpi.value"]
        Value.compute_for_period(
            *self.P, partner_ids=(self.partner_a | self.partner_b).ids
        )
        value = Value.search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        orders = self.env["sale.order"].search(
            [("partner_id", "=", self.partner_a.id), ("date_order", ">=", self.P[0])]
        )
        self.assertEqual(len(orders), 2)
        orders[0].user_id = self.kam
        orders[1].user_id = self.leader
        action = value.with_user(self.kam).action_open_records()
        self.assertEqual(action["res_model"], "sale.order")
        # the records open with the KAM's own rights: their own order only
        seen = self.env["sale.order"].with_user(self.kam).search(action["domain"])
        self.assertEqual(seen, orders[0].with_user(self.kam))
        # the review line's magnifier
        review = self.review_a.with_user(self.kam)
        action_line = self._line(review, self.kpi_revenue).action_view_kpi_value()
        self.assertEqual(action_line["res_model"], "sale.order")
        # not the values of another KAM's account
        other = Value.search(
            [
                ("partner_id", "=", self.partner_b.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        with self.assertRaises(AccessError):
            other.with_user(self.kam).action_open_records()

    def test_drill_down_for_decider_outside_the_team(self):
        """A manager of no team decides a review: they read its lines, and the
        magnifier opens the records behind them (the value itself lies under
        the team's rules)."""
        self.env["key.account.kpi.value"].compute_for_period(
            *self.P, partner_ids=self.partner_a.ids
        )
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.outsider).action_approve()
        line = self._line(review.with_user(self.outsider), self.kpi_revenue)
        with self.assertRaises(AccessError):
            line.kpi_value_id.with_user(self.outsider).read(["value"])
        # the records open with the reader's rights: their own orders only
        action = line.action_view_kpi_value()
        self.assertEqual(action["res_model"], "sale.order")
        self.assertEqual(action["domain"], [("id", "in", [])])
        # a reader of every order sees both
        self.outsider.groups_id = [
            Command.link(self.env.ref("sales_team.group_sale_salesman_all_leads").id)
        ]
        action = line.action_view_kpi_value()
        self.assertEqual(len(self.env["sale.order"].search(action["domain"])), 2)
        # not a line of a review they cannot read
        with self.assertRaises(AccessError):
            self._line(self.review_b, self.kpi_revenue).with_user(
                self.outsider
            ).action_view_kpi_value()
