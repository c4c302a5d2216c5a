"""Customer value of a partner shared between two companies (issue 27, item
12): each company computes, reads, searches, groups and sorts its own CLV,
RFM, churn risk, predictions and "why at risk"; one company's computation
never changes the other's. Also the migration that made these figures
company-dependent."""

import datetime
import importlib.util
import json
from pathlib import Path

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import SQL

from .test_customer_value import AS_OF, CustomerValueCommon, insert_orders

# the customer-value fields a company computes (company-dependent)
VALUE_FIELDS = [
    "key_account_clv",
    "key_account_clv_predictive",
    "key_account_revenue_12m",
    "key_account_last_order_date",
    "key_account_rfm_score",
    "key_account_rfm_segment",
    "key_account_churn_risk",
    "key_account_buy_probability",
    "key_account_expected_orders",
    "key_account_churn_reason",
    "key_account_value_date",
    "key_account_value_horizon",
]
MIGRATION = (
    Path(__file__).resolve().parent.parent
    / "migrations"
    / "18.0.1.5.0"
    / "pre-customer-value.py"
)


@tagged("post_install", "-at_install")
class TestCustomerValuePerCompany(CustomerValueCommon):
    """Company A: the shared customer is its best one, ordering every week up
    to the day. Company B: the same customer ordered once, small, 300 days
    ago. Each company also has 20 customers of its own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create(
            {"name": "Customer Value Company B"}
        )
        cls.company_b.partner_id.tz = "UTC"
        cls.company_b.key_account_period_type = "quarter"
        cls.env.user.company_ids = [Command.link(cls.company_b.id)]
        cls.env = cls.env(
            context=dict(
                cls.env.context,
                allowed_company_ids=[cls.company_a.id, cls.company_b.id],
            )
        )
        cls.env_a = cls.env(
            context=dict(cls.env.context, allowed_company_ids=[cls.company_a.id])
        )
        cls.env_b = cls.env(
            context=dict(cls.env.context, allowed_company_ids=[cls.company_b.id])
        )
        template_b = (
            cls.env_b["sale.order"]
            .create(
                {
                    "partner_id": cls.template_partner.id,
                    "company_id": cls.company_b.id,
                    "order_line": [
                        Command.create(
                            {"product_id": cls.product.id, "product_uom_qty": 1}
                        )
                    ],
                }
            )
            .with_env(cls.env_b)
        )
        template_b.action_confirm()
        template_b.date_order = datetime.datetime(2020, 1, 1)
        cls.shared = cls.env["res.partner"].create(
            {"name": "Shared Customer", "is_company": True, "company_id": False}
        )
        cls.own_a = cls._customers(20, "Company A customer")
        cls.own_b = cls.env["res.partner"].create(
            [
                {
                    "name": "Company B customer %03d" % i,
                    "is_company": True,
                    "company_id": cls.company_b.id,
                }
                for i in range(20)
            ]
        )
        day = datetime.timedelta(days=1)
        rows_a = [(cls.shared.id, AS_OF - 7 * k * day, 5000.0) for k in range(60)]
        rows_b = [(cls.shared.id, AS_OF - 300 * day, 10.0)]
        for i, (partner_a, partner_b) in enumerate(zip(cls.own_a, cls.own_b)):
            for k in range(12):
                rows_a.append(
                    (partner_a.id, AS_OF - (10 + i + 30 * k) * day, 100.0 + i)
                )
                rows_b.append(
                    (partner_b.id, AS_OF - (1 + i % 5 + 20 * k) * day, 300.0 + i)
                )
        insert_orders(cls.env, cls.template_order, rows_a)
        insert_orders(cls.env, template_b, rows_b)

    def _compute(self, env, as_of=AS_OF, horizon=60):
        return env["res.partner"].compute_key_account_value(
            fields.Date.to_string(as_of), horizon
        )

    def _read(self, env, partner=None):
        partner = (partner or self.shared).with_env(env)
        partner.invalidate_recordset()
        return partner.read(VALUE_FIELDS)[0]

    def test_each_company_reads_its_own_figures(self):
        self._compute(self.env_a)
        self._compute(self.env_b)
        a = self._read(self.env_a)
        b = self._read(self.env_b)
        # company A: 60 orders of 5,000, the last one on the day
        self.assertAlmostEqual(a["key_account_clv"], 300000.0, places=2)
        self.assertEqual(a["key_account_last_order_date"], AS_OF)
        self.assertEqual(a["key_account_rfm_score"], "555")
        self.assertEqual(a["key_account_rfm_segment"], "champion")
        self.assertFalse(a["key_account_churn_risk"])
        self.assertFalse(a["key_account_churn_reason"])
        self.assertGreater(a["key_account_buy_probability"], 0.5)
        self.assertGreater(a["key_account_expected_orders"], 1.0)
        self.assertGreater(a["key_account_clv_predictive"], 0.0)
        # company B: one order of 10, 300 days ago
        self.assertAlmostEqual(b["key_account_clv"], 10.0, places=2)
        self.assertEqual(b["key_account_revenue_12m"], 10.0)
        self.assertEqual(
            b["key_account_last_order_date"], AS_OF - datetime.timedelta(days=300)
        )
        self.assertEqual(b["key_account_rfm_score"], "111")
        self.assertEqual(b["key_account_rfm_segment"], "hibernating")
        self.assertTrue(b["key_account_churn_risk"])
        self.assertIn("A single order, 300 days ago", b["key_account_churn_reason"])
        self.assertLess(
            b["key_account_buy_probability"], a["key_account_buy_probability"]
        )
        for values in (a, b):
            self.assertEqual(values["key_account_value_date"], AS_OF)
            self.assertEqual(values["key_account_value_horizon"], 60)
        # the database holds both: one value per company
        [[clv]] = self.env.execute_query(
            SQL("SELECT key_account_clv FROM res_partner WHERE id = %s", self.shared.id)
        )
        self.assertEqual(
            {int(k): round(v, 2) for k, v in clv.items()},
            {self.company_a.id: 300000.0, self.company_b.id: 10.0},
        )

    def test_one_company_computing_leaves_the_other_alone(self):
        self._compute(self.env_b)
        before_b = self._read(self.env_b)
        before_other_b = self._read(self.env_b, self.own_b[0])
        # A computes (as of another day, over another horizon), twice
        self._compute(self.env_a)
        self._compute(self.env_a, AS_OF - datetime.timedelta(days=30), 90)
        self.assertEqual(self._read(self.env_b), before_b)
        self.assertEqual(self._read(self.env_b, self.own_b[0]), before_other_b)
        after_a = self._read(self.env_a)
        self.assertEqual(
            after_a["key_account_value_date"], AS_OF - datetime.timedelta(days=30)
        )
        self.assertEqual(after_a["key_account_value_horizon"], 90)
        # and B computing again leaves A's figures
        self._compute(self.env_b)
        self.assertEqual(self._read(self.env_a), after_a)
        # a company that never computed sees nothing
        company_c = self.env["res.company"].create({"name": "Customer Value C"})
        self.env.user.company_ids = [Command.link(company_c.id)]
        env_c = self.env(
            context=dict(self.env.context, allowed_company_ids=[company_c.id])
        )
        c = self._read(env_c)
        self.assertFalse(c["key_account_value_date"])
        self.assertFalse(c["key_account_clv"])
        self.assertFalse(c["key_account_churn_risk"])
        self.assertFalse(c["key_account_rfm_segment"])

    def test_auto_tiering_never_re_tiers_a_shared_partner(self):
        """A partner shared between companies has one tier: company A's
        figures (its best customer) do not auto-tier it for company B; A's
        own customers are auto-tiered as before."""
        tier = self.env["key.account.tier"].create(
            {
                "name": "Auto tier of A",
                "sequence": -10,
                "auto_tier": True,
                "auto_min_revenue": 1.0,
                "company_id": self.company_a.id,
            }
        )
        self._compute(self.env_a)
        self.assertFalse(self.shared.key_account_tier_id)
        self.assertEqual(self.own_a[0].key_account_tier_id, tier)

    def test_search_group_and_sort_use_the_current_company(self):
        self._compute(self.env_a)
        self._compute(self.env_b)
        Partner_a = self.env_a["res.partner"]
        Partner_b = self.env_b["res.partner"]
        # searching by churn risk and by RFM segment
        self.assertNotIn(
            self.shared, Partner_a.search([("key_account_churn_risk", "=", True)])
        )
        self.assertIn(
            self.shared, Partner_b.search([("key_account_churn_risk", "=", True)])
        )
        self.assertIn(
            self.shared, Partner_a.search([("key_account_churn_risk", "=", False)])
        )
        self.assertIn(
            self.shared,
            Partner_a.search([("key_account_rfm_segment", "=", "champion")]),
        )
        self.assertNotIn(
            self.shared,
            Partner_b.search([("key_account_rfm_segment", "=", "champion")]),
        )
        self.assertIn(
            self.shared,
            Partner_b.search([("key_account_rfm_segment", "=", "hibernating")]),
        )
        self.assertIn(
            self.shared, Partner_a.search([("key_account_buy_probability", ">=", 0.5)])
        )
        # grouping: the shared customer counts under each company's own segment
        domain = [("id", "in", (self.shared | self.own_a | self.own_b).ids)]
        groups_a = dict(
            Partner_a._read_group(domain, ["key_account_rfm_segment"], ["id:array_agg"])
        )
        groups_b = dict(
            Partner_b._read_group(domain, ["key_account_rfm_segment"], ["id:array_agg"])
        )
        self.assertIn(self.shared.id, groups_a["champion"])
        self.assertNotIn(self.shared.id, groups_a.get("hibernating", []))
        self.assertIn(self.shared.id, groups_b["hibernating"])
        self.assertNotIn(self.shared.id, groups_b.get("champion", []))
        # company A's customers have no figures in B (and the other way round)
        self.assertEqual(set(groups_b[False]), set(self.own_a.ids))
        self.assertEqual(set(groups_a[False]), set(self.own_b.ids))
        risk_b = dict(
            Partner_b._read_group(domain, ["key_account_churn_risk"], ["id:array_agg"])
        )
        self.assertIn(self.shared.id, risk_b[True])
        risk_a = dict(
            Partner_a._read_group(domain, ["key_account_churn_risk"], ["id:array_agg"])
        )
        self.assertNotIn(self.shared.id, risk_a.get(True, []))
        # sums per company, as the Customer Value pivot reads them
        [[total_a]] = Partner_a._read_group(
            [("id", "=", self.shared.id)], [], ["key_account_clv:sum"]
        )
        [[total_b]] = Partner_b._read_group(
            [("id", "=", self.shared.id)], [], ["key_account_clv:sum"]
        )
        self.assertAlmostEqual(total_a, 300000.0, places=2)
        self.assertAlmostEqual(total_b, 10.0, places=2)
        # sorting: A's best customer first in A, last of the customers in B
        customers = self.shared | self.own_a | self.own_b
        by_clv_a = Partner_a.search(
            [("id", "in", customers.ids)], order="key_account_clv desc nulls last, id"
        )
        self.assertEqual(by_clv_a[0], self.shared)
        by_clv_b = Partner_b.search(
            [("id", "in", (self.shared | self.own_b).ids)],
            order="key_account_clv desc nulls last, id",
        )
        self.assertEqual(by_clv_b[-1], self.shared)

    def test_why_at_risk_per_company_in_the_readers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env_b["res.partner"].with_context(lang="zh_CN").compute_key_account_value(
            fields.Date.to_string(AS_OF), 60
        )
        shared_b = self.shared.with_env(self.env_b)
        english = shared_b.with_context(lang="en_US").key_account_churn_reason
        chinese = shared_b.with_context(lang="zh_CN").key_account_churn_reason
        self.assertTrue(english.startswith("A single order, 300 days ago; "), english)
        self.assertIn("chance of an order in the next 60 days", english)
        self.assertNotIn("single", chinese)
        self.assertTrue(chinese.endswith("。"), chinese)
        # stored as figures, not as a sentence
        data = json.loads(shared_b.key_account_churn_reason_data)
        self.assertEqual(data["code"], "pattern")
        self.assertEqual((data["orders"], data["recency"]), (1, 300))
        # company A never computed: no reason there
        self.assertFalse(self.shared.with_env(self.env_a).key_account_churn_reason)

    def test_retention_cohorts_carry_each_company_figures(self):
        self._compute(self.env_a)
        self._compute(self.env_b)
        Cohort = self.env["key.account.retention.cohort"]
        Cohort.invalidate_model()
        rows = Cohort.search_read(
            [("partner_id", "=", self.shared.id)],
            ["company_id", "rfm_segment", "churn_risk"],
        )
        seen = {
            (row["company_id"][0], row["rfm_segment"], row["churn_risk"])
            for row in rows
        }
        self.assertEqual(
            seen,
            {
                (self.company_a.id, "champion", False),
                (self.company_b.id, "hibernating", True),
            },
        )

    def test_contract_unchanged(self):
        """DESIGN.md: compute_key_account_value(as_of, horizon_days) returns
        plain data; buy probability 0-1 and expected orders on every customer
        with an order, in each company."""
        for env, customers in ((self.env_a, self.own_a), (self.env_b, self.own_b)):
            result = env["res.partner"].compute_key_account_value(
                as_of=fields.Date.to_string(AS_OF), horizon_days=60
            )
            self.assertEqual(result["as_of"], "2025-06-30")
            self.assertEqual(result["horizon_days"], 60)
            # its own customers, the shared one and the template order's customer
            self.assertEqual(result["partners"], 22)
            self.assertEqual(
                env["key.account.value.model"].browse(result["model_id"]).company_id,
                env.company,
            )
            for partner in (customers | self.shared).with_env(env):
                self.assertTrue(0.0 <= partner.key_account_buy_probability <= 1.0)
                self.assertGreaterEqual(partner.key_account_expected_orders, 0.0)
        described = self.env["res.partner"].fields_get(
            ["key_account_buy_probability", "key_account_expected_orders"], ["type"]
        )
        self.assertEqual(described["key_account_buy_probability"]["type"], "float")
        self.assertEqual(described["key_account_expected_orders"]["type"], "float")

    def test_a_company_a_user_never_reads_company_b_figures(self):
        """A key-account manager of company A only: the shared customer's
        figures are company A's; asking for company B is refused."""
        self._compute(self.env_a)
        self._compute(self.env_b)
        manager = (
            self.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Company A manager",
                    "login": "cv_company_a_manager",
                    "company_id": self.company_a.id,
                    "company_ids": [Command.set(self.company_a.ids)],
                    "groups_id": [
                        Command.link(self.env.ref("base.group_user").id),
                        Command.link(
                            self.env.ref(
                                "key_account_performance.group_key_account_manager"
                            ).id
                        ),
                    ],
                }
            )
        )
        shared = self.shared.with_user(manager).with_context(
            allowed_company_ids=[self.company_a.id]
        )
        values = shared.read(["key_account_clv", "key_account_churn_risk"])[0]
        self.assertAlmostEqual(values["key_account_clv"], 300000.0, places=2)
        self.assertFalse(values["key_account_churn_risk"])
        self.assertFalse(
            shared.search_count(
                [("id", "=", self.shared.id), ("key_account_churn_risk", "=", True)]
            )
        )
        with self.assertRaises(AccessError):
            self.shared.with_user(manager).with_context(
                allowed_company_ids=[self.company_b.id]
            ).read(["key_account_clv"])

    def test_migration_keeps_every_value_under_its_company(self):
        """The columns as they were in 18.0.1.4.0 (one value per partner,
        the churn reason a translated text) are converted without loss."""
        self._compute(self.env_a)
        self._compute(self.env_b)  # B computed last: the single values are B's
        self.env.flush_all()
        old = {
            pid: self._read(self.env_b, self.env["res.partner"].browse(pid))
            for pid in (self.shared | self.own_b[:3]).ids
        }
        cr = self.env.cr
        types = {
            "key_account_clv": "numeric",
            "key_account_clv_predictive": "numeric",
            "key_account_revenue_12m": "numeric",
            "key_account_last_order_date": "date",
            "key_account_rfm_score": "varchar",
            "key_account_rfm_segment": "varchar",
            "key_account_churn_risk": "bool",
            "key_account_buy_probability": "float8",
            "key_account_expected_orders": "float8",
            "key_account_value_date": "date",
            "key_account_value_horizon": "int4",
        }
        company_b = str(self.company_b.id)
        cr.execute("DROP VIEW key_account_retention_cohort")
        for name, sql_type in types.items():
            cr.execute(
                SQL(
                    """
                ALTER TABLE res_partner ADD COLUMN %(tmp)s %(type)s;
                UPDATE res_partner SET %(tmp)s = (%(col)s->>%(c)s)::%(type)s;
                ALTER TABLE res_partner DROP COLUMN %(col)s;
                ALTER TABLE res_partner RENAME COLUMN %(tmp)s TO %(col)s;
                """,
                    tmp=SQL.identifier(name + "_old"),
                    col=SQL.identifier(name),
                    type=SQL(sql_type),
                    c=company_b,
                )
            )
        # the translated reason of the shared partner, as 18.0.1.4.0 stored it
        cr.execute(
            SQL(
                """
            ALTER TABLE res_partner ADD COLUMN key_account_churn_reason jsonb;
            UPDATE res_partner SET key_account_churn_reason = %s::jsonb WHERE id = %s;
            ALTER TABLE res_partner DROP COLUMN key_account_churn_reason_data;
            """,
                json.dumps({"en_US": "Gone quiet.", "zh_CN": "沉寂了。"}),
                self.shared.id,
            )
        )
        spec = importlib.util.spec_from_file_location("kap_pre_cv", MIGRATION)
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
        script.migrate(cr, "18.0.1.4.0")
        self.env["key.account.retention.cohort"].init()
        self.env.invalidate_all()
        for pid, before in old.items():
            partner = self.env["res.partner"].browse(pid)
            after = self._read(self.env_b, partner)
            reason = after.pop("key_account_churn_reason")
            before.pop("key_account_churn_reason")
            if pid == self.shared.id:
                # no company of its own: kept under the company of the last run
                self.assertEqual(reason, "Gone quiet.")
            self.assertEqual(after, before, partner.name)
            # nothing appears under company A for B's own customers
            if pid != self.shared.id:
                self.assertFalse(
                    self._read(self.env_a, partner)["key_account_value_date"]
                )
        self.assertEqual(
            self.shared.with_env(self.env_b)
            .with_context(lang="zh_CN")
            .key_account_churn_reason,
            "沉寂了。",
        )
        # a second run finds nothing to do
        script.migrate(cr, "18.0.1.4.0")
        self.assertEqual(
            self._read(self.env_b)["key_account_clv"],
            old[self.shared.id]["key_account_clv"],
        )
