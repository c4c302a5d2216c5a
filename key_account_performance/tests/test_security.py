import datetime

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged, users
from odoo.tools import mute_logger

from .common import ReviewCommon
from .kpi_common import KpiCommon

Q1 = (datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
CONFIG_MODELS = (
    "key.account.tier",
    "key.account.segment",
    "key.account.grade",
    "key.account.kpi",
    "key.account.kpi.template",
    "key.account.kpi.template.line",
)


@tagged("post_install", "-at_install")
class TestSecurity(KpiCommon):
    """Access matrix: for each role and model, what is allowed and what is refused."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        Users = cls.env["res.users"].with_context(no_reset_password=True)

        def user(login, group):
            return Users.create(
                {
                    "name": login,
                    "login": login,
                    "email": "%s@example.com" % login,
                    "groups_id": [
                        Command.link(ref("key_account_performance.%s" % group).id)
                    ],
                }
            )

        cls.kam1 = cls.kam  # manages accounts A and B (kpi_common)
        cls.kam2 = user("sec_kam2", "group_key_account_user")
        cls.leader = user("sec_leader", "group_key_account_manager")
        cls.other_manager = user("sec_other_manager", "group_key_account_manager")
        cls.admin_user = user("sec_admin", "group_key_account_admin")
        cls.kam1.login = "sec_kam1"
        cls.env["crm.team"].create(
            {
                "name": "KA team 1",
                "user_id": cls.leader.id,
                "member_ids": [Command.set(cls.kam1.ids)],
            }
        )
        cls.env["crm.team"].create(
            {
                "name": "KA team 2",
                "user_id": cls.other_manager.id,
                "member_ids": [Command.set(cls.kam2.ids)],
            }
        )
        cls.partner_c = cls._make_account("Account C")
        cls.partner_c.key_account_manager_id = cls.kam2
        for partner in (cls.partner_a, cls.partner_c):
            cls._order(partner, 500.0, cls._local(2025, 2, 1, 12, 0, 0))
        cls.Value.compute_for_period(
            *Q1, partner_ids=(cls.partner_a | cls.partner_c).ids
        )
        cls.value_a = cls.Value.search([("partner_id", "=", cls.partner_a.id)], limit=1)
        cls.value_c = cls.Value.search([("partner_id", "=", cls.partner_c.id)], limit=1)

        # a second company with its own KPI and value
        cls.company2 = cls.env["res.company"].create({"name": "Other Co"})
        cls.kpi2 = cls.Kpi.create(
            {
                "name": "Co2 KPI",
                "code": "co2_kpi",
                "computation_mode": "manual",
                "company_id": cls.company2.id,
                "target": 5,
                "threshold": 1,
            }
        )
        cls.partner_co2 = cls.env["res.partner"].create(
            {
                "name": "Co2 account",
                "is_company": True,
                "company_id": cls.company2.id,
                "key_account_tier_id": cls.tier.id,
                "key_account_manager_id": cls.kam1.id,
            }
        )
        cls.value_co2 = cls.Value.create(
            {
                "partner_id": cls.partner_co2.id,
                "kpi_id": cls.kpi2.id,
                "company_id": cls.company2.id,
                "date_from": Q1[0],
                "date_to": Q1[1],
                "value": 3.0,
                "target": 5,
                "threshold": 1,
            }
        )
        cls.admin_user.company_ids = [Command.link(cls.company2.id)]

    def _visible_values(self):
        return self.env["key.account.kpi.value"].search([]) & (
            self.value_a | self.value_c | self.value_co2
        ).with_env(self.env)

    # ------------------------------------------------------------------ config
    @users("sec_kam1", "sec_leader")
    def test_configuration_read_only_below_admin(self):
        for model in CONFIG_MODELS:
            Model = self.env[model]
            self.assertTrue(Model.has_access("read"), model)
            for operation in ("write", "create", "unlink"):
                self.assertFalse(
                    Model.has_access(operation), "%s %s" % (model, operation)
                )
        with self.assertRaises(AccessError):
            self.env["key.account.kpi"].browse(self.kpi["revenue"].id).write(
                {"target": 1}
            )
        with self.assertRaises(AccessError):
            self.env["key.account.tier"].create({"name": "Sneaky"})

    @users("sec_admin")
    def test_configuration_writable_by_admin(self):
        for model in CONFIG_MODELS:
            for operation in ("read", "write", "create", "unlink"):
                self.assertTrue(
                    self.env[model].has_access(operation), "%s %s" % (model, operation)
                )
        tier = self.env["key.account.tier"].create({"name": "Admin tier"})
        tier.name = "Renamed"
        tier.unlink()

    # ------------------------------------------------------------------ values
    @users("sec_kam1")
    def test_kam_sees_only_own_values(self):
        visible = self._visible_values()
        self.assertIn(self.value_a.id, visible.ids)
        self.assertNotIn(self.value_c.id, visible.ids)
        self.assertNotIn(self.value_co2.id, visible.ids, "other company invisible")
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            self.env["key.account.kpi.value"].browse(self.value_c.id).read(["value"])
        with self.assertRaises(AccessError):
            self.env["key.account.kpi.value"].browse(self.value_a.id).unlink()
        # computing someone else's account is refused (values are written in SQL)
        with self.assertRaises(AccessError):
            self.env["key.account.kpi.value"].compute_for_period(
                *Q1, partner_ids=[self.partner_c.id]
            )
        ids = self.env["key.account.kpi.value"].compute_for_period(*Q1)
        partners = self.env["key.account.kpi.value"].browse(ids).partner_id
        self.assertTrue(partners)
        self.assertFalse(partners - (self.partner_a | self.partner_b))

    @users("sec_kam2")
    def test_other_kam_sees_nothing_of_kam1(self):
        visible = self._visible_values()
        self.assertEqual(visible.ids, [self.value_c.id])

    @users("sec_leader")
    def test_team_leader_sees_team_values_only(self):
        visible = self._visible_values()
        self.assertIn(self.value_a.id, visible.ids)
        self.assertNotIn(self.value_c.id, visible.ids)
        self.assertTrue(self.env["key.account.kpi.value"].has_access("unlink"))

    @users("sec_other_manager")
    def test_other_manager_sees_other_team(self):
        visible = self._visible_values()
        self.assertEqual(visible.ids, [self.value_c.id])

    @users("sec_admin")
    def test_admin_sees_all_in_allowed_companies(self):
        Value = self.env["key.account.kpi.value"].with_context(
            allowed_company_ids=[self.env.company.id]
        )
        visible = Value.search([]).ids
        self.assertIn(self.value_a.id, visible)
        self.assertIn(self.value_c.id, visible)
        self.assertNotIn(self.value_co2.id, visible, "only the allowed companies")
        Value = Value.with_context(
            allowed_company_ids=[self.env.company.id, self.company2.id]
        )
        self.assertIn(self.value_co2.id, Value.search([]).ids)

    @users("sec_kam1")
    def test_second_company_kpis_invisible(self):
        kpis = self.env["key.account.kpi"].search([("code", "=", "co2_kpi")])
        self.assertFalse(kpis)


@tagged("post_install", "-at_install")
class TestReviewSecurity(ReviewCommon):
    """Reviews, lines, actions and cycles: who reads, writes, creates, deletes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()
        Action = cls.env["key.account.improvement.action"]
        cls.action_a = Action.create(
            {
                "name": "Call the CFO",
                "partner_id": cls.partner_a.id,
                "user_id": cls.kam.id,
                "review_id": cls.review_a.id,
            }
        )
        cls.action_b = Action.create(
            {
                "name": "Fix delivery",
                "partner_id": cls.partner_b.id,
                "user_id": cls.kam2.id,
                "review_id": cls.review_b.id,
            }
        )

    def _seen(self, model, records):
        return self.env[model].search([("id", "in", records.ids)])

    @users("kap_rt_kam")
    def test_kam_matrix(self):
        Review = self.env["key.account.review"]
        self.assertEqual(
            self._seen("key.account.review", self.review_a | self.review_b),
            self.review_a,
        )
        self.assertEqual(
            self._seen(
                "key.account.review.line",
                self.review_a.line_ids | self.review_b.line_ids,
            ),
            self.review_a.line_ids,
        )
        self.assertEqual(
            self._seen("key.account.improvement.action", self.action_a | self.action_b),
            self.action_a,
        )
        self.assertTrue(self._seen("key.account.review.cycle", self.cycle))
        review = Review.browse(self.review_a.id)
        review.comment = "<p>Met the buyer twice.</p>"
        with (
            self.assertRaises(AccessError),
            mute_logger("odoo.addons.base.models.ir_rule"),
        ):
            Review.browse(self.review_b.id).write({"comment": "<p>not mine</p>"})
        with self.assertRaises(AccessError):
            review.unlink()
        with self.assertRaises(AccessError):
            self.env["key.account.review.cycle"].browse(self.cycle.id).write(
                {"state": "done"}
            )
        with self.assertRaises(AccessError):
            self.env["key.account.review.cycle"].create(
                {
                    "period_type": "month",
                    "date_from": "2020-01-01",
                    "date_to": "2020-01-31",
                }
            )
        with self.assertRaises(AccessError):
            self.env["key.account.improvement.action"].browse(self.action_a.id).unlink()
        action = self.env["key.account.improvement.action"].create(
            {
                "name": "Own action",
                "partner_id": self.partner_a.id,
                "user_id": self.env.uid,
            }
        )
        self.assertTrue(action.exists())
        with (
            self.assertRaises(AccessError),
            mute_logger("odoo.addons.base.models.ir_rule"),
        ):
            self.env["key.account.improvement.action"].create(
                {
                    "name": "On someone else's account",
                    "partner_id": self.partner_b.id,
                    "user_id": self.kam2.id,
                }
            )

    @users("kap_rt_kam2")
    def test_other_kam_sees_only_own(self):
        self.assertEqual(
            self._seen("key.account.review", self.review_a | self.review_b),
            self.review_b,
        )
        self.assertEqual(
            self._seen("key.account.improvement.action", self.action_a | self.action_b),
            self.action_b,
        )

    @users("kap_rt_leader")
    def test_leader_matrix(self):
        # the team's reviews, plus any review the leader is the approver of
        expected = self.review_a | self.review_b.filtered(
            lambda r: r.approver_id == self.leader
        )
        self.assertEqual(
            self._seen("key.account.review", self.review_a | self.review_b), expected
        )
        # the designated approver of a review reads its actions too
        self.assertEqual(
            self._seen("key.account.improvement.action", self.action_a | self.action_b),
            self.action_a
            | self.action_b.filtered(lambda a: a.review_id.approver_id == self.leader),
        )
        for model in (
            "key.account.review",
            "key.account.review.line",
            "key.account.improvement.action",
            "key.account.review.cycle",
        ):
            for operation in ("read", "write", "create", "unlink"):
                self.assertTrue(
                    self.env[model].has_access(operation), "%s %s" % (model, operation)
                )
        self.env["key.account.improvement.action"].browse(self.action_a.id).unlink()

    @users("kap_rt_manager")
    def test_manager_generates_reviews_beyond_own_team(self):
        cycle = self.env["key.account.review.cycle"].create(
            {"period_type": "quarter", "date_from": self.P0[0], "date_to": self.P0[1]}
        )
        ids = cycle.action_generate_reviews()
        reviews = self.env["key.account.review"].sudo().browse(ids)
        self.assertEqual(reviews.partner_id, self.partner_a | self.partner_b)
        self.assertEqual(reviews.mapped("create_uid"), self.env.user)
        # generating again creates nothing new, also for reviews the manager cannot see
        cycle.action_generate_reviews()
        self.assertEqual(
            self.env["key.account.review"]
            .sudo()
            .search_count([("cycle_id", "=", cycle.id)]),
            2,
        )

    @users("kap_rt_admin")
    def test_admin_sees_all(self):
        self.assertEqual(
            self._seen("key.account.review", self.review_a | self.review_b),
            self.review_a | self.review_b,
        )
        self.assertEqual(
            self._seen("key.account.improvement.action", self.action_a | self.action_b),
            self.action_a | self.action_b,
        )
