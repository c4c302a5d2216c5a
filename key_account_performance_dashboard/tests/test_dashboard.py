"""The Key Accounts dashboard of the Dashboards app.

Its spreadsheet (data/files/key_accounts_dashboard.json) names models,
fields, group-bys and measures as plain strings: these tests read them back
and check each against the registry, then load the dashboard's data the way
the web client does (the same read_group / search_read per pivot, list and
chart, as a KAM under the record rules), and finally open the dashboard in
a browser and read its evaluated cells in English and in Chinese.
"""

import json

from odoo import Command, fields
from odoo.tests import HttpCase, tagged
from odoo.tools import file_open

from odoo.addons.key_account_performance.models.guard import internal

DASHBOARD_FILE = (
    "key_account_performance_dashboard/data/files/key_accounts_dashboard.json"
)


def load_spreadsheet():
    with file_open(DASHBOARD_FILE) as f:
        return json.load(f)


def groupby_spec(dimension):
    """A pivot dimension as read_group writes it: ``date_from:quarter``."""
    if dimension.get("granularity"):
        return "%s:%s" % (dimension["fieldName"], dimension["granularity"])
    return dimension["fieldName"]


def measure_spec(measure):
    if measure["fieldName"] == "__count":
        return "__count"
    return "%s:%s" % (measure["fieldName"], measure.get("aggregator") or "sum")


@tagged("post_install", "-at_install")
class TestKeyAccountsDashboard(HttpCase):
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
        ref = env.ref
        # only this test's accounts are key accounts
        env["res.partner"].search([("is_key_account", "=", True)]).write(
            {"key_account_tier_id": False}
        )
        env["key.account.improvement.action"].search([]).write({"state": "cancelled"})
        cls.company = env.company
        cls.company.key_account_score_drop_step = 10.0
        cls.dashboard = ref(
            "key_account_performance_dashboard.spreadsheet_dashboard_key_accounts"
        )

        def user(login, group, lang="en_US"):
            return env["res.users"].create(
                {
                    "name": login.replace("_", " ").title(),
                    "login": login,
                    "password": login,
                    "lang": lang,
                    "groups_id": [
                        Command.link(ref("base.group_user").id),
                        Command.link(ref("key_account_performance.%s" % group).id),
                    ],
                }
            )

        env.ref("base.lang_zh_CN").active = True
        cls.kam = user("kap_dash_kam", "group_key_account_user")
        cls.kam_zh = user("kap_dash_kam_zh", "group_key_account_user", "zh_CN")
        cls.manager = user("kap_dash_manager", "group_key_account_manager")
        # a manager sees the accounts of the team they lead
        env["crm.team"].create(
            {
                "name": "Dashboard test team",
                "user_id": cls.manager.id,
                "member_ids": [Command.set((cls.kam | cls.kam_zh).ids)],
            }
        )
        strategic = ref("key_account_performance.tier_strategic")
        growth = ref("key_account_performance.tier_growth")
        Partner = env["res.partner"]

        def account(name, tier, kam, score, grade, trend=0.0):
            partner = Partner.create(
                {
                    "name": name,
                    "is_company": True,
                    "key_account_tier_id": tier.id,
                    "key_account_manager_id": kam.id,
                }
            )
            internal(partner).write(
                {
                    "key_account_score": score,
                    "key_account_grade": grade,
                    "key_account_trend": trend,
                }
            )
            return partner

        # the KAM's three accounts and one of the other KAM
        cls.a1 = account("Dash Strategic A", strategic, cls.kam, 90.0, "A")
        cls.a2 = account("Dash Strategic B", strategic, cls.kam, 70.0, "B")
        cls.a3 = account(
            "Dash Growth C", growth, cls.kam, 40.0, "D"
        )  # lowest grade: at risk
        cls.b1 = account("Dash Other D", growth, cls.kam_zh, 20.0, "D")
        History = internal(env["key.account.score.history"])
        for partner, rows in (
            (
                cls.a1,
                [
                    ("2025-01-01", "2025-03-31", 80.0),
                    ("2025-04-01", "2025-06-30", 90.0),
                ],
            ),
            (
                cls.a2,
                [
                    ("2025-01-01", "2025-03-31", 60.0),
                    ("2025-04-01", "2025-06-30", 70.0),
                ],
            ),
        ):
            for date_from, date_to, score in rows:
                History.create(
                    {
                        "partner_id": partner.id,
                        "company_id": cls.company.id,
                        "date_from": date_from,
                        "date_to": date_to,
                        "score": score,
                        "tier_id": strategic.id,
                        "user_id": cls.kam.id,
                    }
                )
        Action = env["key.account.improvement.action"]
        for name, partner, state in (
            ("Dash call the buyer", cls.a3, "todo"),
            ("Dash fix the delivery", cls.a3, "in_progress"),
            ("Dash done already", cls.a2, "done"),
        ):
            Action.create(
                {
                    "name": name,
                    "partner_id": partner.id,
                    "user_id": cls.kam.id,
                    "state": state,
                    "date_deadline": fields.Date.today(),
                }
            )

    # ------------------------------------------------------------------
    # the spreadsheet names what exists
    # ------------------------------------------------------------------
    def _data_sources(self):
        """(label, model, domain, group-bys, measures) of every pivot, list and chart."""
        data = load_spreadsheet()
        for pivot_id, pivot in data["pivots"].items():
            yield (
                "pivot %s" % pivot_id,
                pivot["model"],
                pivot["domain"],
                [groupby_spec(d) for d in pivot["rows"] + pivot["columns"]],
                [measure_spec(m) for m in pivot["measures"]],
            )
        for list_id, spec in data["lists"].items():
            yield (
                "list %s" % list_id,
                spec["model"],
                spec["domain"],
                [],
                spec["columns"],
            )
        for sheet in data["sheets"]:
            for figure in sheet["figures"]:
                chart = figure["data"]
                if chart["type"].startswith("odoo_"):
                    measure = chart["metaData"]["measure"]
                    yield (
                        "chart %s" % figure["id"],
                        chart["metaData"]["resModel"],
                        chart["searchParams"]["domain"],
                        chart["metaData"]["groupBy"],
                        [] if measure == "__count" else [measure],
                    )

    def test_pivots_lists_and_charts_name_existing_fields(self):
        seen_models = set()
        for label, model, domain, groupbys, measures in self._data_sources():
            with self.subTest(source=label):
                self.assertIn(model, self.env, "%s: no model %s" % (label, model))
                fields_ = self.env[model].fields_get()
                for leaf in domain:
                    if isinstance(leaf, list):
                        self.assertIn(leaf[0].split(".")[0], fields_, label)
                for groupby in groupbys:
                    name = groupby.split(":")[0]
                    self.assertIn(name, fields_, "%s: group-by %s" % (label, name))
                    self.assertTrue(
                        fields_[name]["groupable"], "%s: %s" % (label, name)
                    )
                for measure in measures:
                    name = measure.split(":")[0]
                    if name == "__count":
                        continue
                    self.assertIn(name, fields_, "%s: field %s" % (label, name))
                seen_models.add(model)
        self.assertEqual(
            seen_models,
            {
                "res.partner",
                "key.account.score.history",
                "key.account.improvement.action",
                "key.account.appraisal",
            },
        )
        # each pivot or list a cell formula uses is defined, and each text is _t()
        data = load_spreadsheet()
        for sheet in data["sheets"]:
            for ref, cell in sheet["cells"].items():
                content = cell["content"]
                for func, defined in (
                    ("PIVOT", data["pivots"]),
                    ("ODOO.LIST", data["lists"]),
                ):
                    marker = "=%s(" % func
                    if content.startswith(marker) or content.startswith(
                        "=%s.VALUE(" % func
                    ):
                        source_id = content.split("(", 1)[1].split(",")[0].rstrip(")")
                        self.assertIn(
                            source_id, defined, "%s!%s" % (sheet["name"], ref)
                        )
                if not content.startswith("="):
                    self.fail(
                        "%s!%s: a text outside _t(): %s" % (sheet["name"], ref, content)
                    )

    def test_dashboard_is_published_for_key_account_users(self):
        self.assertEqual(
            self.dashboard.dashboard_group_id,
            self.env.ref(
                "key_account_performance_dashboard.spreadsheet_dashboard_group_key_accounts"
            ),
        )
        self.assertTrue(self.dashboard.is_published)
        group = self.env.ref("key_account_performance.group_key_account_user")
        self.assertEqual(self.dashboard.group_ids, group)
        self.assertTrue(self.dashboard.with_user(self.kam).has_access("read"))
        snapshot = self.dashboard.with_user(self.kam).get_readonly_dashboard()[
            "snapshot"
        ]
        self.assertEqual(snapshot["pivots"].keys(), load_spreadsheet()["pivots"].keys())

    # ------------------------------------------------------------------
    # the data the web client loads, as a KAM (record rules apply)
    # ------------------------------------------------------------------
    def _pivot(self, user, pivot_id):
        pivot = load_spreadsheet()["pivots"][pivot_id]
        groups = (
            self.env[pivot["model"]]
            .with_user(user)
            .read_group(
                pivot["domain"],
                [
                    measure_spec(m)
                    for m in pivot["measures"]
                    if m["fieldName"] != "__count"
                ],
                [groupby_spec(d) for d in pivot["rows"] + pivot["columns"]],
                lazy=False,
            )
        )
        return groups

    def test_kam_pivots_show_their_own_accounts(self):
        tiers = {
            g["key_account_tier_id"][1]: (g["__count"], g["key_account_score"])
            for g in self._pivot(self.kam, "1")
        }
        self.assertEqual(tiers, {"Strategic": (2, 80.0), "Growth": (1, 40.0)})
        grades = {
            g["key_account_grade"]: g["__count"] for g in self._pivot(self.kam, "2")
        }
        self.assertEqual(grades, {"A": 1, "B": 1, "D": 1})
        at_risk = self._pivot(self.kam, "3")
        self.assertEqual(
            [(g["key_account_manager_id"][0], g["__count"]) for g in at_risk],
            [(self.kam.id, 1)],
        )
        actions = {g["user_id"][0]: g["__count"] for g in self._pivot(self.kam, "4")}
        self.assertEqual(actions, {self.kam.id: 2})  # the done one is not open
        trend = {g["date_from:quarter"]: g["score"] for g in self._pivot(self.kam, "5")}
        self.assertEqual(trend, {"Q1 2025": 70.0, "Q2 2025": 80.0})

    def test_manager_pivot_counts_every_account(self):
        tiers = {
            g["key_account_tier_id"][1]: g["__count"]
            for g in self._pivot(self.manager, "1")
        }
        self.assertEqual(tiers, {"Strategic": 2, "Growth": 2})
        at_risk = {
            g["key_account_manager_id"][0]: g["__count"]
            for g in self._pivot(self.manager, "3")
        }
        self.assertEqual(at_risk, {self.kam.id: 1, self.kam_zh.id: 1})

    def test_at_risk_list_lowest_score_first(self):
        spec = load_spreadsheet()["lists"]["1"]
        order = ", ".join(
            "%s %s" % (o["name"], "asc" if o["asc"] else "desc")
            for o in spec["orderBy"]
        )
        rows = (
            self.env[spec["model"]]
            .with_user(self.manager)
            .search_read(spec["domain"], spec["columns"], order=order)
        )
        self.assertEqual([r["name"] for r in rows], ["Dash Other D", "Dash Growth C"])

    # ------------------------------------------------------------------
    # in the browser: the dashboard evaluates, in English and in Chinese
    # ------------------------------------------------------------------
    def _read_cells_in_browser(self, login, expected):
        """Open the dashboard as ``login`` and compare cells of its Data sheet
        (the scorecards' figures) and its headings with ``expected``."""
        code = """
            const expected = %s;
            function findModel(node) {
                const dashboard = node.component && node.component.state
                    && node.component.state.activeDashboard;
                if (dashboard && dashboard.model) { return dashboard.model; }
                for (const child of Object.values(node.children || {})) {
                    const model = findModel(child);
                    if (model) { return model; }
                }
            }
            const started = Date.now();
            const poll = () => {
                const model = odoo.__WOWL_DEBUG__ && findModel(odoo.__WOWL_DEBUG__.root.__owl__);
                let got = null;
                if (model) {
                    got = {};
                    for (const [sheetName, ref] of Object.keys(expected).map(k => k.split("!"))) {
                        const sheetId = model.getters.getSheetIdByName(sheetName);
                        const cell = model.getters.getEvaluatedCell(
                            Object.assign({sheetId}, toCartesian(ref)));
                        got[sheetName + "!" + ref] = cell.value;
                    }
                }
                const done = got && Object.entries(expected).every(([k, v]) => got[k] === v);
                if (done) {
                    console.log("test successful");
                } else if (Date.now() - started > 30000) {
                    console.error("dashboard cells: " + JSON.stringify(got) +
                        " expected " + JSON.stringify(expected));
                } else {
                    setTimeout(poll, 300);
                }
            };
            function toCartesian(ref) {
                const m = ref.match(/^([A-Z]+)([0-9]+)$/);
                let col = 0;
                for (const ch of m[1]) { col = col * 26 + ch.charCodeAt(0) - 64; }
                return {col: col - 1, row: parseInt(m[2]) - 1};
            }
            poll();
        """ % json.dumps(expected)
        self.browser_js(
            "/odoo/dashboards?dashboard_id=%d" % self.dashboard.id,
            code,
            ready="odoo.isReady",
            login=login,
            timeout=90,
        )

    def test_dashboard_evaluates_in_english(self):
        self._read_cells_in_browser(
            "kap_dash_kam",
            {
                "Dashboard!A1": "Key Accounts",
                "Data!B1": 3,
                "Data!B2": 66.7,
                "Data!B3": 1,
                "Data!B4": 2,
            },
        )

    def test_dashboard_evaluates_in_chinese(self):
        self._read_cells_in_browser(
            "kap_dash_kam_zh",
            {
                "Dashboard!A1": "大客户",
                "Data!A2": "平均得分",
                "Data!B1": 1,
                "Data!B2": 20,
            },
        )
