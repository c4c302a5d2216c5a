"""Browser tours of the key-account cockpit (static/tests/tours/key_account_tours.js).

The data is built here: two key accounts of a KAM, one of a second KAM,
orders in the last closed quarter and the one before, a template with a
manual KPI, the computed values and a generated review cycle.
"""

import datetime

from odoo import Command, fields
from odoo.tests import HttpCase, tagged

from ..tools import kpi_math


@tagged("post_install", "-at_install", "is_tour")
class TestCockpitTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env = cls.env(
            context=dict(
                cls.env.context,
                mail_create_nolog=True,
                no_reset_password=True,
                tracking_disable=True,
            )
        )
        company = env.company
        company.key_account_period_type = "quarter"
        today = fields.Date.context_today(env["res.partner"])
        cls.P = kpi_math.last_closed_period(today, "quarter")
        cls.P0 = kpi_math.previous_period(*cls.P)
        # keep the tours on their own data: other key accounts would join the cycle
        env["res.partner"].search([("is_key_account", "=", True)]).write(
            {"key_account_tier_id": False}
        )

        def user(login, group, lang="en_US"):
            return env["res.users"].create(
                {
                    "name": login.replace("_", " ").title(),
                    "login": login,
                    "password": login,
                    "email": "%s@example.com" % login,
                    "lang": lang,
                    "groups_id": [
                        Command.link(env.ref("base.group_user").id),
                        Command.link(env.ref("key_account_performance.%s" % group).id),
                        # the account page's survey answers need it (reported: a KAM
                        # without the Surveys group cannot open an account)
                        Command.link(env.ref("survey.group_survey_user").id),
                        # a KAM is a salesperson: the orders behind a score are theirs to read
                        Command.link(
                            env.ref("sales_team.group_sale_salesman_all_leads").id
                        ),
                    ],
                }
            )

        cls.kam = user("kap_tour_kam", "group_key_account_user")
        cls.kam2 = user("kap_tour_kam2", "group_key_account_user")
        cls.manager = user("kap_tour_manager", "group_key_account_manager")
        env["crm.team"].create(
            {
                "name": "Tour team",
                "user_id": cls.manager.id,
                "member_ids": [Command.set((cls.kam | cls.kam2).ids)],
            }
        )
        Kpi = env["key.account.kpi"]
        revenue = Kpi.search([("code", "=", "revenue"), ("company_id", "=", False)])
        orders = Kpi.search([("code", "=", "order_count"), ("company_id", "=", False)])
        manual = Kpi.create(
            {
                "name": "Tour Relationship",
                "code": "t_tour_relationship",
                "computation_mode": "manual",
                "target": 5.0,
                "threshold": 1.0,
                "unit": "/5",
            }
        )
        template = env["key.account.kpi.template"].create(
            {
                "name": "Tour template",
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": revenue.id,
                            "sequence": 1,
                            "weight": 2.0,
                            "target": 1000.0,
                            "threshold": 200.0,
                        }
                    ),
                    Command.create(
                        {
                            "kpi_id": orders.id,
                            "sequence": 2,
                            "weight": 1.0,
                            "target": 4.0,
                            "threshold": 0.0,
                        }
                    ),
                    Command.create(
                        {
                            "kpi_id": manual.id,
                            "sequence": 3,
                            "weight": 1.0,
                            "target": 5.0,
                            "threshold": 1.0,
                        }
                    ),
                ],
            }
        )
        tier = env["key.account.tier"].create({"name": "Tour tier", "sequence": 1})
        product = env["product.product"].create(
            {"name": "Tour Widget", "list_price": 100.0, "type": "consu"}
        )

        def account(name, kam):
            return env["res.partner"].create(
                {
                    "name": name,
                    "is_company": True,
                    "email": "buyer@%s.example.com" % name[-1].lower(),
                    "key_account_tier_id": tier.id,
                    "key_account_manager_id": kam.id,
                    "key_account_template_id": template.id,
                }
            )

        def order(partner, amount, period, offset):
            sale = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "product_uom_qty": 1,
                                "price_unit": amount,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
            )
            sale.action_confirm()
            sale.date_order = datetime.datetime.combine(
                period[0] + datetime.timedelta(days=offset), datetime.time(12, 0)
            )

        cls.account_a = account("Tour Account A", cls.kam)
        cls.account_b = account("Tour Account B", cls.kam2)
        order(cls.account_a, 300.0, cls.P, 10)
        order(cls.account_a, 300.0, cls.P, 40)
        order(cls.account_a, 1200.0, cls.P0, 20)
        order(cls.account_b, 500.0, cls.P, 15)
        Value = env["key.account.kpi.value"]
        Value.compute_for_period(*cls.P0)
        Value.compute_for_period(*cls.P)
        cycle = env["key.account.review.cycle"].search(
            [
                ("date_from", "=", cls.P[0]),
                ("date_to", "=", cls.P[1]),
                ("company_id", "=", company.id),
            ],
            limit=1,
        )
        if not cycle:
            cycle = env["key.account.review.cycle"].create(
                {"period_type": "quarter", "date_from": cls.P[0], "date_to": cls.P[1]}
            )
        cycle.action_generate_reviews()
        reviews = env["key.account.review"].search([("cycle_id", "=", cycle.id)])
        cls.review_a = reviews.filtered(lambda r: r.partner_id == cls.account_a)
        cls.review_b = reviews.filtered(lambda r: r.partner_id == cls.account_b)
        cls.review_a.approver_id = cls.manager
        cls.review_b.approver_id = cls.manager
        # B is already submitted by its KAM: the manager rejects it in the tour
        line = cls.review_b.line_ids.filtered(lambda line: line.kpi_id == manual)
        line.with_user(cls.kam2).write({"value": 3.0})
        cls.review_b.with_user(cls.kam2).action_submit()

    def test_kam_then_manager(self):
        self.start_tour(
            "/odoo/key-accounts", "kap_kam_review_tour", login="kap_tour_kam"
        )
        self.assertEqual(self.review_a.state, "submitted")
        self.assertTrue(
            self.review_a.line_ids.filtered(lambda line: line.is_manual).has_value
        )
        self.start_tour(
            "/odoo/key-accounts",  # the app's home: the queue is one click away
            "kap_manager_approval_tour",
            login="kap_tour_manager",
        )
        self.assertEqual(self.review_a.state, "approved")
        self.assertEqual(self.review_b.state, "rejected")
        self.assertIn("revenue drop", self.review_b.reject_reason)

    def test_drill_down(self):
        self.start_tour(
            "/odoo/key-accounts", "kap_drill_down_tour", login="kap_tour_kam"
        )

    def test_drill_down_zh_cn(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["key_account_performance"], ["zh_CN"]
        )
        self.kam.lang = "zh_CN"
        self.start_tour(
            "/odoo/key-accounts", "kap_drill_down_zh_tour", login="kap_tour_kam"
        )
