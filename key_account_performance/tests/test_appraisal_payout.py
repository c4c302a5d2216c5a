"""The payout curve of the appraisal (issue 26, item 5): the curve against
values computed by hand at the threshold, on the ramp, at the target, in the
accelerator and at the cap, in both modes; the settings' preview; the
variable-pay targets and who reads them; the appraisal's payout and its
export."""

import io

import openpyxl

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from ..tools import payout_curve
from .appraisal_common import AppraisalCommon


@tagged("post_install", "-at_install")
class TestPayoutCurve(AppraisalCommon):
    """Threshold 50 paying 50 %, target 80: the ramp is (100 - 50) / (80 - 50)
    = 5/3 % a point; accelerator 1.5."""

    def _set_curve(self, mode, cap):
        self.company.write(
            {
                "key_account_payout_threshold": 50.0,
                "key_account_payout_threshold_rate": 50.0,
                "key_account_payout_target": 80.0,
                "key_account_payout_accelerator": 1.5,
                "key_account_payout_cap": cap,
                "key_account_payout_mode": mode,
            }
        )
        return self.company._key_account_payout_curve()

    def test_marginal_by_hand(self):
        curve = self._set_curve("marginal", 200.0)
        pay = payout_curve.payout_percent
        self.assertEqual(pay(49.99, curve), 0.0)  # below the threshold
        self.assertAlmostEqual(pay(50.0, curve), 50.0)  # at the threshold
        self.assertAlmostEqual(pay(65.0, curve), 75.0)  # 50 + 15 × 5/3
        self.assertAlmostEqual(pay(80.0, curve), 100.0)  # at the target
        # accelerator: only the 6 points above the target at 1.5 × 5/3
        self.assertAlmostEqual(pay(86.0, curve), 115.0)
        self.assertAlmostEqual(pay(100.0, curve), 150.0)  # 100 + 20 × 2.5
        curve = self._set_curve("marginal", 140.0)
        self.assertAlmostEqual(pay(94.0, curve), 135.0)  # below the cap
        self.assertAlmostEqual(pay(96.0, curve), 140.0)  # 140 reached at 96
        self.assertAlmostEqual(pay(100.0, curve), 140.0)  # capped
        self.assertAlmostEqual(payout_curve.cap_score(curve), 96.0)

    def test_tiered_by_hand(self):
        curve = self._set_curve("tiered", 200.0)
        pay = payout_curve.payout_percent
        self.assertEqual(pay(49.99, curve), 0.0)
        self.assertAlmostEqual(pay(50.0, curve), 50.0)
        self.assertAlmostEqual(pay(65.0, curve), 75.0)
        self.assertAlmostEqual(pay(80.0, curve), 100.0)  # the target pays 100 %
        # above the target the whole payout is accelerated: 1.5 × (50 + 36 × 5/3)
        self.assertAlmostEqual(pay(86.0, curve), 165.0)
        self.assertAlmostEqual(pay(81.0, curve), 1.5 * (50 + 31 * 5 / 3))
        curve = self._set_curve("tiered", 140.0)
        self.assertAlmostEqual(pay(86.0, curve), 140.0)  # capped
        self.assertAlmostEqual(pay(100.0, curve), 140.0)

    def test_invalid_curve_refused(self):
        with self.assertRaises(ValidationError):
            self.company.key_account_payout_threshold = 90.0  # above the target
        with self.assertRaises(ValidationError):
            self.company.key_account_payout_threshold_rate = 120.0
        with self.assertRaises(ValidationError):
            self.company.key_account_payout_cap = -1.0

    def test_settings_preview(self):
        self.env.user.groups_id |= self.env.ref(
            "key_account_performance.group_key_account_admin"
        )
        settings = Form(self.env["res.config.settings"])
        settings.key_account_payout_threshold = 50.0
        settings.key_account_payout_threshold_rate = 50.0
        settings.key_account_payout_target = 80.0
        settings.key_account_payout_accelerator = 1.5
        settings.key_account_payout_cap = 200.0
        settings.key_account_payout_mode = "marginal"
        preview = str(settings.key_account_payout_preview)
        self.assertIn("<svg", preview)
        self.assertIn("<td>80.0</td><td>100.0 %</td>", preview)
        self.assertIn("<td>40.0</td><td>0.0 %</td>", preview)
        self.assertIn("<td>100.0</td><td>150.0 %</td>", preview)
        # the preview follows the form before it is saved
        settings.key_account_payout_mode = "tiered"
        self.assertIn(
            "<td>81.0</td><td>%s %%</td>" % f"{1.5 * (50 + 31 * 5 / 3):.1f}",
            str(settings.key_account_payout_preview),
        )
        settings.key_account_payout_mode = "marginal"
        settings.save().execute()
        self.assertEqual(self.env.company.key_account_payout_mode, "marginal")


@tagged("post_install", "-at_install")
class TestAppraisalPayout(AppraisalCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "key_account_payout_threshold": 50.0,
                "key_account_payout_threshold_rate": 50.0,
                "key_account_payout_target": 80.0,
                "key_account_payout_accelerator": 1.5,
                "key_account_payout_cap": 150.0,
                "key_account_payout_mode": "marginal",
            }
        )
        PayTarget = cls.env["key.account.pay.target"]
        cls.target_kam = PayTarget.create(
            {"user_id": cls.kam.id, "company_id": cls.company.id, "amount": 12000.0}
        )
        cls.target_kam2 = PayTarget.create(
            {"user_id": cls.kam2.id, "company_id": cls.company.id, "amount": 9000.0}
        )

    def test_payout_by_hand(self):
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine, theirs = self._appraisal(self.kam), self._appraisal(self.kam2)
        # score 62.5 (test_appraisal.test_score_by_hand): 50 + 12.5 × 5/3 %
        self.assertAlmostEqual(mine.score, 62.5, places=6)
        self.assertAlmostEqual(mine.payout_percent, 50 + 12.5 * 5 / 3, places=6)
        self.assertAlmostEqual(mine.payout_target, 12000.0)
        self.assertAlmostEqual(mine.payout_amount, 8500.0, places=2)
        # KAM 2 scores below the threshold: nothing is paid
        self.assertLess(theirs.score, 50.0)
        self.assertEqual(theirs.payout_percent, 0.0)
        self.assertEqual(theirs.payout_amount, 0.0)
        self.assertEqual(theirs.payout_target, 9000.0)
        # a new target is taken by the next computation of a draft
        self.target_kam.amount = 6000.0
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam.id])
        self.assertAlmostEqual(mine.payout_amount, 4250.0, places=2)
        # an approved appraisal keeps its payout
        mine.with_user(self.kam).action_submit()
        mine.with_user(self.leader).action_approve()
        self.target_kam.amount = 1.0
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam.id])
        self.assertAlmostEqual(mine.payout_amount, 4250.0, places=2)

    def test_payout_refused_by_hand(self):
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        mine = self._appraisal(self.kam)
        for user in (self.manager, self.admin):
            with self.assertRaises(UserError):
                mine.with_user(user).write({"payout_amount": 1e6})

    def test_who_reads_the_targets(self):
        PayTarget = self.env["key.account.pay.target"]
        self.assertEqual(PayTarget.with_user(self.kam).search([]), self.target_kam)
        self.assertFalse(
            PayTarget.with_user(self.kam).search([("user_id", "=", self.kam2.id)])
        )
        with self.assertRaises(AccessError):
            self.target_kam.with_user(self.kam).amount = 1e6
        # the manager sets them
        self.target_kam2.with_user(self.manager).amount = 9500.0
        self.assertEqual(self.target_kam2.amount, 9500.0)

    def test_export_carries_the_payout(self):
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to)
        appraisals = self._appraisal(self.kam) | self._appraisal(self.kam2)
        action = appraisals.with_user(self.manager).action_export_incentives()
        attachment = self.env["ir.attachment"].browse(
            int(action["url"].split("/")[-1].split("?")[0])
        )
        rows = list(openpyxl.load_workbook(io.BytesIO(attachment.raw)).active.values)
        self.assertEqual(
            rows[0][-4:], ("Variable-Pay Target", "Payout (%)", "Payout", "Currency")
        )
        by_person = {row[0]: row for row in rows[1:]}
        currency = self.company.currency_id.name
        self.assertEqual(by_person[self.kam.name][-4:], (12000, 70.83, 8500, currency))
        self.assertEqual(by_person[self.kam2.name][-4:], (9000, 0, 0, currency))
