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
  stories: 黄河建设集团 grows fast, Nordlicht Automotive China declines
  and lost a third of its orders in the last closed quarter, Bluewave
  Semiconductors stopped buying when that quarter began (churn risk); the
  other accounts are healthy, so that an early warning means something;
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

import logging

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

# Monthly seasonality of a B2B supplier in China: the Spring Festival dip in
# February, Golden Week in October and year-end budgets move revenue between
# the months of a quarter, not between quarters (each quarter sums to 3.0).
# Revenue growth compares a quarter with the previous one: a seasonal swing
# between quarters would make every healthy account "cross" its threshold.
SEASON = {
    1: 1.05,
    2: 0.8,
    3: 1.15,
    4: 1.0,
    5: 0.95,
    6: 1.05,
    7: 1.0,
    8: 0.95,
    9: 1.05,
    10: 0.9,
    11: 1.0,
    12: 1.1,
}
# Typical order size per tier (untaxed): the number of orders follows revenue.
# (enough orders a quarter that the order count of a healthy account stays
# clear of its threshold)
ORDER_SIZE = {"strategic": 25000.0, "key": 10000.0, "growth": 3500.0}
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
        0.005,
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
        0.005,
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
        0.005,
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
        0.005,
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
        0.005,
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
