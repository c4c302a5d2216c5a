import re
import shutil

from odoo.tests import Form, HttpCase, tagged, users

from odoo.addons.base.models.ir_actions_report import wkhtmltopdf_state

from .common import ReviewCommon, pdf_text, warm_http_statics

REPORT = "key_account_performance.action_report_key_account_review"


@tagged("post_install", "-at_install")
class TestReviewReport(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cycle = cls._cycle()
        cycle.action_generate_reviews()
        cls.review = cycle.review_ids.filtered(lambda r: r.partner_id == cls.partner_b)
        cls.review.line_ids.filtered(lambda ln: ln.kpi_id == cls.kpi_manual).with_user(
            cls.kam2
        ).value = 2.0
        cls.review.with_user(cls.kam2).action_submit()
        cls.review.with_user(cls.leader).action_approve()
        line = cls.review.line_ids.filtered(lambda ln: ln.kpi_id == cls.kpi_revenue)
        cls.action = cls.env["key.account.improvement.action"].browse(
            line.with_user(cls.kam2).action_create_improvement_action()["res_id"]
        )
        cls.action.name = "Monthly supply review with the buyer"

    @users("kap_rt_kam2", "kap_rt_leader")
    def test_html_scorecard(self):
        html, report_type = self.env["ir.actions.report"]._render_qweb_html(
            REPORT, self.review.ids
        )
        self.assertEqual(report_type, "html")
        html = html.decode()
        self.assertIn("Key Account Scorecard", html)
        self.assertIn("Review Account B", html)
        self.assertIn(self.review.cycle_id.name, html)
        self.assertIn(self.kpi_revenue.name, html)
        self.assertIn(self.kpi_manual.name, html)
        self.assertIn("%.0f" % self.review.score, html)
        self.assertIn(self.review.grade, html)
        self.assertIn(
            "#f8d7da", html, "the revenue beyond its threshold is coloured red"
        )
        self.assertIn(
            "Monthly supply review with the buyer", html, "open actions are listed"
        )
        # amounts show the company currency, as in the app
        currency = self.review.company_id.currency_id.name
        pattern = r"%s</span>\s*<span[^>]*>\(<span>%s</span>\)" % (
            self.kpi_revenue.name,
            currency,
        )
        self.assertTrue(
            re.search(pattern, html), "the revenue line shows (%s)" % currency
        )

    @users("kap_rt_kam2")
    def test_send_to_customer(self):
        review = self.review.with_env(self.env)
        action = review.action_send_to_customer()
        self.assertEqual(action["res_model"], "mail.compose.message")
        composer = Form(
            self.env["mail.compose.message"].with_context(**action["context"])
        )
        self.assertIn(self.partner_b, composer.partner_ids)
        self.assertIn(review.cycle_id.name, composer.subject)
        self.assertEqual(len(composer.attachment_ids), 1, "the scorecard is attached")
        composer.save().action_send_mail()
        message = review.message_ids.filtered(lambda m: m.message_type == "comment")[:1]
        self.assertIn(self.partner_b, message.partner_ids)
        self.assertEqual(len(message.attachment_ids), 1)
        self.assertEqual(
            review.state, "approved", "sending does not alter the approved review"
        )


@tagged("post_install", "-at_install")
class TestReviewReportPdf(ReviewCommon, HttpCase):
    """wkhtmltopdf fetches the report's assets over HTTP: an HttpCase serves
    them from the test transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        warm_http_statics()

    def test_pdf_scorecard(self):
        if wkhtmltopdf_state != "ok":
            self.skipTest("wkhtmltopdf is not installed")
        cycle = self._cycle()
        cycle.action_generate_reviews()
        review = cycle.review_ids.filtered(lambda r: r.partner_id == self.partner_a)
        pdf, report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, review.ids)
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        # the body carries the company, the account and the period, whichever
        # wkhtmltopdf build renders it (Debian's drops header and footer)
        if shutil.which("pdftotext"):
            text = pdf_text(pdf, layout=True)
            for expected in (
                review.company_id.name,
                review.partner_id.name,
                review.cycle_id.name,
                "Key account manager",
            ):
                self.assertIn(expected, text)
