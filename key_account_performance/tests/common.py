"""Shared data of the review, improvement-action and early-warning tests.

Everything is built here (no demo data): a company of its own (the demo
company may already hold review cycles for the same periods), users for each
role, a sales team, a KPI template with two computed KPIs and one manual KPI,
two key accounts with orders in the last closed quarter and the quarter
before.
"""

import datetime
import subprocess

from odoo import Command, fields, http
from odoo.tests import TransactionCase

from ..tools import kpi_math


def pdf_text(pdf, layout=False):
    """The text of a PDF as ``pdftotext`` (poppler-utils) extracts it."""
    command = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), "-", "-"]
    return subprocess.run(
        command, input=pdf, check=True, capture_output=True
    ).stdout.decode()


def warm_http_statics():
    """Read every module's manifest for the HTTP server now, in this thread.

    wkhtmltopdf fetches a report's CSS bundles over HTTP in parallel; the
    first static request makes each server thread read all manifests
    (``odoo.http.root.statics``, computed lazily), and CPython 3.11's AST
    parser is not safe when two threads parse at once (gh-106905:
    "SystemError: AST constructor recursion depth mismatch", a 500 on one
    bundle and an ERROR in the log). Reading them once beforehand leaves the
    threads nothing to parse.
    """
    return http.root.statics


class KeyAccountCase(TransactionCase):
    """The one base class of the addon's tests: the builders every suite
    uses. Each suite's fixtures (``KpiCommon``, ``ReviewCommon`` and the
    classes built on it, ``CustomerValueCommon``) derive from it."""

    @staticmethod
    def _day(period, offset):
        """Noon of the ``offset``-th day of a period (UTC)."""
        day = period[0] + datetime.timedelta(days=offset)
        return datetime.datetime.combine(day, datetime.time(12, 0))

    @classmethod
    def _order(cls, partner, amount, when, pricelist=None, confirm=True):
        """A sale order of ``amount`` (one line of ``cls.product``, no tax)
        dated ``when``; confirmed unless asked otherwise."""
        vals = {
            "partner_id": partner.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": cls.product.id,
                        "product_uom_qty": 1,
                        "price_unit": amount,
                        "tax_id": [Command.clear()],
                    }
                )
            ],
        }
        if pricelist:
            vals["pricelist_id"] = pricelist.id
        order = cls.env["sale.order"].create(vals)
        if confirm:
            order.action_confirm()
        order.date_order = when  # action_confirm() sets date_order to now
        return order


class ReviewCommon(KeyAccountCase):
    @classmethod
    def _new_user(cls, login, name, group="group_key_account_user"):
        """A user of the test company in one of the addon's groups (or in
        the group of that full external id)."""
        return cls.env["res.users"].create(
            {
                "name": name,
                "login": login,
                "email": "%s@example.com" % login,
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [
                    Command.link(
                        cls.env.ref(
                            group
                            if "." in group
                            else "key_account_performance.%s" % group
                        ).id
                    )
                ],
            }
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "Review Test Company"})
        cls.env.user.company_ids = [Command.link(cls.company.id)]
        cls.env = cls.env(
            context=dict(
                cls.env.context,
                mail_create_nolog=True,
                no_reset_password=True,
                allowed_company_ids=[cls.company.id],
            )
        )
        # shared key accounts (no company) would join this company's cycles
        cls.env["res.partner"].search(
            [("is_key_account", "=", True), ("company_id", "=", False)]
        ).write({"company_id": cls.env.ref("base.main_company").id})
        cls.company.partner_id.tz = "UTC"
        cls.company.key_account_period_type = "quarter"
        cls.company.key_account_score_drop_step = 10.0
        # The periods are relative to today: P is the last closed quarter,
        # P0 the one before, N the running quarter.
        cls.today = fields.Date.context_today(
            cls.env["res.partner"].with_context(tz="UTC")
        )
        cls.P = kpi_math.last_closed_period(cls.today, "quarter")
        cls.P0 = kpi_math.previous_period(*cls.P)
        cls.N = kpi_math.period_bounds(cls.today, "quarter")

        user = cls._new_user

        cls.kam = user("kap_rt_kam", "Review KAM", "group_key_account_user")
        cls.kam2 = user("kap_rt_kam2", "Review KAM 2", "group_key_account_user")
        cls.leader = user(
            "kap_rt_leader", "Review Team Leader", "group_key_account_manager"
        )
        cls.manager = user(
            "kap_rt_manager", "Review Manager", "group_key_account_manager"
        )
        cls.admin = user("kap_rt_admin", "Review Admin", "group_key_account_admin")
        # the manager is a member of the KAM's team (sees its accounts) but not its leader
        cls.team = cls.env["crm.team"].create(
            {
                "name": "Review test team",
                "user_id": cls.leader.id,
                "member_ids": [Command.set((cls.kam | cls.manager).ids)],
            }
        )

        Kpi = cls.env["key.account.kpi"]
        cls.kpi_revenue = Kpi.search(
            [("code", "=", "revenue"), ("company_id", "=", False)]
        )
        cls.kpi_orders = Kpi.search(
            [("code", "=", "order_count"), ("company_id", "=", False)]
        )
        cls.kpi_manual = Kpi.create(
            {
                "name": "Relationship (review test)",
                "code": "t_rv_relationship",
                "computation_mode": "manual",
                "target": 5.0,
                "threshold": 1.0,
                "unit": "/5",
            }
        )
        cls.template = cls.env["key.account.kpi.template"].create(
            {
                "name": "Review test template",
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": cls.kpi_revenue.id,
                            "sequence": 1,
                            "weight": 2.0,
                            "target": 1000.0,
                            "threshold": 200.0,
                        }
                    ),
                    Command.create(
                        {
                            "kpi_id": cls.kpi_orders.id,
                            "sequence": 2,
                            "weight": 1.0,
                            "target": 4.0,
                            "threshold": 0.0,
                        }
                    ),
                    Command.create(
                        {
                            "kpi_id": cls.kpi_manual.id,
                            "sequence": 3,
                            "weight": 1.0,
                            "target": 5.0,
                            "threshold": 1.0,
                        }
                    ),
                ],
            }
        )
        cls.tier = cls.env["key.account.tier"].create(
            {"name": "Review test tier", "sequence": 98}
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Review Widget", "list_price": 100.0, "type": "consu"}
        )
        cls.partner_a = cls._make_account("Review Account A", cls.kam)
        cls.partner_b = cls._make_account("Review Account B", cls.kam2)
        # A: 2 orders of 300 in P (revenue 600: between threshold and target),
        #    1 order of 1200 in P0
        # B: 1 order of 100 in P (revenue beyond threshold)
        cls._order(cls.partner_a, 300.0, cls._day(cls.P, 10))
        cls._order(cls.partner_a, 300.0, cls._day(cls.P, 40))
        cls._order(cls.partner_a, 1200.0, cls._day(cls.P0, 20))
        cls._order(cls.partner_b, 100.0, cls._day(cls.P, 15))

    # ------------------------------------------------------------------
    # Builders
    # ------------------------------------------------------------------
    @classmethod
    def _make_account(cls, name, kam):
        return cls.env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "company_id": cls.company.id,
                "email": "%s@example.com" % name.split()[-1].lower(),
                "key_account_tier_id": cls.tier.id,
                "key_account_manager_id": kam.id,
                "key_account_template_id": cls.template.id,
            }
        )

    @classmethod
    def _cycle(cls, period=None):
        period = period or cls.P
        return cls.env["key.account.review.cycle"].create(
            {"period_type": "quarter", "date_from": period[0], "date_to": period[1]}
        )

    @classmethod
    def _generate_cycle(cls):
        """The cycle of the last closed quarter with its generated reviews,
        kept as ``cls.cycle``, ``cls.review_a`` and ``cls.review_b``."""
        cls.cycle = cls._cycle()
        cls.cycle.action_generate_reviews()
        reviews = cls.env["key.account.review"].search(
            [("cycle_id", "=", cls.cycle.id)]
        )
        cls.review_a = reviews.filtered(lambda r: r.partner_id == cls.partner_a)
        cls.review_b = reviews.filtered(lambda r: r.partner_id == cls.partner_b)
        return cls.cycle

    @classmethod
    def _approve_review_a_with_external_factor(cls, note):
        """The last closed quarter's cycle; review A's revenue marked by its
        KAM as hit by a competitor (``note``), submitted and approved by the
        team leader (the factor accepted); the quarter's appraisals computed."""
        cls._generate_cycle()
        review = cls.review_a.with_user(cls.kam)
        review.line_ids.filtered(lambda ln: ln.kpi_id == cls.kpi_revenue).write(
            {
                "external_factor": True,
                "external_factor_reason": "competitor",
                "external_factor_note": note,
            }
        )
        review.line_ids.filtered(lambda ln: ln.kpi_id == cls.kpi_manual).write(
            {"value": 4.0}
        )
        review.action_submit()
        cls.review_a.with_user(cls.leader).action_approve()
        cls.env["key.account.appraisal"].compute_appraisals(
            str(cls.P[0]), str(cls.P[1])
        )

    def _reviews(self, cycle):
        """{partner: review} of a cycle, as the cycle's user sees them."""
        reviews = cycle.env["key.account.review"].search([("cycle_id", "=", cycle.id)])
        return {review.partner_id: review for review in reviews}

    def _line(self, review, kpi):
        return review.line_ids.filtered(lambda line: line.kpi_id == kpi)

    def _activities(self, record, xmlid):
        return (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", record._name),
                    ("res_id", "=", record.id),
                    ("activity_type_id", "=", self.env.ref(xmlid).id),
                ]
            )
        )

    def _fill_and_submit(self, review, value=4.0):
        """As the review's user: enter the manual KPI, then submit."""
        self._line(review, self.kpi_manual).write({"value": value})
        review.action_submit()
        return review
