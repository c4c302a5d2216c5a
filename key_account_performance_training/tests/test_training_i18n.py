"""Simplified Chinese for every term of the training bridge."""

import os
import re

import polib

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase
from odoo.tools.translate import TranslationModuleReader

MODULE = "key_account_performance_training"
PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0]*\d*(?:\.\d+)?[sdfr]|%[sdfr]")


def translated_terms():
    path = os.path.join(get_module_path(MODULE), "i18n", "zh_CN.po")
    return {
        entry.msgid: entry.msgstr
        for entry in polib.pofile(path)
        if entry.msgstr.strip() and not entry.obsolete and "fuzzy" not in entry.flags
    }


class TestTrainingI18n(TransactionCase):
    def test_every_term_has_a_zh_cn_translation(self):
        translated = translated_terms()
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE])
        terms = {source for module, *_r, source, _v, _c in reader if module == MODULE}
        self.assertIn("Enrol", terms)
        self.assertGreater(len(terms), 30)
        self.assertFalse(
            sorted(terms - set(translated)),
            "terms without a zh_CN translation (run ./kap i18n, then translate them)",
        )

    def test_translations_keep_placeholders(self):
        wrong = [
            (source, target)
            for source, target in translated_terms().items()
            if sorted(PLACEHOLDER.findall(source))
            != sorted(PLACEHOLDER.findall(target))
        ]
        self.assertFalse(wrong)

    def test_enrol_message_reads_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            [MODULE], ["zh_CN"], overwrite=True
        )
        field = self.env["key.account.appraisal.development"]._fields["kpi_trend"]
        labels = dict(field._description_selection(self.env(context={"lang": "zh_CN"})))
        self.assertEqual(labels["up"], "上升")
        env_zh = self.env(context={"lang": "zh_CN"})
        self.assertEqual(
            env_zh._("%(course)s: not enrolled", course="谈判"), "谈判：未报名"
        )
