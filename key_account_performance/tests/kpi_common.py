import datetime

import pytz

from odoo import Command

from .common import KeyAccountCase

# the quarters the engine suites compute (their orders fall in them)
Q1 = (datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
Q4 = (datetime.date(2024, 10, 1), datetime.date(2024, 12, 31))


class KpiCommon(KeyAccountCase):
    """Data every engine test builds itself: no demo data is relied upon."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(
            context=dict(
                cls.env.context,
                tracking_disable=True,
                mail_create_nolog=True,
                mail_notrack=True,
            )
        )
        cls.company = cls.env.company
        cls.company.partner_id.tz = "Asia/Shanghai"
        cls.currency = cls.company.currency_id
        cls.Kpi = cls.env["key.account.kpi"]
        cls.Value = cls.env["key.account.kpi.value"]
        cls.kpi = {
            code: cls.Kpi.search([("code", "=", code), ("company_id", "=", False)])
            for code in (
                "revenue",
                "order_count",
                "revenue_growth",
                "nps",
                "csat",
                "gross_margin",
                "retention",
                "churn",
                "repeat_purchase_rate",
            )
        }
        cls.kam = cls.env["res.users"].create(
            {
                "name": "Test KAM",
                "login": "kap_test_kam",
                "email": "kam@example.com",
                "groups_id": [
                    Command.link(
                        cls.env.ref("key_account_performance.group_key_account_user").id
                    )
                ],
            }
        )
        cls.tier = cls.env["key.account.tier"].create(
            {"name": "Test Tier", "sequence": 99}
        )
        cls.product = cls.env["product.product"].create(
            {
                "name": "KPI Widget",
                "list_price": 100.0,
                "standard_price": 60.0,
                "type": "consu",
            }
        )
        cls.template = cls.env["key.account.kpi.template"].create(
            {
                "name": "Engine test template",
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": cls.kpi["revenue"].id,
                            "weight": 2.0,
                            "target": 1000.0,
                            "threshold": 200.0,
                        }
                    ),
                    Command.create(
                        {
                            "kpi_id": cls.kpi["order_count"].id,
                            "weight": 1.0,
                            "target": 4.0,
                            "threshold": 0.0,
                        }
                    ),
                    Command.create(
                        {
                            "kpi_id": cls.kpi["revenue_growth"].id,
                            "weight": 1.0,
                            "target": 20.0,
                            "threshold": 0.0,
                        }
                    ),
                ],
            }
        )
        cls.partner_a = cls._make_account("Account A")
        cls.contact_a = cls.env["res.partner"].create(
            {
                "name": "Buyer of A",
                "parent_id": cls.partner_a.id,
                "email": "buyer@a.example.com",
            }
        )
        cls.partner_b = cls._make_account("Account B")

    @classmethod
    def _make_account(cls, name, template=None):
        return cls.env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "key_account_tier_id": cls.tier.id,
                "key_account_manager_id": cls.kam.id,
                "key_account_template_id": (template or cls.template).id,
            }
        )

    @classmethod
    def _local(cls, *args):
        """A naive UTC datetime for a wall-clock time in the company's timezone."""
        tz = pytz.timezone("Asia/Shanghai")
        return (
            tz.localize(datetime.datetime(*args))
            .astimezone(pytz.utc)
            .replace(tzinfo=None)
        )

    def _values(self, partner, date_from, date_to):
        values = self.Value.search(
            [
                ("partner_id", "=", partner.id),
                ("date_from", "=", date_from),
                ("date_to", "=", date_to),
            ]
        )
        return {v.kpi_id.code: v for v in values}


class KpiOrdersCommon(KpiCommon):
    """KpiCommon with the orders of the engine's run suites: A buys in Q4
    2024 and twice in Q1 2025, B once in Q1 2025."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._order(cls.partner_a, 900.0, cls._local(2024, 11, 10, 12, 0, 0))
        cls._order(cls.partner_a, 300.0, cls._local(2025, 1, 10, 12, 0, 0))
        cls._order(cls.partner_a, 700.0, cls._local(2025, 2, 10, 12, 0, 0))
        cls._order(cls.partner_b, 100.0, cls._local(2025, 3, 10, 12, 0, 0))
