"""A newcomer's first hour (issue 22): the screens say what applies and what
adds up, and a new KPI saves with its defaults."""

from lxml import etree

from odoo import Command
from odoo.tests import Form, tagged

from .common import ReviewCommon


@tagged("post_install", "-at_install")
class TestNewcomer(ReviewCommon):
    # ------------------------------------------------------------------
    # Item 8: the template that applies, and where it comes from
    # ------------------------------------------------------------------
    def test_template_used_and_where_it_comes_from(self):
        Template = self.env["key.account.kpi.template"]
        tier = self.env["key.account.tier"].create({"name": "Newcomer tier"})
        segment = self.env["key.account.segment"].create({"name": "Newcomer type"})
        other_segment = self.env["key.account.segment"].create(
            {"name": "Newcomer other type"}
        )
        matching = Template.create(
            {
                "name": "Newcomer tier x type",
                "tier_ids": [Command.set(tier.ids)],
                "segment_ids": [Command.set(segment.ids)],
            }
        )
        tier_default = Template.create({"name": "Newcomer tier default"})
        tier.template_id = tier_default
        company_default = Template.search(
            [("is_company_default", "=", True), ("company_id", "in", [False])]
        )[:1]
        Partner = self.env["res.partner"]
        own, by_type, by_tier, plain = Partner.create(
            [
                {
                    "name": "Own",
                    "is_company": True,
                    "key_account_tier_id": tier.id,
                    "key_account_template_id": self.template.id,
                },
                {
                    "name": "By type",
                    "is_company": True,
                    "key_account_tier_id": tier.id,
                    "key_account_segment_id": segment.id,
                },
                {
                    "name": "By tier",
                    "is_company": True,
                    "key_account_tier_id": tier.id,
                    "key_account_segment_id": other_segment.id,
                },
                {"name": "No tier", "is_company": True},
            ]
        )
        partners = own | by_type | by_tier | plain
        partners.invalidate_recordset()
        got = [
            (p.key_account_template_effective_id, p.key_account_template_source)
            for p in partners
        ]
        self.assertEqual(
            got,
            [
                (self.template, "own"),
                (matching, "tier_segment"),
                (tier_default, "tier"),
                (company_default, "company" if company_default else False),
            ],
        )
        # the same as the engine's resolution
        resolved = self.env["key.account.kpi.template"]._resolve_for_partners(partners)
        for partner in partners:
            self.assertEqual(
                partner.key_account_template_effective_id, resolved[partner.id]
            )
        # a KAM sees it on the account's page, beside the template field
        by_type.key_account_manager_id = self.kam
        form = Form(by_type.with_user(self.kam))
        self.assertEqual(form.key_account_template_effective_id, matching)
        self.assertEqual(form.key_account_template_source, "tier_segment")
        arch = etree.fromstring(
            Partner.with_user(self.kam).get_view(
                self.env.ref("base.view_partner_form").id
            )["arch"]
        )
        group = arch.xpath(
            "//group[field[@name='key_account_template_id']"
            " and field[@name='key_account_template_effective_id']]"
        )
        self.assertTrue(group, "the template used sits next to the KPI Template")
        self.assertTrue(group[0].xpath("field[@name='key_account_template_source']"))

    # ------------------------------------------------------------------
    # Item 9: a new KPI saves with the form's defaults
    # ------------------------------------------------------------------
    def test_new_kpi_saves_with_its_defaults(self):
        form = Form(self.env["key.account.kpi"])
        form.name = "Visits"
        form.code = "t_newcomer_visits"
        self.assertEqual((form.target, form.threshold), (100.0, 0.0))
        form.direction = "lower"
        self.assertEqual((form.target, form.threshold), (0.0, 100.0))
        form.model_id = self.env["ir.model"]._get("sale.order")
        form.partner_field = "partner_id"
        form.date_field = "date_order"
        kpi = form.save()
        self.assertEqual((kpi.target, kpi.threshold), (0.0, 100.0))
        # a manual KPI starts on its scale (1-5: 5 scores 100)
        form = Form(self.env["key.account.kpi"])
        form.name = "Trust"
        form.code = "t_newcomer_trust"
        form.computation_mode = "manual"
        self.assertEqual((form.target, form.threshold), (5.0, 1.0))
        form.save()
        # a band typed in stays when the mode changes
        form = Form(self.env["key.account.kpi"])
        form.name = "Spend"
        form.code = "t_newcomer_spend"
        form.target, form.threshold = 5000.0, 1000.0
        form.direction = "higher"
        form.computation_mode = "sum"
        self.assertEqual((form.target, form.threshold), (5000.0, 1000.0))

    # ------------------------------------------------------------------
    # Item 13: the breakdown's total row is the score and its change
    # ------------------------------------------------------------------
    def test_breakdown_total_is_the_score_and_its_change(self):
        Value = self.env["key.account.kpi.value"]
        Value.compute_for_period(*self.P0, partner_ids=self.partner_a.ids)
        Value.compute_for_period(*self.P, partner_ids=self.partner_a.ids)
        partner = self.partner_a
        partner.invalidate_recordset()
        lines = partner.key_account_breakdown_ids
        self.assertTrue(lines)
        self.assertAlmostEqual(sum(lines.mapped("points")), partner.key_account_score)
        self.assertAlmostEqual(
            sum(lines.mapped("delta_points"))
            + partner.key_account_breakdown_gone_points,
            partner.key_account_trend,
        )
        # the embedded list sums both columns in its total row
        arch = etree.fromstring(
            self.env["res.partner"]
            .with_user(self.kam)
            .get_view(self.env.ref("base.view_partner_form").id)["arch"]
        )
        columns = arch.xpath("//field[@name='key_account_breakdown_ids']/list/field")
        sums = {col.get("name"): col.get("sum") for col in columns}
        self.assertTrue(sums["points"])
        self.assertTrue(sums["delta_points"])

    # ------------------------------------------------------------------
    # Item 10: small frictions of reviews
    # ------------------------------------------------------------------
    def test_review_frictions(self):
        cycle = self._cycle()
        cycle.action_generate_reviews()
        review = cycle.review_ids.filtered(lambda r: r.partner_id == self.partner_a)
        line = review.line_ids[:1]
        # a second click on Action opens the line's action, no duplicate
        first = line.action_create_improvement_action()
        second = line.action_create_improvement_action()
        self.assertEqual(first["res_id"], second["res_id"])
        self.assertEqual(
            self.env["key.account.improvement.action"].search_count(
                [("review_line_id", "=", line.id)]
            ),
            1,
        )
        arch = etree.fromstring(
            self.env["key.account.review"]
            .with_user(self.kam)
            .get_view(
                self.env.ref("key_account_performance.key_account_review_view_form").id
            )["arch"]
        )
        # the button hides once the line has an action
        button = arch.xpath("//button[@name='action_create_improvement_action']")[0]
        self.assertIn("action_count", button.get("invisible"))
        # a rejected review's status bar reads Draft › Submitted › Rejected
        bars = {
            bar.get("invisible"): bar.get("statusbar_visible")
            for bar in arch.xpath("//header/field[@name='state']")
        }
        self.assertEqual(bars.get("state != 'rejected'"), "draft,submitted,rejected")
        self.assertEqual(bars.get("state == 'rejected'"), "draft,submitted,approved")
        # Refresh Reviews says what it did
        result = cycle.action_refresh_reviews()
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn("0 reviews added", result["params"]["message"])
        self.assertIn(
            "2 draft or rejected reviews refreshed", result["params"]["message"]
        )
        self.assertEqual(
            cycle.review_ids.mapped("partner_id") & (self.partner_a | self.partner_b),
            self.partner_a | self.partner_b,
        )
