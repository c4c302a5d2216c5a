"""Users without an e-mail address go through the workflow; no data is never
read as 0 (a dash, not a zero, and no trend on a first review)."""

from odoo import Command
from odoo.tests import tagged

from .edge_common import EdgeCaseCommon


@tagged("post_install", "-at_install")
class TestMissingEmailsAndFigures(EdgeCaseCommon):
    # ------------------------------------------------------------------
    # users without an e-mail address
    # ------------------------------------------------------------------
    def test_workflow_without_email(self):
        self.kam.partner_id.email = False
        self.leader.partner_id.email = False
        self.outsider.partner_id.email = False
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        self.assertEqual(review.state, "submitted")
        # the approver, who has an address, is notified of the approval to do
        notified = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", review._name),
                    ("res_id", "=", review.id),
                    ("partner_ids", "in", self.leader.partner_id.ids),
                ]
            )
        )
        self.assertTrue(notified, "the approver is notified of the activity")
        review.with_user(self.outsider).action_reject(reason="No notes")
        self.assertEqual(review.state, "rejected")
        self._fill_and_submit(review)
        review.with_user(self.leader).action_approve()
        self.assertEqual(review.state, "approved")
        authors = review.message_ids.author_id
        self.assertIn(self.kam.partner_id, authors)
        self.assertIn(self.leader.partner_id, authors)

    def test_notification_reaches_approver_with_email(self):
        self.kam.partner_id.email = False
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", review._name),
                    ("mail_message_id.res_id", "=", review.id),
                    ("res_partner_id", "=", self.leader.partner_id.id),
                ]
            )
        )
        self.assertTrue(
            notifications.filtered(lambda n: n.notification_type == "email")
        )
        # and the e-mail leaves with a sender, although its author has no address
        messages = notifications.mail_message_id.filtered(
            lambda m: m.author_id == self.kam.partner_id
        )
        self.assertTrue(messages)
        self.assertTrue(
            all(messages.mapped("email_from")), messages.mapped("email_from")
        )

    # ------------------------------------------------------------------
    # no data is not 0
    # ------------------------------------------------------------------
    def test_first_review_has_no_trend(self):
        self.assertFalse(self.review_a.previous_review_id)
        self.assertFalse(self.review_a.has_trend)
        arch = self.env["key.account.review"].get_views(
            [(False, "form"), (False, "list")]
        )["views"]
        for view in ("form", "list"):
            self.assertIn(
                'invisible="not has_trend"', arch[view]["arch"].replace("'", '"')
            )

    def test_no_data_prints_a_dash(self):
        manual_only = self.env["key.account.kpi.template"].create(
            {
                "name": "Manual only (defects)",
                "line_ids": [
                    Command.create(
                        {
                            "kpi_id": self.kpi_manual.id,
                            "weight": 1.0,
                            "target": 5.0,
                            "threshold": 1.0,
                        }
                    )
                ],
            }
        )
        partner = self._make_account("Review Account C", self.kam)
        partner.key_account_template_id = manual_only
        review = self.env["key.account.review"].create(
            {
                "cycle_id": self.cycle.id,
                "partner_id": partner.id,
                "line_ids": [
                    Command.create(vals)
                    for vals in self.env["key.account.review"]._line_values(
                        manual_only, {}
                    )
                ],
            }
        )
        self.assertFalse(review.line_ids.has_value)
        self.assertFalse(review.grade)
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html(
                "key_account_performance.action_report_key_account_review", review.ids
            )[0]
            .decode()
        )
        self.assertNotIn("/ 100", html, "no score is not 0 / 100")
        self.assertGreaterEqual(
            html.count("o_kap_no_data"), 3, "score, value and KPI score: a dash"
        )
        line_arch = self.env["key.account.review"].get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        self.assertIn("not has_value", line_arch)

    def test_partner_without_score_shows_a_dash(self):
        # never computed (no score date): a dash, not a score of 0
        views = (
            self.env["res.partner"]
            .with_user(self.kam)
            .get_views([(False, "form")])["views"]
        )
        arch = views["form"]["arch"].replace("'", '"')
        self.assertIn('invisible="not key_account_score_date"', arch)
        list_arch = self.env.ref(
            "key_account_performance.res_partner_view_list_key_account"
        ).arch.replace("'", '"')
        self.assertIn('invisible="not key_account_score_date"', list_arch)
        # no previous period: no trend (not 0.0); no customer value run: no CLV
        self.assertIn('invisible="not key_account_has_previous"', list_arch)
        self.assertIn('invisible="not key_account_value_date"', list_arch)
        self.assertIn('invisible="not key_account_value_date"', arch)
        cycle_arch = self.env["key.account.review.cycle"].get_views([(False, "form")])[
            "views"
        ]["form"]["arch"]
        self.assertIn(
            'widget="kap_score" invisible="not grade"', cycle_arch.replace("'", '"')
        )
