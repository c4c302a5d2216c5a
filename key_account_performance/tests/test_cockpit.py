"""Why a score moved (score breakdown) and the cockpit's fields and filters.

Hand-computed expectations, with the template of ``ReviewCommon``:
revenue (weight 2, target 1000, threshold 200), order count (weight 1,
target 4, threshold 0), manual relationship (weight 1, target 5, threshold 1).

Account A — P0: one order of 1200 → revenue 100 pts of score, orders 1 → 25;
score (2·100 + 25) / 3 = 75. P: two orders of 300 → revenue 600 → 50,
orders 2 → 50; score (2·50 + 50) / 3 = 50; trend −25.
Points in P: revenue 2·50/3 = 33.33, orders 50/3 = 16.67 (sum 50).
Points in P0: revenue 2·100/3 = 66.67, orders 25/3 = 8.33 (sum 75).
Changes: revenue −33.33, orders +8.33 (sum −25 = the trend).
"""

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..tools import kpi_math
from .common import ReviewCommon


@tagged("post_install", "-at_install")
class TestScoreBreakdown(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Value = cls.env["key.account.kpi.value"]
        Value.compute_for_period(*cls.P0)
        Value.compute_for_period(*cls.P)

    def _rows(self, partner=None, period=None):
        partner = partner or self.partner_a
        period = period or self.P
        return partner.key_account_score_breakdown(str(period[0]), str(period[1]))

    def _by_code(self, rows):
        return {row["kpi_code"]: row for row in rows}

    def test_points_add_up_to_score_and_changes_to_trend(self):
        rows = self._rows()
        by_code = self._by_code(rows)
        self.assertEqual(
            set(by_code),
            {"revenue", "order_count"},
            "the manual KPI has no value in either period: not listed",
        )
        self.assertAlmostEqual(by_code["revenue"]["value"], 600.0)
        self.assertAlmostEqual(by_code["revenue"]["score"], 50.0)
        self.assertAlmostEqual(by_code["revenue"]["weight"], 2.0)
        self.assertAlmostEqual(by_code["revenue"]["points"], 100.0 / 3)
        self.assertAlmostEqual(by_code["revenue"]["previous_points"], 200.0 / 3)
        self.assertAlmostEqual(by_code["revenue"]["delta_points"], -100.0 / 3)
        self.assertAlmostEqual(by_code["order_count"]["points"], 50.0 / 3)
        self.assertAlmostEqual(by_code["order_count"]["previous_points"], 25.0 / 3)
        self.assertAlmostEqual(by_code["order_count"]["delta_points"], 25.0 / 3)
        # the contract: sums equal the account's score and trend
        self.assertAlmostEqual(sum(row["points"] for row in rows), 50.0)
        self.assertAlmostEqual(sum(row["delta_points"] for row in rows), -25.0)
        self.assertAlmostEqual(self.partner_a.key_account_score, 50.0)
        self.assertAlmostEqual(self.partner_a.key_account_trend, -25.0)
        self.assertAlmostEqual(
            sum(row["points"] for row in rows), self.partner_a.key_account_score
        )
        self.assertAlmostEqual(
            sum(row["delta_points"] for row in rows), self.partner_a.key_account_trend
        )
        # biggest movers first
        self.assertEqual([row["kpi_code"] for row in rows], ["revenue", "order_count"])
        # extras: the value record, names, plain data only
        value = self.env["key.account.kpi.value"].browse(by_code["revenue"]["value_id"])
        self.assertEqual(
            (value.partner_id, value.kpi_id, value.date_from),
            (self.partner_a, self.kpi_revenue, self.P[0]),
        )
        self.assertTrue(by_code["revenue"]["has_previous"])
        for row in rows:
            for item in row.values():
                # no None: XML-RPC cannot carry it (False, as read() gives)
                self.assertIsInstance(item, (int, float, str, bool))

    def test_periods_computed_out_of_order(self):
        """P first, then P0: P's trend (account and history) follows P0's
        scores, so the changes still add up to the trend the account shows."""
        Value = self.env["key.account.kpi.value"]
        History = self.env["key.account.score.history"]
        Value.search([("date_from", "in", (self.P0[0], self.P[0]))]).unlink()
        History.search([("date_from", "in", (self.P0[0], self.P[0]))]).unlink()
        Value.compute_for_period(*self.P)
        self.assertAlmostEqual(self.partner_a.key_account_score, 50.0)
        self.assertEqual(self.partner_a.key_account_trend, 0.0, "nothing to compare")
        Value.compute_for_period(*self.P0)
        # the account still shows P, now compared with P0
        self.assertEqual(self.partner_a.key_account_score_date, self.P[1])
        self.assertAlmostEqual(self.partner_a.key_account_score, 50.0)
        self.assertAlmostEqual(self.partner_a.key_account_trend, -25.0)
        row = History.search(
            [("partner_id", "=", self.partner_a.id), ("date_from", "=", self.P[0])]
        )
        self.assertTrue(row.has_previous)
        self.assertAlmostEqual(row.previous_score, 75.0)
        self.assertAlmostEqual(row.trend, -25.0)
        self.assertAlmostEqual(
            sum(r["delta_points"] for r in self._rows()),
            self.partner_a.key_account_trend,
        )

    def test_manual_value_and_vanished_kpi(self):
        """A KPI with a value only now, and one with a value only before: the sums still hold."""
        Value = self.env["key.account.kpi.value"]
        common = {
            "partner_id": self.partner_a.id,
            "kpi_id": self.kpi_manual.id,
            "is_manual": True,
            "target": 5.0,
            "threshold": 1.0,
            "weight": 1.0,
            "company_id": self.company.id,
        }
        # manual 5 in P0 only (score 100): P0 = (200 + 25 + 100) / 4 = 81.25
        Value.create(dict(common, date_from=self.P0[0], date_to=self.P0[1], value=5.0))
        rows = self._rows()
        by_code = self._by_code(rows)
        manual = by_code["t_rv_relationship"]
        self.assertIs(manual["value"], False)
        self.assertIs(manual["value_id"], False)
        self.assertEqual(manual["points"], 0.0)
        self.assertAlmostEqual(manual["previous_points"], 25.0)
        self.assertAlmostEqual(manual["delta_points"], -25.0)
        self.assertAlmostEqual(by_code["revenue"]["previous_points"], 50.0)
        self.assertAlmostEqual(sum(row["points"] for row in rows), 50.0)
        self.assertAlmostEqual(sum(row["delta_points"] for row in rows), 50.0 - 81.25)
        self.assertEqual(
            rows[0]["kpi_code"], "t_rv_relationship", "the biggest mover comes first"
        )
        # manual 5 in P too: P = (100 + 50 + 100) / 4 = 62.5
        Value.create(dict(common, date_from=self.P[0], date_to=self.P[1], value=5.0))
        rows = self._rows()
        by_code = self._by_code(rows)
        self.assertAlmostEqual(by_code["t_rv_relationship"]["points"], 25.0)
        self.assertAlmostEqual(by_code["t_rv_relationship"]["delta_points"], 0.0)
        self.assertAlmostEqual(sum(row["points"] for row in rows), 62.5)
        self.assertAlmostEqual(sum(row["delta_points"] for row in rows), 62.5 - 81.25)

    def test_no_previous_period(self):
        """Without a previous score the trend is 0, and so is every change."""
        P0 = self.P0
        rows = self._rows(period=P0)
        self.assertAlmostEqual(sum(row["points"] for row in rows), 75.0)
        self.assertTrue(all(row["delta_points"] == 0.0 for row in rows))
        self.assertTrue(all(row["previous_points"] == 0.0 for row in rows))
        self.assertFalse(any(row["has_previous"] for row in rows))

    def test_contact_rpc_dates_and_no_data(self):
        contact = self.env["res.partner"].create(
            {"name": "Buyer", "parent_id": self.partner_a.id}
        )
        self.assertEqual(
            contact.key_account_score_breakdown(str(self.P[0]), str(self.P[1])),
            self._rows(),
            "a contact answers for its company",
        )
        self.assertEqual(
            self._rows(period=kpi_math.previous_period(*self.P0)),
            [],
            "no value in the period: an empty breakdown",
        )
        with self.assertRaises(ValidationError):
            self.partner_a.key_account_score_breakdown("not a date", str(self.P[1]))

    def test_batched(self):
        """The number of queries does not depend on the accounts or the KPIs."""
        Partner = self.env["res.partner"]

        def count(periods):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            Partner._key_account_breakdown_data(periods)
            return self.env.cr.sql_log_count - before

        one = count({(self.partner_a.id, *self.P)})
        two = count({(self.partner_a.id, *self.P), (self.partner_b.id, *self.P)})
        self.assertEqual(one, two)

    def test_value_and_partner_fields(self):
        """The account page lists the period's values with their points, biggest movers first."""
        partner = self.partner_a.with_user(self.kam)
        values = partner.key_account_breakdown_ids
        self.assertEqual(values.kpi_id, self.kpi_revenue | self.kpi_orders)
        self.assertEqual(values[0].kpi_id, self.kpi_revenue)
        self.assertAlmostEqual(sum(values.mapped("points")), 50.0)
        self.assertAlmostEqual(sum(values.mapped("delta_points")), -25.0)
        self.assertEqual(partner.key_account_trend_arrow, "▼")
        self.assertTrue(partner.key_account_has_previous)
        self.assertEqual(
            values.filtered(lambda v: v.kpi_id == self.kpi_revenue).display_unit,
            self.company.currency_id.name,
            "amounts show the company currency",
        )
        self.assertEqual(
            values.filtered(lambda v: v.kpi_id == self.kpi_orders).display_unit,
            self.kpi_orders.unit or "",
            "other KPIs keep their own unit",
        )

    def test_review_lines_points(self):
        """The review shows the same breakdown, against the previous review."""
        previous_cycle = self._cycle(self.P0)
        previous_cycle.action_generate_reviews()
        self._generate_cycle()
        review = self.review_a
        self.assertTrue(review.previous_review_id)
        lines = review.line_ids
        self.assertAlmostEqual(sum(lines.mapped("points")), review.score)
        self.assertAlmostEqual(sum(lines.mapped("delta_points")), review.trend)
        self.assertAlmostEqual(review.score, 50.0)
        self.assertAlmostEqual(review.trend, -25.0)
        self.assertEqual(review.breakdown_line_ids[0].kpi_id, self.kpi_revenue)
        # the KAM enters the manual KPI (5 → 100): score 62.5, the change follows
        self._line(review.with_user(self.kam), self.kpi_manual).write({"value": 5.0})
        review.invalidate_recordset()
        lines.invalidate_recordset()
        self.assertAlmostEqual(review.score, 62.5)
        self.assertAlmostEqual(sum(review.line_ids.mapped("points")), 62.5)
        self.assertAlmostEqual(
            sum(review.line_ids.mapped("delta_points")), review.trend
        )


@tagged("post_install", "-at_install")
class TestCockpit(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Value = cls.env["key.account.kpi.value"]
        Value.compute_for_period(*cls.P0)
        Value.compute_for_period(*cls.P)

    def _search(self, user, domain):
        return (
            self.env["res.partner"]
            .with_user(user)
            .search(
                [
                    ("is_key_account", "=", True),
                    ("id", "in", (self.partner_a | self.partner_b).ids),
                ]
                + domain
            )
        )

    def test_filters(self):
        partners = self.partner_a | self.partner_b
        self.assertEqual(
            self._search(self.kam, [("key_account_manager_id", "=", self.kam.id)]),
            self.partner_a,
        )
        # the team leader's team: A (kam is a member), not B (kam2 has no team)
        self.assertEqual(
            self._search(
                self.leader,
                [
                    "|",
                    ("key_account_team_id.user_id", "=", self.leader.id),
                    ("key_account_team_id.member_ids", "in", [self.leader.id]),
                ],
            ),
            self.partner_a,
        )
        # nobody has a review for P yet; after generating the cycle, both do
        self.assertEqual(
            self._search(self.admin, [("key_account_reviewed", "=", False)]), partners
        )
        self._generate_cycle()
        self.assertFalse(
            self._search(self.admin, [("key_account_reviewed", "=", False)])
        )
        self.assertEqual(
            self._search(self.admin, [("key_account_reviewed", "=", True)]), partners
        )
        self.assertTrue(self.partner_a.key_account_reviewed)

    def test_at_risk_and_warnings(self):
        # A fell by 25 points (beyond the step of 10): at risk; B's score is low (grade D)
        self.assertLess(self.partner_a.key_account_trend, -10.0)
        at_risk = self._search(self.admin, [("key_account_at_risk", "=", True)])
        self.assertIn(self.partner_a, at_risk)
        self.assertTrue(self.partner_a.key_account_at_risk)
        if self.partner_b.key_account_grade == "D":
            self.assertIn(self.partner_b, at_risk)
        warning = self.env.ref(
            "key_account_performance.mail_activity_type_key_account_warning"
        )
        open_warnings = self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", self.partner_a.id),
                ("activity_type_id", "=", warning.id),
            ]
        )
        self.assertEqual(self.partner_a.key_account_warning_count, len(open_warnings))
        self.assertEqual(
            bool(
                self._search(
                    self.admin,
                    [
                        ("key_account_warning_count", ">", 0),
                        ("id", "=", self.partner_a.id),
                    ],
                )
            ),
            bool(open_warnings),
        )
        grade = self.env["key.account.grade"].search(
            [("name", "=", self.partner_a.key_account_grade)], limit=1
        )
        self.assertTrue(grade)
        self.assertEqual(self.partner_a.key_account_grade_color, grade.color)

    def test_grade_bands_are_read_anew_after_a_change(self):
        """The bands are cached (every read of an account shows its grade's
        colour and whether it is the lowest): a change of a band shows at
        once, in the same transaction."""
        Grade = self.env["key.account.grade"]
        partner = self.partner_a
        grade = Grade.search([("name", "=", partner.key_account_grade)], limit=1)
        self.assertTrue(grade)
        self.assertEqual(partner.key_account_grade_color, grade.color)
        grade.color = (grade.color + 3) % 12
        partner.invalidate_recordset(["key_account_grade_color"])
        self.assertEqual(partner.key_account_grade_color, grade.color)
        # the company's own bands replace the shared ones as soon as one exists
        bands = Grade._get_bands()
        own = Grade.create(
            {"name": "Own band", "min_score": 0.0, "company_id": self.env.company.id}
        )
        self.assertEqual(Grade._get_bands(), [("Own band", 0.0)])
        own.min_score = 5.0
        self.assertEqual(Grade._get_bands(), [("Own band", 5.0)])
        own.active = False
        # the cache serves everyone: active bands only, whoever fills it
        self.assertEqual(Grade.with_context(active_test=False)._get_bands(), bands)
        self.assertEqual(Grade._get_bands(), bands)
        # a band renamed in another language (the translation dialog)
        self.env["res.lang"]._activate_lang("zh_CN")
        zh = Grade.with_context(lang="zh_CN")
        self.assertIn(grade.with_context(lang="zh_CN").name, zh._get_colors())
        grade.update_field_translations("name", {"zh_CN": "新等级名"})
        self.assertIn("新等级名", zh._get_colors())
        self.assertEqual(dict(zh._get_bands())["新等级名"], grade.min_score)
        self.assertEqual(
            Grade._get_incentive_rates(),
            {
                name: Grade.search([("name", "=", name)], limit=1).incentive_rate
                for name, _min in bands
            },
        )

    def test_compute_now_notifies(self):
        # a manual value in the closed period (entered in a review)
        self.env["key.account.kpi.value"].create(
            {
                "partner_id": self.partner_a.id,
                "kpi_id": self.kpi_manual.id,
                "date_from": self.P[0],
                "date_to": self.P[1],
                "value": 4.0,
                "is_manual": True,
            }
        )
        action = self.partner_a.with_user(self.kam).action_compute_key_account_kpis()
        self.assertEqual(action["tag"], "display_notification")
        message = action["params"]["message"]
        label = "%04d Q%d" % (self.P[0].year, (self.P[0].month - 1) // 3 + 1)
        self.assertIn(label, message)
        self.assertIn(self.partner_a.name, message)
        self.assertIn("/ 100", message)
        # the closed period's count is what its KPI value list shows (manual
        # values included), not only the values the engine computed
        shown = self.env["key.account.kpi.value"].search_count(
            [
                ("partner_id", "=", self.partner_a.id),
                ("date_from", "=", self.P[0]),
                ("date_to", "=", self.P[1]),
            ]
        )
        self.assertTrue(shown)
        self.assertIn(": %d KPI values for %s" % (shown, label), message)

    def test_values_button_groups_by_review_period(self):
        action = self.partner_a.action_view_key_account_values()
        self.assertEqual(action["context"]["group_by"], ["date_from:quarter"])
        self.company.key_account_period_type = "month"
        action = self.partner_a.with_company(
            self.company
        ).action_view_key_account_values()
        self.assertEqual(action["context"]["group_by"], ["date_from:month"])
        # group rows do not average values of different units
        groups = self.env["key.account.kpi.value"].read_group(
            [("partner_id", "=", self.partner_a.id)],
            ["value", "score"],
            ["date_from:quarter"],
        )
        self.assertTrue(groups)
        self.assertNotIn("value", groups[0])

    def test_kanban_and_list_views_load(self):
        Partner = self.env["res.partner"].with_user(self.kam)
        for xmlid in (
            "key_account_performance.res_partner_view_kanban_key_account",
            "key_account_performance.res_partner_view_list_key_account",
            "key_account_performance.res_partner_view_search_key_account_cockpit",
        ):
            view = self.env.ref(xmlid)
            arch = Partner.get_views([(view.id, view.type)])["views"][view.type]["arch"]
            self.assertTrue(arch)
        records = Partner.search_read(
            [("id", "=", self.partner_a.id)],
            [
                "key_account_score",
                "key_account_trend_arrow",
                "key_account_action_count",
                "key_account_warning_count",
                "key_account_grade_color",
                "key_account_has_previous",
            ],
        )
        self.assertEqual(records[0]["key_account_trend_arrow"], "▼")

    def test_settings(self):
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        settings.key_account_default_template_id = self.template
        settings.execute()
        self.assertTrue(self.template.is_company_default)
        # a company template of its own, chosen as default: the settings show it, the old one is unset
        own = self.env["key.account.kpi.template"].create(
            {"name": "Own default", "company_id": self.company.id}
        )
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        settings.key_account_default_template_id = own
        settings.execute()
        self.assertTrue(own.is_company_default)
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        self.assertEqual(settings.key_account_default_template_id, own)
        self.assertTrue(settings.key_account_tier_count >= 1)
        self.assertTrue(settings.key_account_grade_count >= 4)

    def test_account_page_opens_for_kam_and_manager(self):
        """Every field of the partner form reads for a KAM and a manager, an
        account with survey answers included (the answers list once raised
        an access error on survey.user_input for anyone not in Surveys)."""
        question = self.env.ref("key_account_performance.survey_nps_question")
        survey = self.env.ref("key_account_performance.survey_nps")
        answer = survey._create_answer(partner=self.partner_a)
        answer._save_lines(question, 9)
        answer._mark_done()
        self.partner_a.invalidate_recordset()
        for user in (self.kam, self.manager):
            Partner = self.env["res.partner"].with_user(user)
            views = Partner.get_views([(False, "form")])
            fields_info = views["models"]["res.partner"]["fields"]
            spec = {}
            for name, info in fields_info.items():
                if info.get("type") in ("many2one", "one2many", "many2many"):
                    spec[name] = {"fields": {"display_name": {}}}
                else:
                    spec[name] = {}
            record = Partner.browse(self.partner_a.id).web_read(spec)[0]
            self.assertIn("key_account_survey_input_ids", record, user.login)
            self.assertEqual(
                [row["id"] for row in record["key_account_survey_input_ids"]],
                answer.ids,
                user.login,
            )

    def test_account_page_lists_only_what_the_user_may_read(self):
        """The page's lists (latest review, open actions, breakdown, survey
        answers) are searched as superuser and checked on what was found:
        a record a rule hides from the KAM is not listed, and is again once
        the rule is gone."""
        self._generate_cycle()
        action = self.env["key.account.improvement.action"].create(
            {"name": "Fix invoicing errors", "partner_id": self.partner_a.id}
        )
        survey = self.env.ref("key_account_performance.survey_nps")
        answer = survey._create_answer(partner=self.partner_a)
        answer._save_lines(
            self.env.ref("key_account_performance.survey_nps_question"), 9
        )
        answer._mark_done()
        value = self.env["key.account.kpi.value"].search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", self.kpi_revenue.id),
                ("date_from", "=", self.P[0]),
            ]
        )
        self.assertTrue(value)
        hidden = {
            "key.account.review": self.review_a,
            "key.account.improvement.action": action,
            "survey.user_input": answer,
            "key.account.kpi.value": value,
        }
        fields = (
            "key_account_latest_review_id",
            "key_account_open_action_ids",
            "key_account_survey_input_ids",
            "key_account_breakdown_ids",
            "key_account_review_count",
            "key_account_action_count",
        )

        def page():
            self.env.invalidate_all()
            partner = self.partner_a.with_user(self.kam)
            return {name: partner[name] for name in fields}

        shown = page()
        self.assertEqual(shown["key_account_latest_review_id"], self.review_a)
        self.assertEqual(shown["key_account_open_action_ids"], action)
        self.assertEqual(shown["key_account_survey_input_ids"], answer)
        self.assertIn(value, shown["key_account_breakdown_ids"])
        self.assertEqual(
            (shown["key_account_review_count"], shown["key_account_action_count"]),
            (1, 1),
        )
        # a global rule per model that hides the one record from everyone
        rules = self.env["ir.rule"].create(
            [
                {
                    "name": "test: hide one %s" % model,
                    "model_id": self.env["ir.model"]._get_id(model),
                    "domain_force": "[('id', '!=', %d)]" % record.id,
                }
                for model, record in hidden.items()
            ]
        )
        shown = page()
        self.assertFalse(shown["key_account_latest_review_id"])
        self.assertFalse(shown["key_account_open_action_ids"])
        self.assertFalse(shown["key_account_survey_input_ids"])
        self.assertNotIn(value, shown["key_account_breakdown_ids"])
        self.assertTrue(shown["key_account_breakdown_ids"], "the other KPI's value")
        self.assertEqual(
            (shown["key_account_review_count"], shown["key_account_action_count"]),
            (0, 0),
        )
        rules.unlink()
        self.assertEqual(page()["key_account_open_action_ids"], action)

    def test_flat_trend_reads_the_history(self):
        """A trend of 0 is an equal score (a previous period: "=") or no
        previous period ("–"); the score history tells them apart. A trend
        other than 0 always has a previous period."""
        Value = self.env["key.account.kpi.value"]
        steady = self._make_account("Review Account Steady", self.kam)
        self._order(steady, 300.0, self._day(self.P0, 20))
        self._order(steady, 300.0, self._day(self.P, 20))
        new = self._make_account("Review Account New", self.kam)
        self._order(new, 300.0, self._day(self.P, 20))
        Value.compute_for_period(*self.P0, steady.ids)
        Value.compute_for_period(*self.P, (steady | new).ids)
        self.env.invalidate_all()
        self.assertEqual(steady.key_account_trend, 0.0)
        self.assertEqual(new.key_account_trend, 0.0)
        self.assertEqual(
            (steady.key_account_has_previous, steady.key_account_trend_arrow),
            (True, "="),
        )
        self.assertEqual(
            (new.key_account_has_previous, new.key_account_trend_arrow),
            (False, "–"),
        )
        self.assertNotEqual(self.partner_a.key_account_trend, 0.0)
        self.assertTrue(self.partner_a.key_account_has_previous)
