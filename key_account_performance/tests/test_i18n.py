"""Simplified Chinese: every exported term is translated, shipped data reads
in Chinese, and the PDF scorecard comes out in the reader's language when
printed and in the customer's language when sent to the customer."""

import ast
import base64
import os
import re
import shutil

import polib
from lxml import etree

from odoo import Command
from odoo.modules.module import get_module_path
from odoo.tests import Form, HttpCase, tagged
from odoo.tools.translate import TranslationModuleReader

from odoo.addons.base.models.ir_actions_report import wkhtmltopdf_state

from .common import KeyAccountCase, ReviewCommon, pdf_text, warm_http_statics

MODULE = "key_account_performance"
REPORT = "key_account_performance.action_report_key_account_review"
CJK = re.compile(r"[\u4e00-\u9fff]")


def po_path(lang="zh_CN"):
    return os.path.join(get_module_path(MODULE), "i18n", "%s.po" % lang)


def translated_terms(lang="zh_CN"):
    """{msgid: msgstr} of the terms a .po file really translates (not fuzzy,
    not obsolete, not empty)."""
    path = po_path(lang)
    if not os.path.exists(path):
        return {}
    return {
        entry.msgid: entry.msgstr
        for entry in polib.pofile(path)
        if entry.msgstr.strip() and not entry.obsolete and "fuzzy" not in entry.flags
    }


def load_zh_cn(env):
    """Activate zh_CN and load this addon's zh_CN.po into the database (what
    installing the language does for every module)."""
    env["res.lang"]._activate_lang("zh_CN")
    env["ir.module.module"]._load_module_terms([MODULE], ["zh_CN"], overwrite=True)
    env.invalidate_all()


def demo_xmlids():
    """Full xml ids (module.name) of the records of the manifest's demo files:
    demo data is not part of the .pot (it is exported from a database without
    demo data)."""
    path = get_module_path(MODULE)
    manifest = {}
    with open(os.path.join(path, "__manifest__.py")) as f:
        manifest = ast.literal_eval(f.read())
    ids = set()
    for name in manifest.get("demo", []):
        if name.endswith(".xml"):
            tree = etree.parse(os.path.join(path, name))
            ids.update(
                xmlid if "." in xmlid else "%s.%s" % (MODULE, xmlid)
                for xmlid in (
                    node.get("id")
                    for node in tree.iter("record", "template", "menuitem")
                )
                if xmlid
            )
    return ids


def is_demo_record(res_id, demo):
    """A record the demo data made: of a demo file, or one demo/ (loader.py and its steps)
    names demo_* (the reader gives its xml id as 'key_account_performance.demo_...')."""
    module, _, name = str(res_id).partition(".")
    return res_id in demo or (module == MODULE and name.startswith("demo_"))


@tagged("post_install", "-at_install")
class TestI18nCoverage(KeyAccountCase):
    def test_every_term_has_a_zh_cn_translation(self):
        """Export the addon's terms from the database (as ./kap i18n does) and
        list every one that zh_CN.po leaves untranslated."""
        self.assertTrue(
            os.path.exists(po_path()),
            "key_account_performance/i18n/zh_CN.po is missing",
        )
        translated = translated_terms()
        demo = demo_xmlids()
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE])
        missing = {}
        exported = 0
        skipped = set()
        for module, ttype, name, res_id, source, _value, _comments in reader:
            if module != MODULE:
                continue
            # demo records (demo files, and those demo/ (loader.py and its steps) names demo_*)
            # are not part of the .pot, exported from a database without demo data
            if ttype in ("model", "model_terms") and is_demo_record(res_id, demo):
                skipped.add(res_id)
                continue
            exported += 1
            if source not in translated:
                missing.setdefault(source, "%s:%s:%s" % (ttype, name, res_id))
        self.assertGreater(exported, 300, "the export found the addon's terms")
        # with demo data loaded, its records are recognised (and skipped)
        team = "%s.demo_team_key_accounts" % MODULE
        if self.env.ref(team, raise_if_not_found=False):
            self.assertIn(team, skipped, "the demo sales team's name is not exported")
        self.assertFalse(
            missing,
            "%d term(s) without a zh_CN translation in i18n/zh_CN.po "
            "(run ./kap i18n, then translate them):\n%s"
            % (
                len(missing),
                "\n".join("  %r  (%s)" % item for item in sorted(missing.items())),
            ),
        )

    def test_translations_keep_placeholders(self):
        """A translation keeps the source's %(name)s / %s / {{ }} placeholders."""
        placeholder = re.compile(
            r"%\(\w+\)[-+ #0]*\d*(?:\.\d+)?[sdfr]|%[sdfr]|\{\{.*?\}\}"
        )
        wrong = [
            (source, target)
            for source, target in translated_terms().items()
            if sorted(placeholder.findall(source))
            != sorted(placeholder.findall(target))
        ]
        self.assertFalse(
            wrong,
            "translations that lose or add placeholders:\n%s"
            % "\n".join(map(repr, wrong)),
        )

    def test_shipped_data_reads_in_chinese(self):
        load_zh_cn(self.env)
        revenue = self.env["key.account.kpi"].search(
            [("code", "=", "revenue"), ("company_id", "=", False)]
        )
        self.assertEqual(revenue.name, "Revenue")
        name_zh = revenue.with_context(lang="zh_CN").name
        self.assertEqual(name_zh, translated_terms()["Revenue"])
        self.assertTrue(CJK.search(name_zh), name_zh)
        self.assertEqual(revenue.with_context(lang="en_US").name, "Revenue")
        tiers = self.env["key.account.tier"].with_context(lang="zh_CN").search([])
        self.assertTrue(
            tiers
            and all(
                CJK.search(tier.name)
                for tier in tiers
                if tier.get_external_id()[tier.id].startswith(MODULE + ".")
            ),
            "the shipped tiers read in Chinese",
        )
        # a message raised from Python (code translation read from the .po)
        self.assertTrue(
            CJK.search(self.env(context={"lang": "zh_CN"})._("Send Scorecard"))
        )


@tagged("post_install", "-at_install")
class TestScorecardLanguage(ReviewCommon, HttpCase):
    """The scorecard PDF, printed and sent, in Chinese and in English.
    wkhtmltopdf fetches the report's assets over HTTP: an HttpCase serves them
    from the test transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        warm_http_statics()
        load_zh_cn(cls.env)
        # a database created with --load-language=zh_CN may have English inactive
        cls.env["res.lang"]._activate_lang("en_US")
        cls.partner_a.lang = "zh_CN"
        cls.partner_b.lang = "en_US"
        cls._generate_cycle()
        cls.zh_terms = translated_terms()

    def setUp(self):
        super().setUp()
        if wkhtmltopdf_state != "ok":
            self.skipTest("wkhtmltopdf is not installed")
        if not shutil.which("pdftotext"):
            self.skipTest("pdftotext (poppler-utils) is not installed")

    def _text(self, pdf):
        self.assertTrue(pdf.startswith(b"%PDF"), "a PDF was rendered")
        text = pdf_text(pdf)
        # the scorecard's font gives back the ideographs as they are shown
        # (Noto CJK gave Kangxi radicals, U+2F24 for 大: NFKC was needed)
        self.assertFalse(
            [ch for ch in text if "\u2f00" <= ch <= "\u2fdf"],
            "no Kangxi radical stands for an ideograph in the PDF's text",
        )
        return text

    def _print(self, review, env):
        """(text of the PDF, HTML) of the scorecard printed in ``env``."""
        pdf, report_type = (
            env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, review.ids)
        )
        self.assertEqual(report_type, "pdf")
        html = (
            env["ir.actions.report"]._render_qweb_html(REPORT, review.ids)[0].decode()
        )
        return self._text(pdf), html

    def _send(self, review):
        """(text of the PDF attached by 'Send to customer', the composer's subject)."""
        action = review.action_send_to_customer()
        composer = Form(
            review.env["mail.compose.message"].with_context(
                action["context"], force_report_rendering=True
            )
        )
        self.assertEqual(len(composer.attachment_ids), 1, "the scorecard is attached")
        return self._text(
            base64.b64decode(composer.attachment_ids[0].datas)
        ), composer.subject

    def assertChinese(self, text):
        title = self.zh_terms["Key Account Scorecard"]
        self.assertIn(title, text, "the Chinese title is in the PDF as text")
        for kpi in (self.kpi_revenue, self.kpi_orders):
            name = kpi.with_context(lang="zh_CN").name
            self.assertTrue(CJK.search(name), name)
            self.assertIn(name, text, "the KPI names are in Chinese")

    def assertEnglish(self, pdf_text, html=None):
        # the scorecard's body is in a system font: its English text is there
        self.assertIn("Key Account Scorecard", pdf_text)
        self.assertNotIn(self.zh_terms["Key Account Scorecard"], pdf_text)
        self.assertFalse(
            CJK.search(pdf_text), "no Chinese in the English scorecard:\n%s" % pdf_text
        )
        if html is not None:
            self.assertIn("Key Account Scorecard", html)
            self.assertIn(
                ">%s<" % self.kpi_revenue.with_context(lang="en_US").name, html
            )
            self.assertFalse(CJK.search(html.replace(self.company.name, "")))

    def test_sent_in_the_customer_language(self):
        # an English-speaking KAM sends the Chinese customer a Chinese scorecard
        en_env = self.env(context=dict(self.env.context, lang="en_US"))
        text, subject = self._send(self.review_a.with_env(en_env))
        self.assertChinese(text)
        self.assertIn("绩效报告", subject, "the e-mail is in Chinese too")
        # a Chinese-speaking KAM sends the English customer an English one
        zh_env = self.env(context=dict(self.env.context, lang="zh_CN"))
        text, subject = self._send(self.review_b.with_env(zh_env))
        self.assertEnglish(text)
        self.assertIn("our performance report", subject)
        template = self.env.ref(
            "key_account_performance.mail_template_key_account_review"
        )
        self.assertEqual(
            template._render_lang((self.review_a | self.review_b).ids),
            {self.review_a.id: "zh_CN", self.review_b.id: "en_US"},
        )

    def test_printed_in_the_reader_language(self):
        reader_zh = self.env["res.users"].create(
            {
                "name": "Chinese Reader",
                "login": "kap_i18n_zh_reader",
                "lang": "zh_CN",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [
                    Command.link(
                        self.env.ref(
                            "key_account_performance.group_key_account_admin"
                        ).id
                    )
                ],
            }
        )
        # a Chinese reader prints the English customer's scorecard in Chinese
        # (the reader's language comes from the context, else from the user)
        text, html = self._print(self.review_b, self.env(user=reader_zh, context={}))
        self.assertChinese(text)
        self.assertNotIn("Key Account Scorecard", html)
        # an English reader prints the Chinese customer's scorecard in English
        self.assertEnglish(
            *self._print(
                self.review_a, self.env(context=dict(self.env.context, lang="en_US"))
            )
        )
