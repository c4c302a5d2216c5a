"""The appraisal PDF (issue 24, item 6): the person, the team, the period, the
score, the grade, the incentive rate and one row per account with its share,
tier weight, score and source, an accepted external factor noted; printed in
English and in Simplified Chinese. wkhtmltopdf fetches the report's assets
over HTTP: an HttpCase serves them from the test transaction."""

import shutil

from odoo import Command
from odoo.tests import HttpCase, tagged

from odoo.addons.base.models.ir_actions_report import wkhtmltopdf_state

from ..tools import kpi_math
from .common import ReviewCommon, pdf_text, warm_http_statics
from .test_i18n import CJK, load_zh_cn, translated_terms

REPORT = "key_account_performance.action_report_key_account_appraisal"


@tagged("post_install", "-at_install")
class TestAppraisalReport(ReviewCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        warm_http_statics()
        # account A: the KAM 60 %, KAM 2 40 %; its review approved with the
        # revenue hit by an accepted external factor. Account B: KAM 2 alone,
        # from its KPI values.
        cls.partner_a.key_account_member_ids = [
            Command.create({"user_id": cls.kam.id, "role": "sales", "share": 0.6}),
            Command.create({"user_id": cls.kam2.id, "role": "technical", "share": 0.4}),
        ]
        cls._approve_review_a_with_external_factor("Price war")
        Appraisal = cls.env["key.account.appraisal"]
        cls.appraisal = Appraisal.search(
            [("user_id", "=", cls.kam2.id), ("date_from", "=", cls.P[0])]
        )

    def setUp(self):
        super().setUp()
        if wkhtmltopdf_state != "ok":
            self.skipTest("wkhtmltopdf is not installed")
        if not shutil.which("pdftotext"):
            self.skipTest("pdftotext (poppler-utils) is not installed")

    def _print(self, env):
        """(text of the PDF, HTML) of the appraisal printed in ``env``."""
        pdf, report_type = (
            env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, self.appraisal.ids)
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"), "a PDF was rendered")
        text = pdf_text(pdf)
        html = (
            env["ir.actions.report"]
            ._render_qweb_html(REPORT, self.appraisal.ids)[0]
            .decode()
        )
        return text, html

    def _assert_content(self, text):
        appraisal = self.appraisal
        self.assertEqual(len(appraisal.line_ids), 2)
        self.assertTrue(appraisal.grade)
        for expected in (
            self.kam2.name,
            kpi_math.format_score(appraisal.score),
            self.partner_a.name,
            self.partner_b.name,
        ):
            self.assertIn(expected, text)
        self.assertIn("%s / 100" % kpi_math.format_score(appraisal.score), text)
        self.assertIn(
            "\n%s\n" % appraisal.grade, text, "the grade on a line of its own"
        )

    def test_english(self):
        text, html = self._print(
            self.env(user=self.manager, context=dict(self.env.context, lang="en_US"))
        )
        self._assert_content(text)
        self.assertIn("Key Account Appraisal", text)
        self.assertFalse(CJK.search(text), "no Chinese in the English appraisal")
        # the shares, the tier weight, the sources, the accepted external factor
        self.assertIn("40 %", text)
        self.assertIn("100 %", text)
        self.assertIn("Approved Review", text)
        self.assertIn("KPI Values", text)
        self.assertIn("External factor accepted", text)
        self.assertIn("Competitor", html)
        self.assertIn("Price war", html)

    def test_chinese(self):
        load_zh_cn(self.env)
        self.env["res.lang"]._activate_lang("en_US")
        self.manager.lang = "zh_CN"
        terms = translated_terms()
        # the reader's language: a Chinese-speaking manager prints it in Chinese
        text, html = self._print(self.env(user=self.manager, context={}))
        self._assert_content(text)
        for term in ("Key Account Appraisal", "Approved Review", "KPI Values"):
            self.assertTrue(CJK.search(terms[term]), terms[term])
            self.assertIn(terms[term], text)
        self.assertNotIn("Key Account Appraisal", html)
