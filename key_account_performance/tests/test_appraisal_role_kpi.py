"""Role-specific KPIs (issue 26, item 1): a role with its own KPIs is scored
on those only, with its weights; a role without (sales) counts every KPI of
the template as the design defines it, and so does any role on an account
whose template has none of its KPIs."""

from odoo.tests import tagged

from .appraisal_common import AppraisalCommon


@tagged("post_install", "-at_install")
class TestAppraisalRoleKpi(AppraisalCommon):
    """KAM 2 is after-sales on A (40 %) and the KAM of B (sales, 100 %)."""

    def test_shipped_defaults(self):
        weights = self.env["key.account.role.kpi"]._weights(self.company)
        codes = {
            role: set(self.env["key.account.kpi"].browse(list(kpis)).mapped("code"))
            for role, kpis in weights.items()
        }
        self.assertEqual(
            codes,
            {
                "after_sales": {"csat", "complaint_rate", "renewal_rate"},
                "technical": {"response_time", "resolution_time", "complaint_rate"},
            },
        )
        # A's template has none of the after-sales KPIs: there the role
        # counts every KPI, the design's score (A without revenue, its
        # external factor: (50 + 75) / 2), weighted 1 × 0.4 beside B's 2 × 1
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        theirs = self._appraisal(self.kam2)
        line_a = theirs.line_ids.filtered(lambda x: x.partner_id == self.partner_a)
        self.assertEqual(line_a.role, "after_sales")
        self.assertTrue(line_a.has_score)
        self.assertAlmostEqual(line_a.account_score, 62.5, places=6)
        self.assertAlmostEqual(
            theirs.account_score, (0.4 * 62.5 + 2 * 25.0 / 3) / 2.4, places=6
        )
        # the KAM (sales) counts every KPI: A without revenue, (50 + 75) / 2
        mine = self._appraisal(self.kam)
        self.assertEqual(mine.line_ids.role, "sales")
        self.assertAlmostEqual(mine.account_score, 62.5, places=6)

    def test_company_rows_replace_the_shared_ones(self):
        """After-sales counts order count (weight 2) and the manual KPI
        (weight 1) in this company: A's review has orders 50 and manual 75:
        (2*50 + 75) / 3."""
        RoleKpi = self.env["key.account.role.kpi"]
        RoleKpi.create(
            [
                {
                    "role": "after_sales",
                    "kpi_id": self.kpi_orders.id,
                    "weight": 2.0,
                    "company_id": self.company.id,
                },
                {
                    "role": "after_sales",
                    "kpi_id": self.kpi_manual.id,
                    "weight": 1.0,
                    "company_id": self.company.id,
                },
            ]
        )
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        theirs = self._appraisal(self.kam2)
        line_a = theirs.line_ids.filtered(lambda x: x.partner_id == self.partner_a)
        a_score = (2 * 50 + 75) / 3
        self.assertAlmostEqual(line_a.account_score, a_score, places=6)
        # the same formula over the accounts: (1*0.4*s_A + 2*1*25/3) / 2.4
        self.assertAlmostEqual(
            theirs.account_score, (0.4 * a_score + 2 * 25.0 / 3) / 2.4, places=6
        )
        # the development reads the role's KPIs only on A
        self.assertNotIn(
            self.kpi_revenue,
            theirs.development_ids.filtered(
                lambda d: self.partner_a in d.partner_ids
            ).kpi_id,
        )
        # the review's own score does not change
        self.assertAlmostEqual(line_a.review_score, 56.25, places=6)
