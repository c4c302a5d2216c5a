"""Customer value: CLV from invoices, predictions, backtest, auto-tiering, surveys."""

import datetime

from sklearn.metrics import roc_auc_score

from odoo import Command, fields
from odoo.tests import Form, tagged
from odoo.tools import SQL

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from .common import KeyAccountCase

AS_OF = datetime.date(2025, 6, 30)


def insert_orders(env, template, rows):
    """Clone the confirmed ``template`` order once per (partner id, date, amount) row, in SQL."""
    env.flush_all()
    fixed = {
        "id",
        "partner_id",
        "partner_invoice_id",
        "partner_shipping_id",
        "date_order",
        "amount_untaxed",
        "amount_total",
        "margin",
        "name",
    }
    columns = [
        name
        for [name] in env.execute_query(
            SQL(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'sale_order'"
            )
        )
        if name not in fixed
    ]
    env.cr.execute(
        SQL(
            """
        INSERT INTO sale_order (%(cols)s, name, partner_id, partner_invoice_id, partner_shipping_id,
                                date_order, amount_untaxed, amount_total, margin)
        SELECT %(tcols)s, 'KAPCV' || v.n, v.p, v.p, v.p, v.d, v.a, v.a, v.a * 0.25
          FROM sale_order t,
               unnest(%(p)s::int[], %(d)s::timestamp[], %(a)s::numeric[], %(n)s::int[]) AS v(p, d, a, n)
         WHERE t.id = %(template)s
    """,
            cols=SQL(", ").join(SQL.identifier(c) for c in columns),
            tcols=SQL(", ").join(SQL.identifier("t", c) for c in columns),
            p=[row[0] for row in rows],
            d=[datetime.datetime.combine(row[1], datetime.time(12)) for row in rows],
            a=[row[2] for row in rows],
            n=list(range(len(rows))),
            template=template.id,
        )
    )
    env["sale.order"].invalidate_model()


class CustomerValueCommon(KeyAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create(
            {"name": "Customer Value Test Company"}
        )
        cls.company.partner_id.tz = "UTC"
        cls.env.user.company_ids = [Command.link(cls.company.id)]
        cls.env = cls.env(
            context=dict(
                cls.env.context,
                allowed_company_ids=[cls.company.id],
                mail_create_nolog=True,
                tracking_disable=True,
            )
        )
        cls.company.key_account_period_type = "quarter"
        cls.product = cls.env["product.product"].create(
            {"name": "Value Widget", "list_price": 100.0, "type": "consu"}
        )
        cls.template_partner = cls.env["res.partner"].create(
            {"name": "Template customer", "is_company": True}
        )
        cls.template_order = cls.env["sale.order"].create(
            {
                "partner_id": cls.template_partner.id,
                "company_id": cls.company.id,
                "order_line": [
                    Command.create({"product_id": cls.product.id, "product_uom_qty": 1})
                ],
            }
        )
        cls.template_order.action_confirm()
        cls.template_order.date_order = datetime.datetime(2020, 1, 1)

    @classmethod
    def _customers(cls, count, prefix):
        return cls.env["res.partner"].create(
            [
                {
                    "name": "%s %03d" % (prefix, i),
                    "is_company": True,
                    "company_id": cls.company.id,
                }
                for i in range(count)
            ]
        )


@tagged("post_install", "-at_install")
class TestCustomerValuePrediction(CustomerValueCommon):
    """A constructed history: 100 customers buying at their own rhythm; half stop."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls._customers(100, "Rhythm customer")
        rows = []
        cls.stoppers = cls.env["res.partner"]
        for i, partner in enumerate(cls.customers):
            gap = 15 + (i % 5) * 5  # 15 to 35 days
            day = AS_OF - datetime.timedelta(days=500 - (i * 7) % gap)
            stop = AS_OF + datetime.timedelta(days=30)  # after the cut-off: never
            if i % 2:
                cls.stoppers |= partner
                stop = AS_OF - datetime.timedelta(days=100 + (i % 40) * 2)
            k = 0
            while day <= stop:
                rows.append((partner.id, day, 100.0 + 10 * (i % 7)))
                k += 1
                day += datetime.timedelta(days=gap + (k % 3) - 1)
        insert_orders(cls.env, cls.template_order, rows)
        cls.Partner = cls.env["res.partner"]

    def test_probabilities_auc_and_backtest(self):
        result = self.Partner.compute_key_account_value(
            fields.Date.to_string(AS_OF), 60
        )
        self.assertEqual(result["horizon_days"], 60)
        self.assertEqual(result["as_of"], "2025-06-30")
        self.assertGreaterEqual(result["partners"], 100)
        self.customers.invalidate_recordset()
        probabilities = self.customers.mapped("key_account_buy_probability")
        expected = self.customers.mapped("key_account_expected_orders")
        self.assertTrue(all(0.0 <= p <= 1.0 for p in probabilities), probabilities)
        self.assertTrue(all(e >= 0.0 for e in expected), expected)
        stopped = [partner in self.stoppers for partner in self.customers]
        auc = roc_auc_score([not s for s in stopped], probabilities)
        self.assertGreater(auc, 0.9)
        # the stoppers are at churn risk, and the account says why
        late = self.stoppers[0]
        self.assertTrue(late.key_account_churn_risk)
        self.assertIn("usual interval", late.key_account_churn_reason)
        active = self.customers - self.stoppers
        self.assertFalse(any(active.mapped("key_account_churn_risk")))
        self.assertGreater(sum(active.mapped("key_account_clv_predictive")), 0.0)
        self.assertEqual(active[0].key_account_value_date, AS_OF)
        # the backtest is stored with its figures
        model = self.env["key.account.value.model"].browse(result["model_id"])
        self.assertEqual(model.company_id, self.company)
        self.assertEqual(model.method, "gradient_boosting")
        self.assertEqual(model.as_of, AS_OF)
        self.assertEqual(model.cutoff_date, AS_OF - datetime.timedelta(days=60))
        self.assertTrue(model.has_auc)
        self.assertGreater(model.auc, 0.9)
        self.assertGreater(model.actual_orders, 0)
        self.assertAlmostEqual(
            model.predicted_orders, result["backtest_predicted_orders"], places=1
        )
        # orders that came after the backtest's cut-off, counted independently
        came = self.env["sale.order"].search_count(
            [
                ("company_id", "=", self.company.id),
                ("state", "=", "sale"),
                (
                    "date_order",
                    ">",
                    datetime.datetime.combine(model.cutoff_date, datetime.time.max),
                ),
                (
                    "date_order",
                    "<=",
                    datetime.datetime.combine(AS_OF, datetime.time.max),
                ),
            ]
        )
        self.assertEqual(model.actual_orders, came)
        # half the customers stop while the backtest trains (a regime shift): its
        # total is only roughly right here; on steady histories it is within a few %
        self.assertLess(abs(model.error_pct), 40.0)
        # shown in Settings
        settings = self.env["res.config.settings"].create({})
        self.assertIn("AUC", settings.key_account_value_backtest)
        # in words: what the AUC and the two totals mean, and the error
        self.assertIn(
            "0.5 is chance, 1 is perfect", settings.key_account_value_backtest
        )
        self.assertIn("%+.1f %%" % model.error_pct, settings.key_account_value_backtest)

    def test_orders_on_one_day(self):
        """Each order placed twice on its day: the same chance to buy, twice the
        expected orders; an account whose orders all fell on one day says so."""
        as_of = fields.Date.to_string(AS_OF)
        self.Partner.compute_key_account_value(as_of, 60)
        names = ["key_account_buy_probability", "key_account_expected_orders"]
        before = {p["id"]: p for p in self.customers.read(names)}
        rows = self.env.execute_query(
            SQL(
                """SELECT partner_id, date_order::date, amount_untaxed FROM sale_order
                    WHERE partner_id IN %s AND state = 'sale'""",
                tuple(self.customers.ids),
            )
        )
        insert_orders(self.env, self.template_order, rows)
        self.Partner.compute_key_account_value(as_of, 60)
        self.customers.invalidate_recordset()
        for partner in self.customers.read(names):
            old = before[partner["id"]]
            self.assertEqual(
                partner["key_account_buy_probability"],
                old["key_account_buy_probability"],
            )
            # stored with two decimals: twice the rounded value, give or take a cent
            self.assertAlmostEqual(
                partner["key_account_expected_orders"],
                2 * old["key_account_expected_orders"],
                delta=0.011,
            )
        # a new account: two orders on one day, 200 days before as_of
        one_day = self._customers(1, "One-day customer")
        day = AS_OF - datetime.timedelta(days=200)
        insert_orders(self.env, self.template_order, [(one_day.id, day, 50.0)] * 2)
        self.Partner.compute_key_account_value(as_of, 60)
        self.assertTrue(one_day.key_account_churn_risk)
        self.assertIn(
            "2 orders, all on one day, 200 days ago", one_day.key_account_churn_reason
        )
        self.assertNotIn("usual interval", one_day.key_account_churn_reason)

    def test_as_of_cut_off(self):
        partner = self.customers - self.stoppers
        partner = partner[0]
        fields_ = [
            "key_account_buy_probability",
            "key_account_expected_orders",
            "key_account_clv",
            "key_account_revenue_12m",
            "key_account_last_order_date",
            "key_account_rfm_score",
            "key_account_clv_predictive",
            "key_account_churn_risk",
        ]
        self.Partner.compute_key_account_value(AS_OF, 60)
        before = partner.read(fields_)[0]
        # an order the day after as_of changes nothing seen on as_of
        insert_orders(
            self.env,
            self.template_order,
            [(partner.id, AS_OF + datetime.timedelta(days=1), 99999.0)],
        )
        self.Partner.compute_key_account_value(AS_OF, 60)
        partner.invalidate_recordset()
        self.assertEqual(partner.read(fields_)[0], before)
        # seen a day later, it counts
        self.Partner.compute_key_account_value(AS_OF + datetime.timedelta(days=1), 60)
        partner.invalidate_recordset()
        self.assertEqual(
            partner.key_account_last_order_date, AS_OF + datetime.timedelta(days=1)
        )
        self.assertGreater(partner.key_account_clv, before["key_account_clv"] + 99000)

    def test_churn_reason_in_the_readers_language(self):
        """Computed by a Chinese-speaking user, the reason reads in English for
        an English-speaking one, and the other way round."""
        self.env["res.lang"]._activate_lang("zh_CN")
        tier = self.env["key.account.tier"].create(
            {"name": "Reason tier", "company_id": self.company.id}
        )
        no_orders = self._customers(1, "Key account without orders")
        no_orders.key_account_tier_id = tier
        late = self.stoppers[0]
        for computing in ("zh_CN", "en_US"):
            self.Partner.with_context(lang=computing).compute_key_account_value(
                fields.Date.to_string(AS_OF), 60
            )
            (late | no_orders).invalidate_recordset()
            english = late.with_context(lang="en_US").key_account_churn_reason
            chinese = late.with_context(lang="zh_CN").key_account_churn_reason
            self.assertIn("its usual interval of", english)
            self.assertIn("chance of an order in the next 60 days", english)
            self.assertIn("是其通常间隔", chinese)
            self.assertIn("未来 60 天内下单的概率为", chinese)
            self.assertNotIn("usual", chinese)
            # Chinese punctuation between the reasons and at the end
            self.assertIn("；未来", chinese)
            self.assertTrue(chinese.endswith("%。"), chinese)
            self.assertTrue(english.endswith(" days."), english)
            self.assertIn("; ", english)
            self.assertEqual(
                no_orders.with_context(lang="en_US").key_account_churn_reason,
                "No confirmed order up to 2025-06-30.",
            )
            self.assertEqual(
                no_orders.with_context(lang="zh_CN").key_account_churn_reason,
                "截至 2025-06-30 没有已确认订单。",
            )

    def test_locked_partner_left_alone_by_auto_tiering(self):
        tier = self.env["key.account.tier"].create(
            {
                "name": "Auto value tier",
                "sequence": -10,
                "auto_tier": True,
                "auto_min_revenue": 1.0,
                "company_id": self.company.id,
            }
        )
        locked, free = self.customers[:2]
        locked.key_account_tier_locked = True
        self.Partner.compute_key_account_value(AS_OF, 60)
        self.assertFalse(locked.key_account_tier_id)
        self.assertEqual(free.key_account_tier_id, tier)
        self.assertTrue(free.is_key_account)

    def test_auto_tiering_by_predicted_clv(self):
        """A tier reached by predicted CLV alone: the customers who keep
        buying get it, the stoppers (low predictions) do not."""
        tier = self.env["key.account.tier"].create(
            {
                "name": "Auto predicted tier",
                "sequence": -10,
                "auto_tier": True,
                "auto_min_clv_predictive": 1.0,
                "company_id": self.company.id,
            }
        )
        self.Partner.compute_key_account_value(AS_OF, 60)
        buyers = self.customers - self.stoppers
        threshold = sorted(buyers.mapped("key_account_clv_predictive"))[0]
        self.assertGreater(threshold, 0.0)
        tier.auto_min_clv_predictive = threshold
        self.customers.key_account_tier_id = False
        self.Partner.compute_key_account_value(AS_OF, 60)
        self.assertEqual(buyers.key_account_tier_id, tier)
        tiered = self.customers.filtered(lambda p: p.key_account_tier_id == tier)
        for partner in tiered:
            self.assertGreaterEqual(partner.key_account_clv_predictive, threshold)
        self.assertLess(len(tiered & self.stoppers), len(self.stoppers) / 2)

    def test_retention_cohorts_and_screens(self):
        self.Partner.compute_key_account_value(AS_OF, 60)
        Cohort = self.env["key.account.retention.cohort"]
        rows = Cohort.search([("partner_id", "in", self.customers.ids)])
        self.assertTrue(rows)
        # every customer bought in its first quarter; the stoppers are gone by the last one
        first = rows.filtered(lambda row: row.quarter_offset == 0)
        self.assertEqual(set(first.mapped("retention")), {100.0})
        self.assertEqual(first.partner_id, self.customers)
        last_quarter = datetime.date(2025, 4, 1)
        stopped = rows.filtered(
            lambda r: r.period_date == last_quarter and r.partner_id in self.stoppers
        )
        self.assertEqual(set(stopped.mapped("retention")), {0.0})
        groups = Cohort._read_group(
            [
                ("partner_id", "in", self.customers.ids),
                ("period_date", "=", last_quarter),
            ],
            [],
            ["retention:avg", "customer_count:sum"],
        )
        self.assertEqual(groups[0][1], 100)
        self.assertAlmostEqual(groups[0][0], 50.0)  # half the customers still buying
        # the screens load: customer value analysis, models, settings
        for model, view_types in (
            ("res.partner", ["pivot", "graph", "list", "search"]),
            ("key.account.retention.cohort", ["pivot", "graph", "search"]),
            ("key.account.value.model", ["list", "form"]),
        ):
            action = {
                "res.partner": "action_key_account_customer_value",
                "key.account.retention.cohort": "action_key_account_retention_cohort",
                "key.account.value.model": "action_key_account_value_model",
            }[model]
            self.env.ref("key_account_performance.%s" % action)
            views = self.env[model].get_views(
                [(False, view_type) for view_type in view_types]
            )
            self.assertEqual(set(views["views"]), set(view_types))
        model = self.env["key.account.value.model"].search(
            [("company_id", "=", self.company.id)], limit=1
        )
        self.assertEqual(Form(model).as_of, fields.Date.to_string(AS_OF))
        self.assertTrue(Form(self.customers[1]).key_account_churn_reason)

    def test_query_count_does_not_grow_with_customers(self):
        def count():
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.Partner.compute_key_account_value(AS_OF, 60)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        count()  # warm-up (first fit record, caches)
        with_100 = count()
        more = self._customers(150, "More customer")
        rows = [
            (partner.id, AS_OF - datetime.timedelta(days=d), 80.0)
            for partner in more
            for d in (5, 40, 75, 110)
        ]
        insert_orders(self.env, self.template_order, rows)
        with_250 = count()
        self.assertEqual(with_100, with_250)
        self.assertLess(with_250, 40)
        # the scheduled action does the same for every company, with a fit record each
        models_before = self.env["key.account.value.model"].search_count([])
        self.Partner._cron_key_account_customer_value()
        companies = self.env["res.company"].search_count([])
        self.assertEqual(
            self.env["key.account.value.model"].search_count([]),
            models_before + companies,
        )


@tagged("post_install", "-at_install")
class TestCustomerValueSmallHistory(CustomerValueCommon):
    def test_rhythm_fallback_bounded(self):
        customers = self._customers(3, "Small customer")
        rows = []
        for i, partner in enumerate(customers):
            for k in range(2 + i):
                rows.append(
                    (partner.id, AS_OF - datetime.timedelta(days=30 * k + 10 * i), 50.0)
                )
        insert_orders(self.env, self.template_order, rows)
        result = self.env["res.partner"].compute_key_account_value("2025-06-30")
        self.assertEqual(result["method"], "rhythm")
        self.assertEqual(result["horizon_days"], 91)  # the company's quarter (Q2 2025)
        customers.invalidate_recordset()
        for partner in customers:
            self.assertGreaterEqual(partner.key_account_buy_probability, 0.0)
            self.assertLessEqual(partner.key_account_buy_probability, 1.0)
            self.assertGreaterEqual(partner.key_account_expected_orders, 0.0)
        # the most regular, most recent buyer is the likeliest
        self.assertGreater(customers[0].key_account_buy_probability, 0.0)
        model = self.env["key.account.value.model"].browse(result["model_id"])
        self.assertEqual(model.method, "rhythm")


@tagged("post_install", "-at_install")
class TestCustomerValueInvoices(AccountTestInvoicingCommon):
    """Historical CLV and trailing 12 months from posted invoices net of refunds."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a manager computes the customer value of the whole company
        cls.env.user.groups_id = [
            Command.link(
                cls.env.ref("key_account_performance.group_key_account_manager").id
            )
        ]
        cls.other_currency = cls.setup_other_currency("EUR")  # 2 EUR = 1 company unit
        cls.customer = cls.env["res.partner"].create(
            {"name": "Invoiced customer", "is_company": True}
        )
        contact = cls.env["res.partner"].create(
            {"name": "Buyer", "parent_id": cls.customer.id}
        )
        today = fields.Date.today()
        recent = today - datetime.timedelta(days=60)
        old = today - datetime.timedelta(days=500)
        cls.init_invoice(
            "out_invoice", cls.customer, recent, post=True, amounts=[1000.0], taxes=[]
        )
        cls.init_invoice(
            "out_refund", contact, recent, post=True, amounts=[200.0], taxes=[]
        )
        cls.init_invoice(
            "out_invoice",
            cls.customer,
            recent,
            post=True,
            amounts=[600.0],
            taxes=[],
            currency=cls.other_currency,
        )
        cls.init_invoice(
            "out_invoice", cls.customer, old, post=True, amounts=[100.0], taxes=[]
        )
        cls.init_invoice(
            "out_invoice", cls.customer, recent, post=False, amounts=[5000.0], taxes=[]
        )
        order = cls.env["sale.order"].create(
            {
                "partner_id": contact.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": cls.product_a.id,
                            "product_uom_qty": 1,
                            "price_unit": 777.0,
                            "tax_id": [],
                        }
                    )
                ],
            }
        )
        order.action_confirm()
        order.date_order = fields.Datetime.now() - datetime.timedelta(days=30)

    def test_clv_from_invoices_with_refund_and_foreign_currency(self):
        Partner = self.env["res.partner"]
        Partner.compute_key_account_value()
        # 1000 - 200 (refund) + 600 EUR / 2 + 100 (older than 12 months); the draft does not count
        self.assertAlmostEqual(self.customer.key_account_clv, 1200.0, places=2)
        self.assertAlmostEqual(self.customer.key_account_revenue_12m, 1100.0, places=2)
        self.assertGreaterEqual(self.customer.key_account_buy_probability, 0.0)
        self.assertLessEqual(self.customer.key_account_buy_probability, 1.0)
        # a company that does not invoice in Odoo: confirmed orders
        self.env.company.key_account_invoicing = False
        Partner.compute_key_account_value()
        self.assertAlmostEqual(self.customer.key_account_clv, 777.0, places=2)
        self.assertAlmostEqual(self.customer.key_account_revenue_12m, 777.0, places=2)


@tagged("post_install", "-at_install")
class TestKeyAccountSurvey(KeyAccountCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls.env["res.partner"].create(
            {
                "name": "Survey account",
                "is_company": True,
                "email": "office@survey-account.example.com",
            }
        )
        cls.contacts = cls.env["res.partner"].create(
            [
                {
                    "name": "Ann",
                    "parent_id": cls.account.id,
                    "email": "ann@survey-account.example.com",
                },
                {
                    "name": "Bob",
                    "parent_id": cls.account.id,
                    "email": "bob@survey-account.example.com",
                },
                {"name": "No mail", "parent_id": cls.account.id},
            ]
        )
        cls.outsider = cls.env["res.partner"].create(
            {"name": "Other", "email": "other@example.com"}
        )
        cls.nps = cls.env.ref("key_account_performance.survey_nps")

    def test_send_survey_invites_the_contacts_with_email(self):
        action = self.contacts[0].action_key_account_send_survey()
        self.assertEqual(action["res_model"], "survey.invite")
        invite = self.env["survey.invite"].with_context(**action["context"]).create({})
        self.assertEqual(invite.survey_id, self.nps)
        self.assertEqual(invite.partner_ids, self.account | self.contacts[:2])
        invite.action_invite()
        family = self.account | self.contacts | self.outsider
        answers = self.env["survey.user_input"].search(
            [("survey_id", "=", self.nps.id), ("partner_id", "in", family.ids)]
        )
        self.assertEqual(answers.partner_id, self.account | self.contacts[:2])
        mails = self.env["mail.mail"].search(
            [("recipient_ids", "in", self.contacts[:2].ids)]
        )
        self.assertEqual(len(mails), 2)
        # answers show on the account, with the NPS trend
        question = self.env.ref("key_account_performance.survey_nps_question")
        for answer, score in zip(answers.sorted("id"), (10, 9, 3)):
            answer._save_lines(question, score)
            answer._mark_done()
        self.account.invalidate_recordset()
        self.assertEqual(self.account.key_account_survey_input_ids, answers)
        quarter = (fields.Date.today().month - 1) // 3 + 1
        # 2 promoters, 1 detractor of 3: NPS 33
        self.assertEqual(
            self.account.key_account_nps_trend,
            "Q%s %s: 33" % (quarter, fields.Date.today().year),
        )

    def test_send_survey_from_a_review_and_csat(self):
        action = self.account.action_key_account_send_csat()
        invite = self.env["survey.invite"].with_context(**action["context"]).create({})
        self.assertEqual(
            invite.survey_id, self.env.ref("key_account_performance.survey_csat")
        )
        self.assertNotIn(self.outsider, invite.partner_ids)
        # from a review of the account: the NPS survey, the account's contacts with an email
        cycle = self.env["key.account.review.cycle"].create(
            {
                "period_type": "quarter",
                "date_from": datetime.date(2001, 1, 1),
                "date_to": datetime.date(2001, 3, 31),
            }
        )
        review = self.env["key.account.review"].create(
            {"cycle_id": cycle.id, "partner_id": self.account.id}
        )
        action = review.action_send_survey()
        invite = self.env["survey.invite"].with_context(**action["context"]).create({})
        self.assertEqual(invite.survey_id, self.nps)
        self.assertEqual(invite.partner_ids, self.account | self.contacts[:2])
