"""Loads the demo story (demo/key_account_demo.xml calls it through
``key.account.kpi.value._load_demo_data``; imported only then, never at
server start). The story itself, its accounts and texts: ``story.py``."""

import datetime
import logging
import random
import time

from odoo import Command

from ..tools import kpi_math
from .contacts import ContactSteps
from .reviews import ReviewSteps
from .sales import SalesSteps
from .service import ServiceSteps
from .story import (
    ACCOUNTS,
    DEMO_USER_LANGS,
    HOME_ACTION,
    MODULE,
    PAYMENT_TERM,
    PRODUCTS,
)

_logger = logging.getLogger(__name__)


def load(env):
    """Create the demo story once (a module update replays demo files)."""
    if (
        env["res.users"]
        .with_context(active_test=False)
        .search_count([("login", "=", "kap_manager")])
    ):
        return env["res.partner"]
    started = time.monotonic()
    loader = _DemoLoader(env)
    partners = loader.run()
    _logger.info(
        "key_account_performance demo data loaded in %.1f s: %s",
        time.monotonic() - started,
        ", ".join("%s %s" % (count, what) for what, count in loader.counts.items()),
    )
    return partners


class _DemoLoader(SalesSteps, ServiceSteps, ContactSteps, ReviewSteps):
    """Builds the story step by step; every step creates its records in batches."""

    def __init__(self, env):
        self.env = env
        # sales and accounting are history: no chatter, no followers, no mails
        self.quiet = env(
            context=dict(
                env.context,
                tracking_disable=True,
                mail_create_nolog=True,
                mail_notrack=True,
                mail_auto_subscribe_no_notify=True,
                no_reset_password=True,
            )
        )
        self.rng = random.Random(2024)
        self.company = env.company
        self.today = datetime.date.today()
        running = kpi_math.period_bounds(self.today, "quarter")
        self.start = kpi_math.add_months(running[0], -24)
        self.quarters = []  # the eight closed quarters, oldest first, then the running one
        period = kpi_math.period_bounds(self.start, "quarter")
        while period[0] <= self.today:
            self.quarters.append(period)
            period = kpi_math.period_bounds(
                period[1] + datetime.timedelta(days=1), "quarter"
            )
        self.counts = {}

    def ref(self, xmlid):
        return self.env.ref(xmlid)

    def run(self):
        steps = [
            ("chart of accounts", self._ensure_chart_of_accounts),
            ("languages", self._ensure_languages),
            ("users and team", self._create_team),
            ("products", self._create_products),
            ("accounts", self._create_accounts),
            ("orders", self._create_orders),
            ("invoices and payments", self._create_invoices),
            ("complaints", self._create_complaints),
            ("survey answers", self._create_survey_answers),
            ("manual KPI values", self._create_manual_values),
            ("customer contacts", self._create_contacts),
            ("KPI computation", self._compute),
            ("reviews and actions", self._create_reviews),
            ("appraisals", self._create_appraisals),
        ]
        timings = []
        for label, step in steps:
            started = time.monotonic()
            step()
            timings.append("%s %.1f s" % (label, time.monotonic() - started))
        _logger.info("key_account_performance demo data steps: %s", ", ".join(timings))
        partners = self.partners
        return partners

    # ------------------------------------------------------------------
    # Setup
    # ------------------------------------------------------------------
    def _ensure_chart_of_accounts(self):
        """Invoices need a chart of accounts. When ``account`` is installed in
        the same run as this addon, Odoo installs the generic chart only once
        every module is loaded (after this demo): install it now, as Odoo
        would, and only once."""
        if self.company.chart_template:
            return
        registry = self.env.registry
        install = getattr(registry, "_auto_install_template", None)
        if install:
            install(self.env)
            del registry._auto_install_template
        else:
            self.env["account.chart.template"].try_loading(False, self.company)
        self.company.invalidate_recordset()

    def _ensure_languages(self):
        """English and Simplified Chinese, both active: every demo user reads
        the language the README gives them (``DEMO_USER_LANGS``) and may switch
        to the other in Preferences. A database created with
        ``--load-language=zh_CN`` alone has English inactive and Chinese as
        the default language: English comes back as the default."""
        Lang = self.env["res.lang"].with_context(active_test=False)
        Lang._activate_lang("en_US")
        if "zh_CN" not in dict(Lang.get_installed()):
            zh_cn = Lang.search([("code", "=", "zh_CN")])
            # loads the terms of the installed modules; this addon's own are
            # loaded by Odoo once its install is done, for every active language
            self.env["base.language.install"].create(
                {"lang_ids": [Command.set(zh_cn.ids)]}
            ).lang_install()
        # this addon's Chinese terms now, not only once its install is done:
        # the chatter that the story's Chinese-speaking users leave names the
        # documents in their language ("大客户评审 创建"), where Odoo's
        # creation message said "Key Account Review 创建"
        if "zh_CN" in dict(Lang.get_installed()):
            self.env["ir.module.module"]._load_module_terms(
                ["key_account_performance"], ["zh_CN"]
            )
            self.env.invalidate_all()
            self.env.registry.clear_cache()
        self.env["ir.default"].set("res.partner", "lang", "en_US")
        # the administrator reads English and lands on the Key Accounts app too
        admin = self.ref("base.user_admin")
        admin.write(
            {"lang": DEMO_USER_LANGS["admin"], "action_id": self.ref(HOME_ACTION).id}
        )
        self.company.partner_id.lang = "en_US"

    def _create_team(self):
        env, ref = self.quiet, self.ref
        Users = env["res.users"]
        home = ref(HOME_ACTION)
        common = {
            "action_id": home.id,
            "tz": "Asia/Shanghai",
            "company_id": self.company.id,
            "company_ids": [Command.set(self.company.ids)],
        }
        self.manager = Users.create(
            dict(
                common,
                lang=DEMO_USER_LANGS["kap_manager"],
                name="Wang Fang",
                login="kap_manager",
                password="kap_manager",
                email="wang.fang@iotsupply.example.com",
                groups_id=[
                    Command.link(
                        ref("key_account_performance.group_key_account_manager").id
                    ),
                    Command.link(ref("sales_team.group_sale_manager").id),
                ],
            )
        )
        self.kams = Users.create(
            [
                dict(
                    common,
                    lang=DEMO_USER_LANGS[login],
                    name=name,
                    login=login,
                    password=login,
                    email=email,
                    groups_id=[
                        Command.link(
                            ref("key_account_performance.group_key_account_user").id
                        )
                    ],
                )
                for name, login, email in (
                    ("Li Wei", "kap_kam1", "li.wei@iotsupply.example.com"),
                    ("Chen Jing", "kap_kam2", "chen.jing@iotsupply.example.com"),
                )
            ]
        )
        self.team = env["crm.team"].create(
            {
                "name": "Key Accounts",
                "user_id": self.manager.id,
                "member_ids": [Command.set(self.kams.ids)],
            }
        )
        if "zh_CN" in dict(env["res.lang"].get_installed()):
            self.team.with_context(lang="zh_CN").name = "大客户团队"
        self._xmlids(
            [
                ("demo_user_kap_manager", self.manager),
                ("demo_user_kap_kam1", self.kams[0]),
                ("demo_user_kap_kam2", self.kams[1]),
                ("demo_team_key_accounts", self.team),
            ]
        )

    def _create_products(self):
        self.products = self.quiet["product.product"].create(
            [
                {
                    "name": name,
                    "list_price": price,
                    "standard_price": cost,
                    "type": kind,
                    "invoice_policy": "order",
                    "sale_ok": True,
                }
                for name, price, cost, kind, _weights in PRODUCTS
            ]
        )

    def _xmlids(self, pairs):
        self.env["ir.model.data"]._update_xmlids(
            [
                {"xml_id": "%s.%s" % (MODULE, name), "record": record, "noupdate": True}
                for name, record in pairs
            ]
        )

    def _create_accounts(self):
        env, ref = self.quiet, self.ref
        Partner = env["res.partner"]
        terms = {tier: ref(xmlid) for tier, xmlid in PAYMENT_TERM.items()}
        partners = Partner.create(
            [
                {
                    "name": spec["name"],
                    "is_company": True,
                    "city": spec["city"],
                    "country_id": ref("base.cn").id,
                    "email": "info@%s.example.com" % spec["domain"],
                    "website": "https://www.%s.example.com" % spec["domain"],
                    "key_account_tier_id": ref(
                        "%s.tier_%s" % (MODULE, spec["tier"])
                    ).id,
                    "key_account_segment_id": ref(
                        "%s.segment_%s" % (MODULE, spec["segment"])
                    ).id,
                    "key_account_manager_id": self.kams[spec["kam"] - 1].id,
                    "user_id": self.kams[spec["kam"] - 1].id,
                    "property_payment_term_id": terms[spec["tier"]].id,
                    "key_account_goal": "<p>Grow revenue by 20%% this year, keep satisfaction above "
                    "90%% and pay within terms (%s).</p>" % spec["city"],
                }
                for spec in ACCOUNTS
            ]
        )
        Partner.create(
            [
                {
                    "name": name,
                    "function": function,
                    "parent_id": partner.id,
                    "type": "contact",
                    "email": "%s@%s.example.com" % (local, spec["domain"]),
                }
                for partner, spec in zip(partners, ACCOUNTS)
                for name, function, local in spec["contacts"]
            ]
        )
        partners.invalidate_recordset(["child_ids"])
        self.accounts = list(zip(partners, ACCOUNTS))
        self.partners = partners
        self._xmlids(
            [
                ("demo_account_%s" % spec["xml"], partner)
                for partner, spec in self.accounts
            ]
        )
        self.counts["key accounts"] = len(partners)
        return partners
