"""Fair ranking (issue 26, item 6): rank and percentile among the same role
(and sales team when the company says so), the number of top performers a
setting, and a note of each portfolio's tier and segment mix."""

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .appraisal_common import AppraisalCommon


@tagged("post_install", "-at_install")
class TestAppraisalRanking(AppraisalCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # technical support is scored on the order count in this company
        cls.env["key.account.role.kpi"].create(
            {
                "role": "technical",
                "kpi_id": cls.kpi_orders.id,
                "company_id": cls.company.id,
            }
        )
        cls.segment = cls.env["key.account.segment"].create(
            {"name": "Ranking test segment"}
        )
        # three people in sales with decreasing revenue, one in technical support
        cls.s1 = cls._person("kap_rk_s1", 1200.0)
        cls.s2 = cls._person("kap_rk_s2", 900.0)
        cls.s3 = cls._person("kap_rk_s3", 700.0)
        cls.tech = cls._person("kap_rk_tech", 300.0, role="technical")
        cls.people = cls.s1 | cls.s2 | cls.s3 | cls.tech
        cls.team_x = cls.env["crm.team"].create(
            {"name": "Ranking team X", "member_ids": [Command.set(cls.s1.ids)]}
        )
        cls.team_y = cls.env["crm.team"].create(
            {
                "name": "Ranking team Y",
                "member_ids": [Command.set((cls.s2 | cls.s3 | cls.tech).ids)],
            }
        )
        partners = cls.env["res.partner"].search(
            [("key_account_manager_id", "in", cls.people.ids)]
        )
        cls.env["key.account.kpi.value"].compute_for_period(*cls.P, partners.ids)

    @classmethod
    def _person(cls, login, amount, role=None):
        user = cls.env["res.users"].create(
            {
                "name": login,
                "login": login,
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [
                    Command.link(
                        cls.env.ref("key_account_performance.group_key_account_user").id
                    )
                ],
            }
        )
        partner = cls._make_account("Ranking %s" % login, user)
        partner.key_account_segment_id = cls.segment
        cls._order(partner, amount, cls._day(cls.P, 5))
        if role:
            partner.write(
                {
                    "key_account_member_ids": [
                        Command.create({"user_id": user.id, "role": role, "share": 1.0})
                    ]
                }
            )
        return user

    def _compute(self):
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, self.people.ids)
        return {user: self._appraisal(user) for user in self.people}

    def test_rank_within_role(self):
        a = self._compute()
        self.assertGreater(a[self.s1].score, a[self.s2].score)
        self.assertGreater(a[self.s2].score, a[self.s3].score)
        self.assertEqual(
            [a[u].role for u in (self.s1, self.s2, self.s3, self.tech)],
            ["sales", "sales", "sales", "technical"],
        )
        self.assertEqual([a[u].rank for u in (self.s1, self.s2, self.s3)], [1, 2, 3])
        self.assertEqual({a[u].rank_size for u in (self.s1, self.s2, self.s3)}, {3})
        self.assertEqual(
            [a[u].percentile for u in (self.s1, self.s2, self.s3)], [100.0, 50.0, 0.0]
        )
        # the technical member is not compared with sales, whatever their scores
        self.assertLess(a[self.tech].score, a[self.s3].score)
        self.assertEqual((a[self.tech].rank, a[self.tech].rank_size), (1, 1))
        self.assertEqual(a[self.tech].percentile, 100.0)

    def test_top_count_is_a_setting(self):
        a = self._compute()
        self.company.key_account_appraisal_top_count = 2
        self.assertEqual(
            [a[u].is_top for u in (self.s1, self.s2, self.s3, self.tech)],
            [True, True, False, True],
        )
        top = self.Appraisal.with_company(self.company).search(
            [("is_top", "=", True), ("user_id", "in", self.people.ids)]
        )
        self.assertEqual(top.user_id, self.s1 | self.s2 | self.tech)
        self.company.key_account_appraisal_top_count = 1
        a[self.s2].invalidate_recordset(["is_top"])
        self.assertFalse(a[self.s2].is_top)
        self.assertEqual(
            self.Appraisal.with_company(self.company)
            .search([("is_top", "=", False), ("user_id", "in", self.people.ids)])
            .user_id,
            self.s2 | self.s3,
        )

    def test_rank_within_team(self):
        self.company.key_account_appraisal_rank_by_team = True
        a = self._compute()
        self.assertEqual((a[self.s1].rank, a[self.s1].rank_size), (1, 1))
        self.assertEqual((a[self.s2].rank, a[self.s2].rank_size), (1, 2))
        self.assertEqual((a[self.s3].rank, a[self.s3].rank_size), (2, 2))
        self.assertEqual(a[self.s3].percentile, 0.0)

    def test_portfolio_note(self):
        a = self._compute()
        self.assertEqual(
            a[self.s1].portfolio_note,
            "%s ×1 · Ranking test segment ×1" % self.tier.name,
        )

    def test_main_role_by_share(self):
        """KAM 2 is after-sales on A (40 %) and KAM of B without a team
        (sales, 100 %): sales."""
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam2.id])
        self.assertEqual(self._appraisal(self.kam2).role, "sales")
        roles = self.env["key.account.member"]._main_roles(
            {self.kam2.id: [(self.partner_a.id, 0.4)]}, self.company
        )
        self.assertEqual(roles, {self.kam2.id: "after_sales"})

    def test_rank_refused_by_hand(self):
        a = self._compute()
        with self.assertRaises(UserError):
            a[self.s3].with_user(self.manager).write({"rank": 1})
