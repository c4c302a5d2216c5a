"""Browser tours of the appraisal (static/tests/tours/key_account_appraisal_tours.js):
the KAM's path (My Appraisal, the appraisal, its accounts, submit) and the
manager's (Team Appraisals, the KAM's appraisal, approve). The data is built
here (ReviewCommon, no demo data): account A shared by the KAM and KAM 2, its
review approved with an accepted external factor; account B shared by KAM 2
and the KAM, counted from its KPI values."""

from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import ReviewCommon


@tagged("post_install", "-at_install", "is_tour")
class TestAppraisalTours(ReviewCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in (cls.kam, cls.kam2, cls.manager):
            user.password = user.login
        cls.partner_a.key_account_member_ids = [
            Command.create({"user_id": cls.kam.id, "role": "sales", "share": 0.6}),
            Command.create({"user_id": cls.kam2.id, "role": "technical", "share": 0.4}),
        ]
        cls.partner_b.key_account_member_ids = [
            Command.create({"user_id": cls.kam2.id, "role": "sales", "share": 0.5}),
            Command.create(
                {"user_id": cls.kam.id, "role": "after_sales", "share": 0.5}
            ),
        ]
        cls._approve_review_a_with_external_factor("A competitor's price war")
        Appraisal = cls.env["key.account.appraisal"]
        cls.mine = Appraisal.search(
            [("user_id", "=", cls.kam.id), ("date_from", "=", cls.P[0])]
        )
        cls.theirs = Appraisal.search(
            [("user_id", "=", cls.kam2.id), ("date_from", "=", cls.P[0])]
        )

    def test_kam_then_manager(self):
        self.assertEqual(len(self.mine.line_ids), 2)
        self.assertEqual(self.mine.state, "draft")
        self.start_tour(
            "/odoo/key-accounts", "kap_kam_appraisal_tour", login=self.kam.login
        )
        self.assertEqual(self.mine.state, "submitted")
        self.assertEqual(self.mine.submitted_by_id, self.kam)
        self.start_tour(
            "/odoo/key-accounts",
            "kap_manager_appraisal_tour",
            login=self.manager.login,
        )
        self.assertEqual(self.mine.state, "approved")
        self.assertEqual(self.mine.approved_by_id, self.manager)
        self.assertEqual(self.theirs.state, "draft", "only the KAM's was approved")
