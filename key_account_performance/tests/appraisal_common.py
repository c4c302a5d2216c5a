"""The appraisal tests' shared case (test_appraisal.TestAppraisal and the
payout, ranking and dispute tests): account A is shared by the KAM (60 %)
and KAM 2 (40 %), its approved review has revenue hit by an accepted
external factor; account B (KAM 2 alone, tier weight 2) has no approved
review and counts with its KPI values."""

from odoo import Command

from .common import ReviewCommon


class AppraisalCommon(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.key_account_appraisal_long_term_weight = 0.3
        cls.tier2 = cls.env["key.account.tier"].create(
            {"name": "Appraisal test tier 2", "sequence": 97, "appraisal_weight": 2.0}
        )
        cls.partner_b.key_account_tier_id = cls.tier2
        cls.partner_a.write(
            {
                "key_account_member_ids": [
                    Command.create(
                        {"user_id": cls.kam.id, "role": "sales", "share": 0.6}
                    ),
                    Command.create(
                        {"user_id": cls.kam2.id, "role": "after_sales", "share": 0.4}
                    ),
                ]
            }
        )
        cls._generate_cycle()
        Appraisal = cls.env["key.account.appraisal"]
        cls.Appraisal = Appraisal
        cls.date_from, cls.date_to = (str(d) for d in cls.P)

    def _approve_a_with_external_factor(self):
        review = self.review_a.with_user(self.kam)
        self._line(review, self.kpi_revenue).write(
            {
                "external_factor": True,
                "external_factor_reason": "competitor",
                "external_factor_note": "A competitor's price war",
            }
        )
        self._fill_and_submit(review, value=4.0)
        self.review_a.with_user(self.leader).action_approve()

    def _appraisal(self, user):
        return self.Appraisal.search(
            [
                ("user_id", "=", user.id),
                ("date_from", "=", self.P[0]),
                ("company_id", "=", self.company.id),
            ]
        )
