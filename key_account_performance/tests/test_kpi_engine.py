import datetime

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..tools import kpi_math
from .kpi_common import KpiCommon

Q1 = (datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
Q4 = (datetime.date(2024, 10, 1), datetime.date(2024, 12, 31))


@tagged("post_install", "-at_install")
class TestKpiEngine(KpiCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ir_model = cls.env["ir.model"]
        sale_model = ir_model._get("sale.order")
        cls.kpi_avg = cls.Kpi.create(
            {
                "name": "Average order (company currency)",
                "code": "t_avg_order",
                "computation_mode": "average",
                "model_id": sale_model.id,
                "domain": "[('state', '=', 'sale')]",
                "date_field": "date_order",
                "value_field": "amount_untaxed",
                "currency_rate_field": "currency_rate",
                "target": 500,
                "threshold": 100,
            }
        )
        cls.kpi_duration = cls.Kpi.create(
            {
                "name": "Order to commitment",
                "code": "t_commitment_hours",
                "computation_mode": "duration",
                "model_id": sale_model.id,
                "domain": "[('state', '=', 'sale')]",
                "date_field": "date_order",
                "date_end_field": "commitment_date",
                "duration_unit": "hours",
                "direction": "lower",
                "target": 8,
                "threshold": 48,
            }
        )
        cls.kpi_leads = cls.Kpi.create(
            {
                "name": "Leads",
                "code": "t_leads",
                "computation_mode": "count",
                "model_id": ir_model._get("crm.lead").id,
                "date_field": "create_date",
                "target": 5,
                "threshold": 0,
            }
        )
        cls.kpi_ratio_zero = cls.Kpi.create(
            {
                "name": "Revenue per lead",
                "code": "t_revenue_per_lead",
                "computation_mode": "ratio",
                "numerator_kpi_id": cls.kpi["revenue"].id,
                "denominator_kpi_id": cls.kpi_leads.id,
                "ratio_factor": 1.0,
                "target": 100,
                "threshold": 10,
            }
        )
        cls.kpi_manual = cls.Kpi.create(
            {
                "name": "Executive sponsorship",
                "code": "t_sponsorship",
                "computation_mode": "manual",
                "target": 5,
                "threshold": 1,
            }
        )
        cls.kpi_formula = cls.Kpi.create(
            {
                "name": "Revenue per order",
                "code": "t_revenue_per_order",
                "computation_mode": "formula",
                "formula": "revenue / order_count",
                "target": 500,
                "threshold": 100,
            }
        )
        cls.kpi_formula_manual = cls.Kpi.create(
            {
                "name": "Sponsorship x10",
                "code": "t_sponsorship_x10",
                "computation_mode": "formula",
                "formula": "t_sponsorship * 10",
                "target": 50,
                "threshold": 10,
            }
        )
        cls.kpi_rating = cls.Kpi.create(
            {
                "name": "Ratings",
                "code": "t_rating",
                "computation_mode": "rating",
                "target": 5,
                "threshold": 1,
            }
        )
        extra = (
            cls.kpi_avg
            | cls.kpi_duration
            | cls.kpi_leads
            | cls.kpi_ratio_zero
            | cls.kpi_manual
            | cls.kpi_formula
            | cls.kpi_formula_manual
            | cls.kpi_rating
        )
        for code in (
            "nps",
            "csat",
            "gross_margin",
            "retention",
            "churn",
            "repeat_purchase_rate",
        ):
            extra |= cls.kpi[code]
        # weight 0: measured and stored, but outside the account score
        cls.template.write(
            {
                "line_ids": [
                    Command.create({"kpi_id": kpi.id, "weight": 0.0}) for kpi in extra
                ]
            }
        )

        # A foreign currency worth half the company currency
        foreign = cls.env.ref("base.EUR")
        if foreign == cls.currency:
            foreign = cls.env.ref("base.USD")
        foreign.active = True
        cls.env["res.currency.rate"].search([("currency_id", "=", foreign.id)]).unlink()
        cls.env["res.currency.rate"].create(
            {
                "currency_id": foreign.id,
                "rate": 2.0,
                "name": "2024-01-01",
                "company_id": cls.company.id,
            }
        )
        cls.foreign_pricelist = cls.env["product.pricelist"].create(
            {"name": "Foreign", "currency_id": foreign.id}
        )

        # Q1 2025 for account A: the boundaries are wall-clock times in Shanghai
        cls.o_first = cls._order(cls.contact_a, 300.0, cls._local(2025, 1, 1, 0, 0, 0))
        cls.o_last = cls._order(
            cls.partner_a, 500.0, cls._local(2025, 3, 31, 23, 59, 59)
        )
        cls.o_after = cls._order(cls.partner_a, 700.0, cls._local(2025, 4, 1, 0, 0, 0))
        cls.o_before = cls._order(
            cls.partner_a, 900.0, cls._local(2024, 12, 31, 23, 59, 59)
        )
        cls.o_foreign = cls._order(
            cls.partner_a,
            400.0,
            cls._local(2025, 2, 15, 12, 0, 0),
            pricelist=cls.foreign_pricelist,
        )
        cls.o_draft = cls._order(
            cls.partner_a, 1000.0, cls._local(2025, 2, 1, 12, 0, 0), confirm=False
        )
        for order, hours in ((cls.o_first, 10), (cls.o_last, 30), (cls.o_foreign, 20)):
            order.commitment_date = order.date_order + datetime.timedelta(hours=hours)

    def test_currency_rate_of_foreign_order(self):
        self.assertAlmostEqual(self.o_foreign.currency_rate, 2.0)
        self.assertAlmostEqual(self.o_foreign.amount_untaxed, 400.0)

    def test_record_modes_boundaries_rollup_currency(self):
        ids = self.Value.compute_for_period(
            "2025-01-01", "2025-03-31", [self.partner_a.id]
        )
        self.assertTrue(ids and all(isinstance(i, int) for i in ids))
        values = self._values(self.partner_a, *Q1)
        # 300 (contact, first second) + 500 (last second) + 400 foreign / 2; not the draft,
        # not the first second after the period, not the last second before it
        self.assertAlmostEqual(values["revenue"].value, 1000.0)
        self.assertAlmostEqual(values["order_count"].value, 3.0)
        self.assertAlmostEqual(values["t_avg_order"].value, 1000.0 / 3)
        self.assertAlmostEqual(values["t_commitment_hours"].value, 20.0)
        # Jan (the contact's order, local time), Feb, Mar: 3 months of 3
        self.assertAlmostEqual(values["repeat_purchase_rate"].value, 100.0)
        self.assertAlmostEqual(values["t_revenue_per_order"].value, 1000.0 / 3)
        # margins: 300-60, 500-60, (400-120 in foreign currency)/2
        self.assertAlmostEqual(values["gross_margin"].value, 82.0, places=2)
        self.assertEqual(
            {v.partner_id.id for v in values.values()}, {self.partner_a.id}
        )

    def test_growth_retention_churn_against_previous_period(self):
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        values = self._values(self.partner_a, *Q1)
        self.assertAlmostEqual(
            values["revenue_growth"].value, (1000.0 - 900.0) / 900.0 * 100
        )
        self.assertAlmostEqual(values["retention"].value, 100.0)
        self.assertAlmostEqual(values["churn"].value, 0.0)
        # Q4 2024 has no previous revenue: growth has no value (not 0)
        self.Value.compute_for_period(*Q4, partner_ids=[self.partner_a.id])
        q4 = self._values(self.partner_a, *Q4)
        self.assertAlmostEqual(q4["revenue"].value, 900.0)
        self.assertNotIn("revenue_growth", q4)
        self.assertNotIn("retention", q4)

    def test_ratio_with_zero_denominator_has_no_value(self):
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        values = self._values(self.partner_a, *Q1)
        self.assertAlmostEqual(values["t_leads"].value, 0.0)
        self.assertNotIn("t_revenue_per_lead", values)
        self.assertFalse(self.kpi_ratio_zero.last_error)

    def test_no_data_is_not_zero(self):
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_b.id])
        values = self._values(self.partner_b, *Q1)
        # sums and counts of nothing are 0; averages and durations of nothing are no data
        self.assertEqual(values["revenue"].value, 0.0)
        self.assertNotIn("t_avg_order", values)
        self.assertNotIn("t_commitment_hours", values)
        self.assertNotIn("nps", values)

    def test_survey_rating_manual_formula(self):
        today = fields.Date.context_today(self.Value)
        period = kpi_math.period_bounds(today, "quarter")
        nps_q = self.env.ref("key_account_performance.survey_nps_question")
        csat_q = self.env.ref("key_account_performance.survey_csat_question")
        for question, answers in ((nps_q, (10, 9, 7, 3)), (csat_q, (5, 4, 2))):
            for answer_value in answers:
                answer = question.survey_id._create_answer(
                    partner=self.contact_a, check_attempts=False
                )
                answer._save_lines(question, str(answer_value))
                answer._mark_done()
        # an unfinished answer does not count
        pending = nps_q.survey_id._create_answer(
            partner=self.contact_a, check_attempts=False
        )
        pending._save_lines(nps_q, "0")
        partner_model = self.env["ir.model"]._get("res.partner")
        self.env["rating.rating"].create(
            [
                {
                    "res_model_id": partner_model.id,
                    "res_id": self.partner_a.id,
                    "partner_id": self.contact_a.id,
                    "rating": rating,
                    "consumed": True,
                }
                for rating in (5, 3)
            ]
        )
        self.Value.create(
            {
                "partner_id": self.partner_a.id,
                "kpi_id": self.kpi_manual.id,
                "date_from": period[0],
                "date_to": period[1],
                "value": 4.0,
                "target": 5.0,
                "threshold": 1.0,
                "is_manual": True,
            }
        )
        self.Value.compute_for_period(*period, partner_ids=[self.partner_a.id])
        values = self._values(self.partner_a, *period)
        self.assertAlmostEqual(values["nps"].value, (2 - 1) / 4 * 100)
        self.assertAlmostEqual(values["csat"].value, 2 / 3 * 100)
        self.assertAlmostEqual(values["t_rating"].value, 4.0)
        self.assertAlmostEqual(
            values["t_sponsorship"].value, 4.0, msg="manual value kept"
        )
        self.assertAlmostEqual(values["t_sponsorship_x10"].value, 40.0)
        self.assertAlmostEqual(values["t_sponsorship"].score, 75.0)

    def test_upsert_never_duplicates(self):
        first = self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        count = self.Value.search_count([("partner_id", "=", self.partner_a.id)])
        self.o_last.date_order = self._local(2025, 3, 30, 12, 0, 0)
        self.o_first._action_cancel()
        second = self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        self.assertEqual(sorted(first), sorted(second))
        self.assertEqual(
            self.Value.search_count([("partner_id", "=", self.partner_a.id)]), count
        )
        self.assertAlmostEqual(
            self._values(self.partner_a, *Q1)["revenue"].value, 700.0
        )

    def test_computed_values_carry_no_user_corrections_do(self):
        """The engine writes values with no user (create_uid / write_uid
        empty, write_date set); a correction through the ORM records who made it."""
        before = fields.Datetime.now().replace(microsecond=0)
        ids = self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        values = self.Value.browse(ids)
        self.assertTrue(values)
        self.assertFalse(values.create_uid | values.write_uid)
        self.assertTrue(all(v.write_date >= before for v in values))
        revenue = values.filtered(lambda v: v.kpi_id.code == "revenue")
        revenue.write({"value": revenue.value + 1.0})
        self.assertEqual(revenue.write_uid, self.env.user)
        # recomputing puts the engine's figure back, again with no user
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        revenue.invalidate_recordset()
        self.assertFalse(revenue.write_uid)

    def test_values_filter_group_sort_by_kam_and_tier(self):
        """The value's KAM and tier are the account's, read through it (not
        stored): the value list still filters, groups and sorts by them, and a
        change of KAM shows on the values already written."""
        self.Value.compute_for_period(
            *Q1, partner_ids=[self.partner_a.id, self.partner_b.id]
        )
        other = self.kam.copy({"login": "kap_test_kam_other", "name": "Other KAM"})
        self.partner_b.key_account_manager_id = other
        domain = [
            ("date_from", "=", Q1[0]),
            ("partner_id", "in", (self.partner_a | self.partner_b).ids),
        ]
        mine = self.Value.search(domain + [("user_id", "=", self.kam.id)])
        self.assertTrue(mine)
        self.assertEqual(mine.partner_id, self.partner_a)
        groups = dict(self.Value._read_group(domain, ["user_id"], ["__count"]))
        self.assertEqual(
            groups,
            {
                self.kam: len(mine),
                other: self.Value.search_count(domain) - len(mine),
            },
        )
        self.assertEqual(
            dict(self.Value._read_group(domain, ["tier_id"], ["__count"])),
            {self.tier: self.Value.search_count(domain)},
        )
        # by the KAM's name (res.users' order): "Test KAM" after "Other KAM"
        ordered = self.Value.search(domain, order="user_id desc, id")
        self.assertEqual(ordered[0].user_id, self.kam)
        self.assertEqual(ordered[-1].user_id, other)
        described = self.Value.fields_get(
            ["user_id", "tier_id"], ["groupable", "store"]
        )
        for fname in ("user_id", "tier_id"):
            self.assertTrue(described[fname]["groupable"], fname)
            self.assertFalse(described[fname]["store"], fname)

    def test_scores_grade_trend_on_partner(self):
        self.Value.compute_for_period(*Q4, partner_ids=[self.partner_a.id])
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        values = self._values(self.partner_a, *Q1)
        self.assertEqual(values["revenue"].score, 100.0)
        self.assertEqual(values["order_count"].score, 75.0)
        growth_score = (1000.0 - 900.0) / 900.0 * 100 / 20.0 * 100
        self.assertAlmostEqual(values["revenue_growth"].score, growth_score)
        expected = (100.0 * 2 + 75.0 + growth_score) / 4
        previous = (87.5 * 2 + 25.0) / 3
        self.assertAlmostEqual(self.partner_a.key_account_score, expected)
        self.assertEqual(self.partner_a.key_account_grade, "B")
        self.assertAlmostEqual(self.partner_a.key_account_trend, expected - previous)
        self.assertEqual(self.partner_a.key_account_score_date, Q1[1])
        # recomputing an older period does not replace the newer score
        self.Value.compute_for_period(*Q4, partner_ids=[self.partner_a.id])
        self.assertAlmostEqual(self.partner_a.key_account_score, expected)
        # configurable grade bands
        self.env["key.account.grade"].search([("name", "=", "A")]).min_score = 80.0
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        self.assertEqual(self.partner_a.key_account_grade, "A")

    def test_lower_direction_score(self):
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        value = self._values(self.partner_a, *Q1)["t_commitment_hours"]
        # 20 h with target 8 h and threshold 48 h: (48 - 20) / (48 - 8)
        self.assertAlmostEqual(value.score, 70.0)

    def test_open_records_behind_a_value(self):
        """Orders in company currency open as themselves; the order count too."""
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        action = self._values(self.partner_a, *Q1)["order_count"].action_open_records()
        self.assertEqual(action["res_model"], "sale.order")
        ids = action["domain"][0][2]
        self.assertEqual(
            set(ids), set((self.o_first | self.o_last | self.o_foreign).ids)
        )

    def test_records_behind_a_value_in_another_currency_add_up(self):
        """A foreign-currency order among them: the records open as lines
        measured in the company currency (400 at rate 2 counts 200), whose
        total is the value, each opening its order."""
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        value = self._values(self.partner_a, *Q1)["revenue"]
        action = value.action_open_records()
        self.assertEqual(action["res_model"], "key.account.kpi.evidence")
        lines = self.env["key.account.kpi.evidence"].browse(action["domain"][0][2])
        self.assertEqual(
            {(line.res_model, line.res_id) for line in lines},
            {("sale.order", o.id) for o in self.o_first | self.o_last | self.o_foreign},
        )
        self.assertAlmostEqual(sum(lines.mapped("measure")), value.value)
        foreign = lines.filtered(lambda line: line.res_id == self.o_foreign.id)
        self.assertAlmostEqual(foreign.measure, 200.0)
        self.assertIn("Untaxed Amount", action["name"])
        opened = foreign.action_open_record()
        self.assertEqual(
            (opened["res_model"], opened["res_id"]), ("sale.order", self.o_foreign.id)
        )
        # the lines are the addon's: nobody writes them by hand
        with self.assertRaises(UserError):
            self.env["key.account.kpi.evidence"].create({"measure": 1.0})

    def test_template_resolution_precedence(self):
        Template = self.env["key.account.kpi.template"]
        segment = self.env["key.account.segment"].create({"name": "Public sector"})
        tier_default = Template.create({"name": "Tier default"})
        matching = Template.create(
            {
                "name": "Tier x segment",
                "tier_ids": [Command.set(self.tier.ids)],
                "segment_ids": [Command.set(segment.ids)],
            }
        )
        self.tier.template_id = tier_default
        partner = self.env["res.partner"].create(
            {
                "name": "Resolution",
                "is_company": True,
                "key_account_tier_id": self.tier.id,
            }
        )
        self.assertEqual(
            Template._resolve_for_partners(partner)[partner.id], tier_default
        )
        partner.key_account_segment_id = segment
        self.assertEqual(Template._resolve_for_partners(partner)[partner.id], matching)
        partner.key_account_template_id = self.template
        self.assertEqual(
            Template._resolve_for_partners(partner)[partner.id], self.template
        )

    def test_template_resolution_reads_active_own_then_shared(self):
        """The resolution (one statement) follows what the ORM shows: an
        archived template, tier or account type does not match, the
        company's own templates come before shared ones, then by sequence;
        another company's templates never match; the source says why."""
        Template = self.env["key.account.kpi.template"]
        Tier = self.env["key.account.tier"]
        segment = self.env["key.account.segment"].create({"name": "Utilities"})
        gone_segment = self.env["key.account.segment"].create({"name": "Gone"})
        tier = Tier.create({"name": "Resolution tier"})
        other_company = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        Template.create(
            {
                "name": "Elsewhere",
                "company_id": other_company.id,
                "sequence": 0,
                "tier_ids": [Command.set(tier.ids)],
            }
        )
        shared = Template.create(
            {"name": "Shared", "sequence": 1, "tier_ids": [Command.set(tier.ids)]}
        )
        own = Template.create(
            {
                "name": "Own",
                "company_id": self.env.company.id,
                "sequence": 5,
                "tier_ids": [Command.set(tier.ids)],
            }
        )
        by_segment = Template.create(
            {
                "name": "By segment",
                "company_id": self.env.company.id,
                "sequence": 9,
                "tier_ids": [Command.set(tier.ids)],
                "segment_ids": [Command.set((segment | gone_segment).ids)],
            }
        )
        partner = self.env["res.partner"].create(
            {"name": "Resolved", "is_company": True, "key_account_tier_id": tier.id}
        )

        def resolved():
            sources = {}
            template = Template._resolve_for_partners(partner, sources=sources)[
                partner.id
            ]
            return template, sources[partner.id]

        self.assertEqual(resolved(), (own, "tier_segment"))
        partner.key_account_segment_id = segment
        self.assertEqual(resolved(), (by_segment, "tier_segment"))
        partner.key_account_segment_id = gone_segment
        self.assertEqual(resolved(), (by_segment, "tier_segment"))
        gone_segment.active = False
        self.assertEqual(resolved(), (own, "tier_segment"))
        own.active = False
        self.assertEqual(resolved(), (shared, "tier_segment"))
        shared.active = False
        tier.template_id = own  # a tier's default is used even when archived
        self.assertEqual(resolved(), (own, "tier"))
        tier.template_id = False
        default = Template.search([("is_company_default", "=", True)], limit=1)
        self.assertEqual(
            resolved(), (default, "company") if default else (Template, False)
        )
        # an archived tier matches no template of its own
        own.active = True
        tier.active = False
        self.assertEqual(resolved()[1], "company" if default else False)

    def test_written_figures_have_no_index(self):
        """The figures the engine and the customer value write on every
        account (company-dependent columns of the partner) have no index,
        which would keep PostgreSQL from updating the rows in place."""
        fields = self.env["res.partner"]._fields
        figures = sorted(
            name
            for name, field in fields.items()
            if name.startswith("key_account_") and field.company_dependent
        )
        self.assertIn("key_account_score", figures)
        self.assertIn("key_account_clv", figures)
        self.env.cr.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'res_partner'"
        )
        indexed = [
            (index, definition)
            for index, definition in self.env.cr.fetchall()
            if any(
                '"%s"' % name in definition
                or " %s " % name in definition
                or "(%s" % name in definition
                for name in figures
            )
        ]
        self.assertEqual(indexed, [])

    def test_cached_configuration_follows_every_change(self):
        """Template resolution and the templates' bands are read once and
        cached (the account page and every computation ask them): a second
        ask reads nothing, and a change of a line, a template or a tier is
        seen at once, in the same transaction."""
        Template = self.env["key.account.kpi.template"]
        template = self.template
        revenue, orders = self.kpi["revenue"], self.kpi["order_count"]

        def bands():
            return Template.browse(template.id)._kpi_bands()[template.id]

        self.assertEqual(bands()[revenue.id], (1000.0, 200.0, 2.0))
        partner = self.partner_a
        rows = {partner.id: (False, self.tier.id, False)}
        Template._resolve_for_rows(rows)
        with self.assertQueryCount(0):
            bands()
            Template._resolve_for_rows(rows)
        line = template.line_ids.filtered(lambda line: line.kpi_id == revenue)
        line.target = 1500.0
        self.assertEqual(bands()[revenue.id], (1500.0, 200.0, 2.0))
        line.weight = 3.0
        self.assertEqual(bands()[revenue.id], (1500.0, 200.0, 3.0))
        template.line_ids.filtered(lambda line: line.kpi_id == orders).unlink()
        self.assertNotIn(orders.id, bands())
        template.line_ids = [
            Command.create(
                {"kpi_id": orders.id, "weight": 1.0, "target": 8.0, "threshold": 1.0}
            )
        ]
        self.assertEqual(bands()[orders.id], (8.0, 1.0, 1.0))
        # a new tier with its default template, then the template archived
        # from the tier's side and the tier's default changed
        tier = self.env["key.account.tier"].create(
            {"name": "Cached tier", "template_id": template.id}
        )
        rows = {partner.id: (False, tier.id, False)}
        self.assertEqual(Template._resolve_for_rows(rows)[partner.id], template.id)
        other = Template.create({"name": "Other", "tier_ids": [Command.set(tier.ids)]})
        self.assertEqual(Template._resolve_for_rows(rows)[partner.id], other.id)
        other.tier_ids = [Command.clear()]
        self.assertEqual(Template._resolve_for_rows(rows)[partner.id], template.id)
        tier.template_id = other
        self.assertEqual(Template._resolve_for_rows(rows)[partner.id], other.id)
        other.unlink()
        self.assertNotEqual(Template._resolve_for_rows(rows)[partner.id], other.id)
        # a company deleted: its templates become shared (the database sets
        # their company to null), and the other companies' choice sees them
        # (Odoo clears the registry's caches when a company is deleted)
        elsewhere = self.env["res.company"].create({"name": "Closing Ltd"})
        tier.template_id = False
        theirs = Template.create(
            {
                "name": "Theirs",
                "company_id": elsewhere.id,
                "tier_ids": [Command.set(tier.ids)],
            }
        )
        self.assertNotEqual(Template._resolve_for_rows(rows)[partner.id], theirs.id)
        elsewhere.unlink()
        self.assertFalse(theirs.company_id)
        self.assertEqual(Template._resolve_for_rows(rows)[partner.id], theirs.id)

    def test_query_count_independent_of_partner_count(self):
        partners = self.env["res.partner"]
        for index in range(100):
            partners |= self._make_account("Bulk %s" % index)
        for index, partner in enumerate(partners):
            self._order(
                partner, 100.0 + index, self._local(2025, 2, 1 + index % 27, 10, 0, 0)
            )
        # warm the caches once (registry, ormcache, compiled views)
        self.Value.compute_for_period(*Q1, partner_ids=partners[:3].ids)

        def count_queries(some_partners):
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            self.Value.compute_for_period(*Q1, partner_ids=some_partners.ids)
            self.env.flush_all()
            return self.cr.sql_log_count - before

        small = count_queries(partners[:10])
        self.env.invalidate_all()
        with self.assertQueryCount(small):
            self.Value.compute_for_period(*Q1, partner_ids=partners.ids)
        self.assertEqual(
            self.Value.search_count(
                [
                    ("partner_id", "in", partners.ids),
                    ("kpi_id", "=", self.kpi["revenue"].id),
                    ("date_from", "=", Q1[0]),
                ]
            ),
            100,
        )

    def test_cron_isolates_a_broken_kpi(self):
        self.env.cr.execute(
            "UPDATE key_account_kpi SET domain = %s WHERE id = %s",
            ["[('no_such_field', '=', 1)]", self.kpi_avg.id],
        )
        self.kpi_avg.invalidate_recordset()
        self.Value._cron_compute_kpis()
        self.assertIn("no_such_field", self.kpi_avg.last_error)
        self.assertTrue(self.kpi_avg.last_run)
        self.assertFalse(self.kpi["revenue"].last_error)
        self.assertTrue(self.kpi["revenue"].last_success)
        today = fields.Date.context_today(self.Value)
        period = kpi_math.period_bounds(today, self.company.key_account_period_type)
        values = self._values(self.partner_a, *period)
        self.assertIn("revenue", values)
        self.assertNotIn("t_avg_order", values)

    def test_records_behind_a_value_through_a_path_add_up(self):
        """A sum read through a path (the list price of each order line's
        product): the records listed with their measure total the value."""
        kpi = self.env["key.account.kpi"].create(
            {
                "name": "List prices sold (path)",
                "code": "t_line_subtotals",
                "computation_mode": "sum",
                "model_id": self.env["ir.model"]._get_id("sale.order.line"),
                "domain": "[('state', '=', 'sale')]",
                "partner_field": "order_id.partner_id",
                "date_field": "order_id.date_order",
                "value_field": "product_id.list_price",
                "target": 1000.0,
                "threshold": 0.0,
            }
        )
        self.template.line_ids = [
            Command.create({"kpi_id": kpi.id, "target": 1000.0, "threshold": 0.0})
        ]
        self.Value.compute_for_period(*Q1, partner_ids=[self.partner_a.id])
        value = self._values(self.partner_a, *Q1)["t_line_subtotals"]
        action = value.action_open_records()
        self.assertEqual(action["res_model"], "key.account.kpi.evidence")
        lines = self.env["key.account.kpi.evidence"].browse(action["domain"][0][2])
        self.assertAlmostEqual(sum(lines.mapped("measure")), value.value)
        self.assertEqual(len(lines), len(set(lines.mapped("res_id"))))
