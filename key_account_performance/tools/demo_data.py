"""Demo data for key_account_performance (loaded by demo/key_account_demo.xml).

A supplier of industrial IoT equipment and services in China, with a key
account team (a sales manager and two key account managers) and 32 key
accounts over the three tiers and both account types: Chinese companies under
their Chinese names, multinationals under their international names.

Dates are relative to the day of installation. The history starts on the
first day of the quarter two years before the running one, so that eight
closed quarters are complete:

- confirmed sale orders with a mild seasonality (Spring Festival dip in
  February, Golden Week in October, year-end budgets), revenue bands per tier, and three
  stories: 黄河建设集团 grows fast, Nordlicht Automotive China declines,
  Bluewave Semiconductors stopped buying seven months ago (churn risk);
- customer invoices posted once a quarter per account for the quarter's
  orders, a few credit notes, payments on Fridays (most on time, some late),
  unpaid ones for the account that stopped buying;
- NPS and CSAT answers and complaints (CRM leads tagged Complaint) in every
  quarter, manual KPI scores for every closed quarter;
- KPI values, scores and customer value computed by the engine, two review
  cycles with reviews in every state, improvement actions in every state,
  each fitting the KPI it improves.

The loader logs how long it took (target: well under a minute).
"""

import datetime
import logging
import random
import time

from odoo import Command
from odoo.tools import SQL

from . import kpi_math

_logger = logging.getLogger(__name__)

MODULE = "key_account_performance"
HOME_ACTION = "key_account_performance.action_key_account_partner"
# the language each demo user reads (README, "The demo and its users")
DEMO_USER_LANGS = {
    "admin": "en_US",
    "kap_manager": "zh_CN",
    "kap_kam1": "en_US",
    "kap_kam2": "zh_CN",
}

# Monthly seasonality of a B2B supplier in China.
SEASON = {
    1: 0.95,
    2: 0.8,
    3: 1.05,
    4: 1.0,
    5: 1.0,
    6: 1.05,
    7: 1.0,
    8: 0.95,
    9: 1.05,
    10: 0.95,
    11: 1.05,
    12: 1.15,
}
# Typical order size per tier (untaxed): the number of orders follows revenue.
ORDER_SIZE = {"strategic": 35000.0, "key": 15000.0, "growth": 6000.0}
PAYMENT_TERM = {
    "strategic": "account.account_payment_term_45days",
    "key": "account.account_payment_term_30days",
    "growth": "account.account_payment_term_30days",
}


def _account(
    xml,
    name,
    tier,
    segment,
    kam,
    revenue,
    growth,
    city,
    domain,
    contacts,
    mood=0.75,
    late=0,
    story=None,
):
    """One key account: ``revenue`` is the untaxed revenue of a quarter at the
    start of the history, ``growth`` its monthly change, ``mood`` the
    satisfaction (0-1), ``late`` the usual payment delay in days."""
    return {
        "xml": xml,
        "name": name,
        "tier": tier,
        "segment": segment,
        "kam": kam,
        "revenue": revenue,
        "growth": growth,
        "city": city,
        "domain": domain,
        "contacts": contacts,
        "mood": mood,
        "late": late,
        "story": story,
    }


D, M = "domestic", "multinational"
ACCOUNTS = [
    # -- Strategic ------------------------------------------------------------
    _account(
        "huaxin_logistics",
        "华信全球物流集团",
        "strategic",
        D,
        1,
        230000,
        0.01,
        "Shanghai",
        "huaxin-logistics",
        [
            ("周建国", "Procurement Director", "zhou.jianguo"),
            ("吴敏", "Logistics Manager", "wu.min"),
        ],
        mood=0.85,
    ),
    _account(
        "orient_pharma",
        "东方制药集团",
        "strategic",
        D,
        2,
        190000,
        0.015,
        "Guangzhou",
        "orient-pharma",
        [
            ("林晓燕", "Head of Purchasing", "lin.xiaoyan"),
            ("黄志强", "Plant Manager", "huang.zhiqiang"),
        ],
        mood=0.8,
    ),
    _account(
        "jiangnan_power",
        "江南电力集团",
        "strategic",
        D,
        1,
        160000,
        0.0,
        "Hangzhou",
        "jiangnan-power",
        [
            ("孙丽", "Procurement Manager", "sun.li"),
            ("马俊", "Chief Engineer", "ma.jun"),
        ],
        mood=0.7,
    ),
    _account(
        "alpenwerk",
        "Alpenwerk Automation (China) Co., Ltd.",
        "strategic",
        M,
        2,
        240000,
        0.01,
        "Shanghai",
        "alpenwerk-automation",
        [
            ("Markus Keller", "Regional Procurement Director", "markus.keller"),
            ("Zhang Hui", "Buyer", "zhang.hui"),
        ],
        mood=0.8,
    ),
    _account(
        "pacific_retail",
        "Pacific Rim Retail Holdings",
        "strategic",
        M,
        1,
        200000,
        0.015,
        "Shenzhen",
        "pacificrim-retail",
        [
            ("Sarah Mitchell", "Head of Store Operations", "sarah.mitchell"),
            ("Chen Yu", "IT Procurement", "chen.yu"),
        ],
        mood=0.75,
    ),
    _account(
        "meridian_pharma",
        "Meridian Pharma Asia",
        "strategic",
        M,
        2,
        170000,
        0.005,
        "Suzhou",
        "meridian-pharma",
        [
            ("Pierre Laurent", "Supply Director APAC", "pierre.laurent"),
            ("Wang Lei", "Purchasing Lead", "wang.lei"),
        ],
        mood=0.7,
    ),
    # -- Key ------------------------------------------------------------------
    _account(
        "changjiang_shipping",
        "长江航运集团",
        "key",
        D,
        2,
        110000,
        0.005,
        "Wuhan",
        "changjiang-shipping",
        [("郭涛", "Fleet Manager", "guo.tao")],
        mood=0.75,
    ),
    _account(
        "zhujiang_foods",
        "珠江食品股份有限公司",
        "key",
        D,
        1,
        90000,
        0.01,
        "Guangzhou",
        "zhujiang-foods",
        [("何静", "Purchasing Manager", "he.jing")],
        mood=0.8,
    ),
    _account(
        "taishan_steel",
        "泰山钢铁集团",
        "key",
        D,
        2,
        125000,
        -0.01,
        "Jinan",
        "taishan-steel",
        [("高峰", "Equipment Director", "gao.feng")],
        mood=0.6,
        late=20,
    ),
    _account(
        "lingnan_appliances",
        "岭南家电有限公司",
        "key",
        D,
        1,
        75000,
        0.02,
        "Foshan",
        "lingnan-appliances",
        [("罗娟", "Supply Chain Manager", "luo.juan")],
        mood=0.8,
    ),
    _account(
        "tianshan_energy",
        "天山新能源科技",
        "key",
        D,
        2,
        65000,
        0.025,
        "Urumqi",
        "tianshan-energy",
        [("赵磊", "Project Director", "zhao.lei")],
        mood=0.7,
    ),
    _account(
        "lanhai_port",
        "蓝海港口集团",
        "key",
        D,
        1,
        95000,
        0.0,
        "Qingdao",
        "lanhai-port",
        [("徐婷", "Procurement Manager", "xu.ting")],
        mood=0.75,
    ),
    _account(
        "nordlicht",
        "Nordlicht Automotive China",
        "key",
        M,
        1,
        125000,
        -0.035,
        "Suzhou",
        "nordlicht-auto",
        [
            ("Jonas Weber", "Purchasing Director", "jonas.weber"),
            ("Li Qiang", "Quality Manager", "li.qiang"),
        ],
        mood=0.8,
        late=5,
        story="declining",
    ),
    _account(
        "bluewave",
        "Bluewave Semiconductors",
        "key",
        M,
        2,
        75000,
        -0.01,
        "Wuxi",
        "bluewave-semi",
        [("Kevin Tan", "Procurement Manager", "kevin.tan")],
        mood=0.55,
        story="stopped",
    ),
    _account(
        "harbourside",
        "Harbourside Foods International",
        "key",
        M,
        2,
        85000,
        0.01,
        "Tianjin",
        "harbourside-foods",
        [("Emma Clarke", "Operations Director", "emma.clarke")],
        mood=0.8,
    ),
    _account(
        "kestrel",
        "Kestrel Aerospace Components",
        "key",
        M,
        1,
        105000,
        0.015,
        "Xi'an",
        "kestrel-aero",
        [("David Novak", "Sourcing Manager", "david.novak")],
        mood=0.75,
    ),
    _account(
        "lumen_optics",
        "Lumen Optics Asia",
        "key",
        M,
        2,
        70000,
        0.02,
        "Wuhan",
        "lumen-optics",
        [("Yuki Tanaka", "Purchasing Manager", "yuki.tanaka")],
        mood=0.85,
    ),
    _account(
        "vantage_chemicals",
        "Vantage Chemicals (Ningbo)",
        "key",
        M,
        1,
        95000,
        0.0,
        "Ningbo",
        "vantage-chem",
        [("Lars Jensen", "Plant Director", "lars.jensen")],
        mood=0.65,
    ),
    # -- Growth ---------------------------------------------------------------
    _account(
        "yellow_river",
        "黄河建设集团",
        "growth",
        D,
        1,
        26000,
        0.045,
        "Zhengzhou",
        "yellowriver-construction",
        [
            ("王建华", "Purchasing Manager", "wang.jianhua"),
            ("李娜", "Site Engineer", "li.na"),
        ],
        mood=0.6,
        story="growing",
    ),
    _account(
        "chengdu_agri",
        "成都智慧农业科技有限公司",
        "growth",
        D,
        2,
        35000,
        0.02,
        "Chengdu",
        "chengdu-smartagri",
        [("刘洋", "Operations Manager", "liu.yang")],
        mood=0.75,
    ),
    _account(
        "xihu_tea",
        "西湖茶业集团",
        "growth",
        D,
        1,
        30000,
        0.005,
        "Hangzhou",
        "xihu-tea",
        [("陈芳", "General Manager", "chen.fang")],
        mood=0.85,
    ),
    _account(
        "huizhou_materials",
        "徽州建材有限公司",
        "growth",
        D,
        2,
        40000,
        -0.005,
        "Hefei",
        "huizhou-materials",
        [("杨帆", "Procurement Manager", "yang.fan")],
        mood=0.65,
    ),
    _account(
        "xiangjiang_machinery",
        "湘江机械制造有限公司",
        "growth",
        D,
        1,
        55000,
        0.01,
        "Changsha",
        "xiangjiang-machinery",
        [("朱伟", "Technical Director", "zhu.wei")],
        mood=0.7,
    ),
    _account(
        "dianchi_bio",
        "滇池生物科技",
        "growth",
        D,
        2,
        28000,
        0.015,
        "Kunming",
        "dianchi-bio",
        [("胡晶", "Lab Manager", "hu.jing")],
        mood=0.8,
    ),
    _account(
        "longcheng_auto",
        "龙城汽车零部件有限公司",
        "growth",
        D,
        2,
        60000,
        0.0,
        "Changzhou",
        "longcheng-autoparts",
        [("谢明", "Purchasing Manager", "xie.ming")],
        mood=0.7,
    ),
    _account(
        "aurora_medical",
        "Aurora Medical Devices",
        "growth",
        M,
        1,
        45000,
        0.02,
        "Beijing",
        "aurora-medical",
        [("Hannah Schmidt", "Country Manager", "hannah.schmidt")],
        mood=0.8,
    ),
    _account(
        "crescent_textiles",
        "Crescent Textiles Asia",
        "growth",
        M,
        2,
        32000,
        -0.005,
        "Shaoxing",
        "crescent-textiles",
        [("Raj Patel", "Procurement Lead", "raj.patel")],
        mood=0.7,
    ),
    _account(
        "solstice_solar",
        "Solstice Solar Systems",
        "growth",
        M,
        2,
        50000,
        0.03,
        "Changzhou",
        "solstice-solar",
        [("Lucas Moreau", "Project Manager", "lucas.moreau")],
        mood=0.8,
    ),
    _account(
        "tidewater",
        "Tidewater Marine Equipment",
        "growth",
        M,
        1,
        38000,
        0.0,
        "Dalian",
        "tidewater-marine",
        [("Olivia Brown", "Purchasing Manager", "olivia.brown")],
        mood=0.7,
    ),
    _account(
        "orchid_cosmetics",
        "Orchid Cosmetics International",
        "growth",
        M,
        1,
        27000,
        0.01,
        "Shanghai",
        "orchid-cosmetics",
        [("Sophie Dubois", "Supply Chain Manager", "sophie.dubois")],
        mood=0.85,
    ),
    _account(
        "granite_peak",
        "Granite Peak Mining Services",
        "growth",
        M,
        2,
        65000,
        -0.015,
        "Baotou",
        "granitepeak-mining",
        [("Michael O'Connor", "Site Director", "michael.oconnor")],
        mood=0.6,
        late=25,
    ),
    _account(
        "silverline",
        "Silverline Logistics Asia",
        "growth",
        M,
        2,
        42000,
        0.01,
        "Xiamen",
        "silverline-logistics",
        [("Anna Kowalski", "Regional Manager", "anna.kowalski")],
        mood=0.75,
    ),
]

PRODUCTS = [
    # name, list price, cost, type, weight per tier (strategic, key, growth)
    ("Industrial IoT Gateway", 1200.0, 780.0, "consu", (2, 3, 3)),
    ("Smart Sensor Kit (10 pcs)", 450.0, 260.0, "consu", (1, 2, 3)),
    ("Fleet Analytics Licence (year)", 5000.0, 1500.0, "service", (3, 2, 1)),
    ("On-site Support Day", 800.0, 450.0, "service", (2, 2, 1)),
    ("Installation and Commissioning", 2500.0, 1600.0, "service", (1, 1, 1)),
]

COMPLAINTS = {
    D: [
        "交货延迟：物联网网关",
        "包装破损，传感器受潮",
        "发票与采购订单不符",
        "现场工程师未按约定时间到达",
        "软件许可证激活失败",
    ],
    M: [
        "Late delivery of the IoT gateways",
        "Damaged packaging on arrival",
        "Invoice does not match the purchase order",
        "Support engineer arrived late",
        "Licence activation failed",
    ],
}

# Improvement actions that fit each KPI: (name, expected result).
ACTION_IDEAS = {
    "revenue": [
        (
            "Quarterly business review with the buyer",
            "A three-month order forecast agreed with procurement.",
        ),
        (
            "Propose a volume framework agreement for next year",
            "Framework agreement signed; orders back above the threshold.",
        ),
    ],
    "revenue_growth": [
        (
            "Cross-sell the analytics licence to the plant managers",
            "One new licence order this quarter.",
        ),
        (
            "Present the new sensor range at the customer's innovation day",
            "Two pilot orders for the new range.",
        ),
    ],
    "order_count": [
        (
            "Agree a monthly call-off plan instead of ad-hoc orders",
            "At least one order every month.",
        )
    ],
    "repeat_purchase_rate": [
        (
            "Set up a consignment stock of spare gateways",
            "Regular monthly replenishment orders.",
        )
    ],
    "retention": [
        (
            "Executive visit to confirm next year's budget",
            "Budget for next year confirmed in writing.",
        )
    ],
    "gross_margin": [
        ("Review discount levels with the buyer", "Average discount back under 8%."),
        (
            "Shift the mix towards licences and support days",
            "Services above 30% of the order value.",
        ),
    ],
    "complaint_rate": [
        (
            "Joint delivery-quality workshop with the customer's logistics team",
            "Complaint rate back under the threshold.",
        ),
        ("Weekly shipment status e-mail", "No escalation about delivery dates."),
    ],
    "csat": [
        (
            "Satisfaction call with the operations manager",
            "Top three irritants listed and owners named.",
        )
    ],
    "nps": [
        (
            "Invite the customer to the advisory board",
            "Customer sponsor attends the next advisory board.",
        )
    ],
    "relationship_strength": [
        (
            "Introduce the regional sales director to procurement",
            "Executive sponsor named on both sides.",
        )
    ],
    "cultural_adaptability": [
        (
            "Cross-cultural briefing for the project team",
            "Fewer misunderstandings in the steering meetings.",
        )
    ],
    "compliance": [
        (
            "Share the compliance certificates (ISO 9001, export control) with procurement",
            "Supplier audit passed without findings.",
        )
    ],
    "global_coordination": [
        (
            "Align with the customer's global sourcing team at headquarters",
            "Local plants buy under the global framework contract.",
        )
    ],
    "local_influence": [
        (
            "Joint case study at the regional industry fair",
            "Two referrals from the customer's partners.",
        )
    ],
    "local_regulation": [
        (
            "Review the new provincial procurement rules with the legal team",
            "Tender documents compliant at the first submission.",
        )
    ],
    "localised_service": [
        (
            "Open a local service point with spare parts",
            "Same-day on-site support in the customer's city.",
        )
    ],
}

REVIEW_COMMENTS = [
    "<p>Solid quarter: volumes follow the plan agreed at the kick-off meeting. "
    "The buyer asked for a consolidated monthly delivery report.</p>",
    "<p>Two large orders slipped to next quarter because of the customer's budget freeze. "
    "The relationship with the new procurement director is still being built.</p>",
    "<p>Good feedback from the plant managers on the analytics licence; "
    "we agreed to present the new sensor range next quarter.</p>",
]
STORY_COMMENTS = {
    "growing": "<p>Third quarter in a row above plan: the new high-speed rail projects in Henan "
    "use our gateways on every site. Candidate for the Key tier next year.</p>",
    "declining": "<p>Orders keep falling since the customer moved part of its sourcing to a "
    "European framework contract. Complaints about late deliveries did not help.</p>",
    "stopped": "<p>No order for months: the customer chose a competitor for the new fab. "
    "Two invoices are overdue; finance is following up.</p>",
}


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


class _DemoLoader:
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

    # ------------------------------------------------------------------
    # Sales
    # ------------------------------------------------------------------
    def _months(self):
        """(index, first day) of every month of the history up to today."""
        month, index = self.start, 0
        while month <= self.today:
            yield index, month
            index += 1
            month = kpi_math.add_months(month, 1)

    def _monthly_revenue(self, spec, index, month):
        return (
            spec["revenue"] / 3.0 * SEASON[month.month] * (1 + spec["growth"]) ** index
        )

    def _stop_date(self):
        return self.today - datetime.timedelta(days=215)

    def _create_orders(self):
        rng = self.rng
        yesterday = self.today - datetime.timedelta(days=1)
        tier_index = {"strategic": 0, "key": 1, "growth": 2}
        vals_list, dates = [], []
        for partner, spec in self.accounts:
            weights = [
                product_spec[4][tier_index[spec["tier"]]] for product_spec in PRODUCTS
            ]
            days = []
            for index, month in self._months():
                expected = self._monthly_revenue(spec, index, month)
                count = max(
                    0,
                    round(
                        expected / ORDER_SIZE[spec["tier"]] * rng.uniform(0.75, 1.25)
                    ),
                )
                last_day = min(
                    yesterday,
                    kpi_math.add_months(month, 1) - datetime.timedelta(days=1),
                )
                if last_day < month:
                    continue
                for _n in range(count):
                    day = month + datetime.timedelta(
                        days=rng.randint(0, (last_day - month).days)
                    )
                    days.append((day, expected / count * rng.uniform(0.85, 1.15)))
            if spec["story"] == "stopped":
                days = [
                    (day, amount) for day, amount in days if day <= self._stop_date()
                ]
            elif not any(
                day >= self.today - datetime.timedelta(days=40) for day, _a in days
            ):
                # every account still buying ordered in the last weeks (no false churn risk)
                days.append(
                    (
                        self.today - datetime.timedelta(days=rng.randint(3, 35)),
                        ORDER_SIZE[spec["tier"]] * rng.uniform(0.6, 1.2),
                    )
                )
            for day, amount in sorted(days):
                products = rng.choices(
                    self.products, weights=weights, k=rng.choice((1, 1, 1, 1, 2))
                )
                lines = {}
                for product in products:
                    lines[product] = lines.get(product, 0) + max(
                        1, round(amount / len(products) / product.list_price)
                    )
                contacts = partner.child_ids
                customer = (
                    contacts[rng.randrange(len(contacts))]
                    if rng.random() < 0.3
                    else partner
                )
                moment = datetime.datetime.combine(
                    day,
                    datetime.time(rng.randint(1, 9), rng.choice((0, 15, 30, 45))),
                )
                vals_list.append(
                    {
                        "partner_id": customer.id,
                        "partner_invoice_id": partner.id,
                        "user_id": partner.key_account_manager_id.id,
                        "team_id": self.team.id,
                        # history: created confirmed on their day, in one batch
                        # (action_confirm would only subscribe the customer to
                        # each order's chatter and date the orders today)
                        "state": "sale",
                        "date_order": moment,
                        "order_line": [
                            Command.create(
                                {"product_id": product.id, "product_uom_qty": qty}
                            )
                            for product, qty in lines.items()
                        ],
                    }
                )
                dates.append(moment)
        # (no "Extra line" note in the chatter for lines created confirmed)
        orders = (
            self.quiet["sale.order"]
            .with_context(sale_no_log_for_new_lines=True)
            .create(vals_list)
        )
        self.env.flush_all()  # the orders' computed fields, timed with this step
        self.order_dates = dict(zip(orders.ids, (d.date() for d in dates)))
        self.orders = orders
        self.counts["confirmed orders"] = len(orders)
        return orders

    # ------------------------------------------------------------------
    # Invoicing
    # ------------------------------------------------------------------
    def _create_invoices(self):
        """Statements: one invoice a quarter (按季度结算) per account, on the
        quarter's last day, for all the quarter's orders; the running quarter
        is not invoiced yet."""
        env, rng = self.quiet, self.rng
        groups = {}  # (statement day, customer) -> orders, in order
        for order in self.orders:
            run = kpi_math.period_bounds(self.order_dates[order.id], "quarter")[1]
            if run < self.today:
                groups.setdefault((run, order.partner_invoice_id.id), []).append(order)
        # The invoices are built as sale's _create_invoices() builds them
        # (_prepare_invoice, _prepare_invoice_line), all in one create(); the
        # link to the order lines is written once the invoices are paid (see
        # _link_invoices_to_orders).
        vals_list, self.invoiced_sale_lines = [], []
        for (run, _partner_id), orders in sorted(groups.items()):
            vals = orders[0]._prepare_invoice()
            lines, sale_line_ids = [], []
            for order in orders:
                for line in order.order_line:
                    line_vals = line._prepare_invoice_line(sequence=len(lines) + 1)
                    line_vals.pop("sale_line_ids", None)
                    lines.append(Command.create(line_vals))
                    sale_line_ids.append(line.id)
            vals.update(
                invoice_date=run,
                invoice_origin=", ".join(order.name for order in orders),
                invoice_line_ids=lines,
            )
            vals_list.append(vals)
            self.invoiced_sale_lines.append(sale_line_ids)
        invoices = env["account.move"].create(vals_list)
        invoices.action_post()
        self.counts["posted invoices"] = len(invoices)

        # a few credit notes: penalties for late deliveries (three for the declining account)
        spec_of = {partner.id: spec for partner, spec in self.accounts}
        eligible = invoices.filtered(
            lambda m: m.invoice_date < self.today - datetime.timedelta(days=60)
        )
        declining = eligible.filtered(
            lambda m: spec_of[m.commercial_partner_id.id]["story"] == "declining"
        )
        others = eligible - declining
        refunded = declining.browse(declining.ids[-6::2]) | others.browse(
            rng.sample(others.ids, 3)
        )
        refunds = env["account.move"].create(
            [
                {
                    "move_type": "out_refund",
                    "partner_id": invoice.partner_id.id,
                    "invoice_date": invoice.invoice_date
                    + datetime.timedelta(days=rng.randint(10, 25)),
                    "reversed_entry_id": invoice.id,
                    "ref": "Late delivery penalty (%s)" % invoice.name,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": line.product_id.id,
                                "name": "Late delivery penalty (%s)" % invoice.name,
                                "quantity": 1,
                                "price_unit": round(
                                    invoice.amount_untaxed * rng.uniform(0.05, 0.12)
                                ),
                                "tax_ids": [Command.set(line.tax_ids.ids)],
                            }
                        )
                    ],
                }
                for invoice in refunded
                for line in invoice.invoice_line_ids[:1]
            ]
        )
        refunds.action_post()
        self.counts["credit notes"] = len(refunds)
        self._register_payments(invoices)
        self._link_invoices_to_orders(invoices)

    def _link_invoices_to_orders(self, invoices):
        """The invoice lines' link to their order lines (what _create_invoices()
        writes), written after the payments so that sale's paid hook does not
        post an "Invoice paid" note on each of the ~2,000 orders' chatter; then
        the invoiced quantities and statuses of the orders are recomputed."""
        invoice_line_ids, sale_line_ids = [], []
        for invoice, line_ids in zip(invoices, self.invoiced_sale_lines):
            product_lines = invoice.invoice_line_ids.sorted("id")
            assert len(product_lines) == len(line_ids), invoice.name
            invoice_line_ids.extend(product_lines.ids)
            sale_line_ids.extend(line_ids)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO sale_order_line_invoice_rel (invoice_line_id, order_line_id)
            SELECT * FROM unnest(%s::int[], %s::int[])
        """,
                invoice_line_ids,
                sale_line_ids,
            )
        )
        invoice_lines = self.env["account.move.line"].browse(invoice_line_ids)
        sale_lines = self.env["sale.order.line"].browse(sale_line_ids)
        invoice_lines.invalidate_recordset(["sale_line_ids"])
        sale_lines.invalidate_recordset(["invoice_lines"])
        invoice_lines.modified(["sale_line_ids"])
        sale_lines.modified(["invoice_lines"])
        self.env.flush_all()

    def _payment_day(self, invoice, spec):
        """When the customer pays: on a Friday, before the due date for good
        payers, after it for late ones (the declining account later and later)."""
        rng = self.rng
        due = invoice.invoice_date_due
        if spec["story"] == "declining":
            months = (invoice.invoice_date - self.start).days / 30.0
            delay = spec["late"] + months * 1.5 + rng.uniform(-5, 8)
        elif spec["late"]:
            delay = rng.uniform(spec["late"] - 10, spec["late"] + 15)
        elif rng.random() < 0.04:
            delay = rng.uniform(8, 30)  # the odd late payment
        else:
            delay = rng.uniform(-10, 0)
        day = due + datetime.timedelta(days=round(delay))
        if day <= due:  # the Friday before
            day -= datetime.timedelta(days=(day.weekday() - 4) % 7)
        else:  # the Friday after
            day += datetime.timedelta(days=(4 - day.weekday()) % 7)
        return max(day, invoice.invoice_date)

    def _register_payments(self, invoices):
        """Payments of the last two months are registered with the Register
        Payment wizard (they wait for the bank statement: *In payment*); older
        ones are booked from the bank statement, one bank entry per day,
        matched with the invoices (*Paid*)."""
        env = self.quiet
        spec_of = {partner.id: spec for partner, spec in self.accounts}
        stopped_unpaid = invoices.filtered(
            lambda m: spec_of[m.commercial_partner_id.id]["story"] == "stopped"
        ).sorted("invoice_date")[
            -2:
        ]  # the account that stopped buying stopped paying too
        by_day = {}
        for invoice in invoices - stopped_unpaid:
            day = self._payment_day(invoice, spec_of[invoice.commercial_partner_id.id])
            if day < self.today:
                by_day.setdefault(day, env["account.move"])
                by_day[day] |= invoice
        recent = self.today - datetime.timedelta(days=60)
        late = 0
        for day, moves in by_day.items():
            late += len(moves.filtered(lambda m: m.invoice_date_due < day))
        # recent payments: the wizard, one payment per customer and day
        Register = env["account.payment.register"]
        payments = env["account.payment"]
        for day, moves in sorted(by_day.items()):
            if day >= recent:
                payments |= (
                    Register.with_context(
                        active_model="account.move", active_ids=moves.ids
                    )
                    .create({"payment_date": day, "group_payment": True})
                    ._create_payments()
                )
        # older payments: bank entries matched with the invoices, reconciled in one batch
        bank = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.company.id)], limit=1
        )
        entry_vals, receivables = [], []
        for day, moves in sorted(by_day.items()):
            if day >= recent:
                continue
            lines = moves.line_ids.filtered(
                lambda ln: ln.account_id.account_type == "asset_receivable"
            )
            receivables.append(lines)
            entry_vals.append(
                {
                    "move_type": "entry",
                    "journal_id": bank.id,
                    "date": day,
                    "ref": "Customer payments %s" % day,
                    "line_ids": [
                        Command.create(
                            {
                                "account_id": line.account_id.id,
                                "partner_id": line.partner_id.id,
                                "credit": line.debit,
                                "name": "Payment of %s" % line.move_id.name,
                            }
                        )
                        for line in lines
                    ]
                    + [
                        Command.create(
                            {
                                "account_id": bank.default_account_id.id,
                                "debit": sum(lines.mapped("debit")),
                                "name": "Customer payments %s" % day,
                            }
                        )
                    ],
                }
            )
        entries = env["account.move"].create(entry_vals)
        entries.action_post()
        plan = []
        for lines, entry in zip(receivables, entries):
            credits = entry.line_ids.filtered(
                lambda ln: ln.account_id.account_type == "asset_receivable"
            )
            plan.extend(line | credit for line, credit in zip(lines, credits))
        env["account.move.line"]._reconcile_plan(plan)
        self.counts["payments"] = len(payments) + len(plan)
        self.counts["invoices paid late"] = late

    # ------------------------------------------------------------------
    # Service and satisfaction
    # ------------------------------------------------------------------
    def _mood(self, spec, day):
        months = (day - self.start).days / 30.0
        mood = spec["mood"]
        if spec["story"] == "growing":
            mood += 0.012 * months
        elif spec["story"] == "declining":
            mood -= 0.016 * months
        elif spec["story"] == "stopped":
            mood -= 0.01 * months
        return min(1.0, max(0.05, mood + self.rng.gauss(0, 0.03)))

    def _random_moment(self, date_from, date_to):
        date_to = min(date_to, self.today - datetime.timedelta(days=1))
        day = date_from + datetime.timedelta(
            days=self.rng.randint(0, max(0, (date_to - date_from).days))
        )
        return datetime.datetime.combine(
            day, datetime.time(self.rng.randint(1, 9), self.rng.randint(0, 59))
        )

    def _create_complaints(self):
        env, rng = self.quiet, self.rng
        tag = env["crm.tag"].search([("name", "=ilike", "complaint")], limit=1) or env[
            "crm.tag"
        ].create({"name": "Complaint"})
        won_stage = env["crm.stage"].search([("is_won", "=", True)], limit=1)
        rows = []  # (vals, created, opened, closed)
        for date_from, date_to in self.quarters:
            quarter_rows = []
            for partner, spec in self.accounts:
                if spec["story"] == "stopped" and date_from > self._stop_date():
                    continue
                months = (date_from - self.start).days / 30.0
                rate = (
                    0.1
                    + (0.4 + 0.05 * months if spec["story"] == "declining" else 0.0)
                    + (0.15 if spec["mood"] < 0.65 else 0.0)
                )
                count = sum(1 for _i in range(3) if rng.random() < rate / 3)
                for _i in range(count):
                    quarter_rows.append((partner, spec))
            if not quarter_rows:  # every quarter has complaints
                quarter_rows.append(self.accounts[rng.randrange(len(self.accounts))])
            for partner, spec in quarter_rows:
                created = self._random_moment(date_from, date_to)
                opened = created + datetime.timedelta(hours=rng.uniform(0.5, 30))
                closed = created + datetime.timedelta(hours=rng.uniform(12, 240))
                if closed.date() >= self.today:
                    closed = None
                subject = rng.choice(COMPLAINTS[spec["segment"]])
                rows.append(
                    (
                        {
                            "name": "%s – %s" % (subject, partner.name),
                            "type": "opportunity",
                            "partner_id": partner.id,
                            "email_from": partner.email,
                            "user_id": partner.key_account_manager_id.id,
                            "team_id": self.team.id,
                            "tag_ids": [Command.set(tag.ids)],
                            "expected_revenue": 0.0,
                            "stage_id": won_stage.id if closed and won_stage else False,
                        },
                        created,
                        opened,
                        closed,
                    )
                )
        vals_list = []
        for vals, *_dates in rows:
            if not vals["stage_id"]:
                del vals["stage_id"]
            vals_list.append(vals)
        leads = env["crm.lead"].create(vals_list)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE crm_lead l SET create_date = x.c, date_open = x.o, date_closed = x.d,
                   date_last_stage_update = COALESCE(x.d, x.c)
              FROM unnest(%s::int[], %s::timestamp[], %s::timestamp[], %s::timestamp[])
                   AS x(id, c, o, d)
             WHERE l.id = x.id
        """,
                leads.ids,
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            )
        )
        leads.invalidate_recordset()
        self.counts["complaints"] = len(leads)

    def _create_survey_answers(self):
        env, rng, ref = self.quiet, self.rng, self.ref
        nps = ref("%s.survey_nps_question" % MODULE)
        csat = ref("%s.survey_csat_question" % MODULE)
        answer_rate = {"strategic": 1.0, "key": 0.9, "growth": 0.75}
        vals_list, moments = [], []
        for date_from, date_to in self.quarters:
            for partner, spec in self.accounts:
                if spec["story"] == "stopped" and date_from > self._stop_date():
                    continue
                for contact in partner.child_ids:
                    if rng.random() > answer_rate[spec["tier"]]:
                        continue
                    # sent after the quarterly business review, in the quarter's last two months
                    moment = self._random_moment(
                        kpi_math.add_months(date_from, 1), date_to
                    )
                    if moment.date() < date_from:
                        continue
                    mood = self._mood(spec, moment.date())
                    scores = (
                        (nps, min(10, max(0, round(10 * mood + rng.gauss(0.8, 0.7))))),
                        (
                            csat,
                            min(5, max(1, round(1 + 4 * mood + rng.gauss(0.2, 0.4)))),
                        ),
                    )
                    for question, value in scores:
                        vals_list.append(
                            {
                                "survey_id": question.survey_id.id,
                                "partner_id": contact.id,
                                "email": contact.email,
                                "state": "done",
                                "end_datetime": moment,
                                "user_input_line_ids": [
                                    Command.create(
                                        {
                                            "question_id": question.id,
                                            "answer_type": "scale",
                                            "value_scale": value,
                                            "skipped": False,
                                        }
                                    )
                                ],
                            }
                        )
                        moments.append(moment)
        answers = env["survey.user_input"].create(vals_list)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE survey_user_input i SET create_date = x.d, start_datetime = x.d
              FROM unnest(%s::int[], %s::timestamp[]) AS x(id, d)
             WHERE i.id = x.id
        """,
                answers.ids,
                moments,
            )
        )
        answers.invalidate_recordset()
        self.counts["survey answers"] = len(answers)

    def _create_manual_values(self):
        """The KAMs' own assessment (1-5) of every closed quarter."""
        env, rng = self.env, self.rng
        Template = env["key.account.kpi.template"]
        templates = Template._resolve_for_partners(self.partners, self.company)
        vals_list = []
        for date_from, date_to in self.quarters[:-1]:
            for partner, spec in self.accounts:
                mood = self._mood(spec, date_to)
                for line in templates[partner.id].line_ids:
                    if line.kpi_id.computation_mode != "manual":
                        continue
                    value = min(
                        5.0,
                        max(1.0, round((1 + 4 * mood + rng.gauss(0, 0.25)) * 2) / 2),
                    )
                    vals_list.append(
                        {
                            "partner_id": partner.id,
                            "kpi_id": line.kpi_id.id,
                            "date_from": date_from,
                            "date_to": date_to,
                            "value": value,
                            "target": line.target,
                            "threshold": line.threshold,
                            "weight": line.weight,
                            "is_manual": True,
                            "company_id": self.company.id,
                        }
                    )
        env["key.account.kpi.value"].create(vals_list)

    # ------------------------------------------------------------------
    # Engine
    # ------------------------------------------------------------------
    def _compute(self):
        """KPI values, scores and score history of every quarter, oldest first
        (so that trends and early warnings follow the story), then customer value."""
        Value = self.env["key.account.kpi.value"]
        for date_from, date_to in self.quarters:
            Value.compute_for_period(date_from, date_to, self.partners.ids)
        Partner = self.env["res.partner"]
        if hasattr(Partner, "compute_key_account_value"):
            self.partners.compute_key_account_value()
        else:
            self.partners._compute_key_account_customer_value(self.company)

    # ------------------------------------------------------------------
    # Reviews and improvement actions
    # ------------------------------------------------------------------
    def _fill(self, review, complete=True):
        """As the KAM: manual values (where missing) and a comment."""
        rng = self.rng
        review = review.with_user(review.user_id)
        if complete:
            for line in review.line_ids.filtered(
                lambda ln: ln.is_manual and not ln.has_value
            ):
                line.write(
                    {"value": round(rng.uniform(2.5, 4.5) * 2) / 2, "has_value": True}
                )
        story = self.story_of.get(review.partner_id.id)
        review.comment = STORY_COMMENTS.get(story) or rng.choice(REVIEW_COMMENTS)
        return review

    def _actions_from(self, review, count):
        """Improvement actions for the review's weakest KPIs that have a fitting action."""
        Action = self.env["key.account.improvement.action"]
        # chosen as superuser, in one read (as the KAM, every line would be
        # read on its own, through the record rules); created as the KAM below
        lines = review.sudo().line_ids
        lines.fetch(["status", "kpi_id"])
        lines = lines.filtered(
            lambda ln: (
                ln.status in ("alert", "watch") and ln.kpi_id.code in ACTION_IDEAS
            )
        ).with_env(review.env)
        # alerts first, a different KPI from one account to the next
        lines = lines.browse(self.rng.sample(lines.ids, len(lines)))
        lines = lines.sorted(lambda ln: ln.status != "alert")[:count]
        created = Action
        for line in lines:
            name, expected = self.rng.choice(ACTION_IDEAS[line.kpi_id.code])
            user = review.user_id
            action = Action.browse(
                line.with_user(user).action_create_improvement_action()["res_id"]
            )
            action.with_user(user).write(
                {
                    "name": name,
                    "expected_result": expected,
                    "date_deadline": review.date_to
                    + datetime.timedelta(days=self.rng.randint(30, 80)),
                }
            )
            created |= action
        return created

    def _create_reviews(self):
        """The quarter before last: every review approved, its actions carried
        out. The last closed quarter: reviews in every state, actions in every state."""
        rng, leader = self.rng, self.manager
        self.story_of = {
            partner.id: spec["story"]
            for partner, spec in self.accounts
            if spec["story"]
        }
        Cycle = self.env["key.account.review.cycle"].with_user(leader)
        last, before = self.quarters[-2], self.quarters[-3]

        cycle_before = Cycle.create(
            {"period_type": "quarter", "date_from": before[0], "date_to": before[1]}
        )
        cycle_before.action_generate_reviews()
        old_actions = self.env["key.account.improvement.action"]
        for review in cycle_before.review_ids.sorted("id"):
            self._fill(review).action_submit()
            review.with_user(leader).action_approve()
            old_actions |= self._actions_from(review, 1)
        for index, action in enumerate(old_actions):
            action = action.with_user(action.user_id)
            if index % 5 == 4:
                action.action_cancel()
            else:
                action.action_start()
                action.action_done()
        cycle_before.action_close()

        cycle = Cycle.create(
            {"period_type": "quarter", "date_from": last[0], "date_to": last[1]}
        )
        cycle.action_generate_reviews()
        pattern = [
            "approved",
            "draft",
            "submitted",
            "approved",
            "draft",
            "rejected",
            "approved",
            "submitted",
            "draft",
            "approved",
        ]
        story_state = {
            "growing": "approved",
            "declining": "rejected",
            "stopped": "submitted",
        }
        states = {}
        others = 0
        for review in cycle.review_ids.sorted(lambda r: r.partner_id.id):
            story = self.story_of.get(review.partner_id.id)
            if story:
                states[review] = story_state[story]
            else:
                states[review] = pattern[others % len(pattern)]
                others += 1
        new_actions = self.env["key.account.improvement.action"]
        self.external_factor_line = self.env["key.account.review.line"]
        for review, state in states.items():
            if state == "draft":
                if rng.random() < 0.5:
                    self._fill(review, complete=False)
                continue
            review = self._fill(review)
            if state == "approved" and not self.external_factor_line:
                self._mark_external_factor(review)
            review.action_submit()
            if state == "approved":
                review.with_user(leader).action_approve()
            elif state == "rejected":
                review.with_user(leader).action_reject(
                    reason="Please back the relationship score with the minutes of the last "
                    "steering meeting, and explain the drop in orders."
                )
            if state in ("approved", "rejected"):
                new_actions |= self._actions_from(review, 2)
        self._move_actions(new_actions)
        self.env["key.account.improvement.action"]._cron_remind_overdue()
        self.counts["reviews"] = len(cycle_before.review_ids) + len(cycle.review_ids)
        self.counts["improvement actions"] = len(old_actions) + len(new_actions)

    def _mark_external_factor(self, review):
        """The story's external factor: the KAM of a review that will be
        approved marks its weakest computed KPI as hit by a competitor's
        price war; the approval accepts it, so the KPI stays in the
        account's score but not in the KAM's appraisal."""
        weakest = review.line_ids.filtered(
            lambda ln: ln.has_value and not ln.is_manual and ln.score < 50
        ).sorted("score")[:1]
        if weakest:
            weakest.write(
                {
                    "external_factor": True,
                    "external_factor_reason": "competitor",
                    "external_factor_note": "A competitor's price war in the region cut "
                    "every supplier's orders this quarter; the customer's own demand held.",
                }
            )
            self.external_factor_line = weakest

    def _create_appraisals(self):
        """The appraisals of the two reviewed quarters: the older ones
        approved by the team leader, the last quarter's computed as drafts
        (one submitted), so that My Appraisal and the team ranking tell the
        story: one KAM's score saved by an accepted external factor."""
        Appraisal = self.env["key.account.appraisal"].with_user(self.manager)
        last, before = self.quarters[-2], self.quarters[-3]
        older = Appraisal.browse(Appraisal.compute_appraisals(*before))
        for appraisal in older:
            appraisal.with_user(appraisal.user_id).action_submit()
            appraisal.action_approve()
        current = Appraisal.browse(Appraisal.compute_appraisals(*last))
        # the one who needs coaching: the leader plans it on their weakest KPIs
        weakest = current.sorted(lambda a: (a.score, a.id))[:1]
        if weakest:
            plan = weakest.with_user(self.manager).action_plan_coaching()["context"]
            weakest.with_user(self.manager).activity_schedule(
                activity_type_id=plan["default_activity_type_id"],
                user_id=weakest.user_id.id,
                summary=plan["default_summary"],
                note=plan["default_note"],
            )
        for appraisal in (current - weakest).sorted("id")[:1]:
            appraisal.with_user(appraisal.user_id).action_submit()
        self.counts["appraisals"] = len(older) + len(current)

    def _move_actions(self, actions):
        """Actions of the last quarter in every state, one of them overdue."""
        action_states = [
            "todo",
            "in_progress",
            "todo",
            "done",
            "in_progress",
            "cancelled",
        ]
        for index, action in enumerate(actions):
            action = action.with_user(action.user_id)
            state = action_states[index % len(action_states)]
            if index == 0:  # one overdue, reminded by the scheduled action
                action.date_deadline = self.today - datetime.timedelta(days=5)
            if state in ("in_progress", "done"):
                action.action_start()
            if state == "done":
                action.action_done()
            elif state == "cancelled":
                action.action_cancel()
