"""Windfalls as well as bad luck (issue 26, item 3): a favourable external
factor is neutralised like an unfavourable one, each factor carries its
evidence, above the materiality threshold it counts only after an
administrator's second approval, and the appraisal shows per account the raw
score, the adjusted one and the reason."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .appraisal_common import AppraisalCommon


@tagged("post_install", "-at_install")
class TestExternalFactorBothWays(AppraisalCommon):
    """Review A: revenue 50 (weight 2), orders 50, manual 4/5 -> 75: raw
    (2*50 + 50 + 75) / 4 = 56.25; without revenue (50 + 75) / 2 = 62.5, so
    leaving revenue out moves the account by +6.25 points."""

    def _mark_and_approve(self, direction, evidence=True):
        review = self.review_a.with_user(self.kam)
        line = self._line(review, self.kpi_revenue)
        vals = {
            "external_factor": True,
            "external_factor_reason": "customer",
            "external_factor_direction": direction,
            "external_factor_note": "The parent company's mandate",
        }
        if evidence:
            vals["external_factor_attachment_ids"] = [
                Command.create({"name": "mandate.pdf", "raw": b"%PDF-1.4 mandate"})
            ]
        line.write(vals)
        self._fill_and_submit(review, value=4.0)
        self.review_a.with_user(self.leader).action_approve()
        return line.with_user(self.env.user)

    def _compute_mine(self):
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam.id])
        return self._appraisal(self.kam)

    def test_windfall_neutralised_like_bad_luck(self):
        line = self._mark_and_approve("favourable")
        self.assertEqual(line.external_factor_attachment_ids.name, "mandate.pdf")
        self.assertAlmostEqual(line.external_factor_impact, 6.25)
        self.assertTrue(line.external_factor_effective)  # no threshold set
        mine = self._compute_mine()
        account = mine.line_ids
        # raw, adjusted and reason side by side
        self.assertAlmostEqual(account.review_score, 56.25)
        self.assertAlmostEqual(account.account_score, 62.5)
        self.assertEqual(account.excluded_count, 1)
        self.assertIn("Windfall", account.factor_note)
        self.assertIn("Customer-Side Event", account.factor_note)
        self.assertIn("+6.2", account.factor_note)
        self.assertAlmostEqual(mine.account_score, 62.5)

    def test_material_factor_needs_second_approval(self):
        self.company.key_account_external_factor_materiality = 5.0
        line = self._mark_and_approve("unfavourable")
        self.assertTrue(line.external_factor_accepted)
        self.assertTrue(line.external_factor_material)
        self.assertFalse(line.external_factor_effective)
        # until then the KPI counts: the raw score
        mine = self._compute_mine()
        self.assertAlmostEqual(mine.line_ids.account_score, 56.25)
        self.assertEqual(mine.line_ids.excluded_count, 0)
        self.assertIn("awaiting second approval", mine.line_ids.factor_note)
        # neither the KAM, nor the manager, nor by hand
        with self.assertRaises(AccessError):
            line.with_user(self.kam).action_second_approve_external_factor()
        with self.assertRaises(AccessError):
            line.with_user(self.manager).action_second_approve_external_factor()
        with self.assertRaises(UserError):
            line.with_user(self.admin).write(
                {"external_factor_second_approver_id": self.admin.id}
            )
        line.with_user(self.admin).action_second_approve_external_factor()
        self.assertEqual(line.external_factor_second_approver_id, self.admin)
        self.assertTrue(line.external_factor_effective)
        mine = self._compute_mine()
        self.assertAlmostEqual(mine.line_ids.account_score, 62.5)
        self.assertNotIn("awaiting", mine.line_ids.factor_note)

    def test_second_approval_needs_evidence(self):
        self.company.key_account_external_factor_materiality = 5.0
        line = self._mark_and_approve("unfavourable", evidence=False)
        with self.assertRaisesRegex(UserError, "evidence"):
            line.with_user(self.admin).action_second_approve_external_factor()

    def test_below_threshold_counts_at_once(self):
        self.company.key_account_external_factor_materiality = 10.0
        line = self._mark_and_approve("favourable")
        self.assertFalse(line.external_factor_material)
        self.assertTrue(line.external_factor_effective)
        self.assertAlmostEqual(self._compute_mine().line_ids.account_score, 62.5)

    def test_second_approval_only_after_the_review(self):
        self.company.key_account_external_factor_materiality = 5.0
        line = self._line(self.review_a.with_user(self.kam), self.kpi_revenue)
        line.write({"external_factor": True, "external_factor_reason": "market"})
        with self.assertRaises(UserError):
            line.with_user(self.admin).action_second_approve_external_factor()

    def test_team_member_reads_the_reasons(self):
        """KAM 2 is credited on A (after-sales) without managing it: their
        appraisal shows A's factor and the portfolio all the same."""
        self.env["key.account.role.kpi"].search([("role", "=", "after_sales")]).unlink()
        self._mark_and_approve("favourable")
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam2.id])
        theirs = self._appraisal(self.kam2).with_user(self.kam2)
        line_a = theirs.line_ids.filtered(lambda x: x.partner_id == self.partner_a)
        self.assertIn("Windfall", line_a.factor_note)
        self.assertIn("×", theirs.portfolio_note)
