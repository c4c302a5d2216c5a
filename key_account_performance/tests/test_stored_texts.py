"""Stored texts are written in the language of whoever reads them (issue 22,
item 2): the to-dos and their notes in their recipient's language, an
improvement action's name in its owner's, and tracked selections shown as
their labels in the reader's language."""

from odoo.tests import tagged

from ..models.key_account_mail_sender import log_tracking
from .common import ReviewCommon
from .test_i18n import load_zh_cn

WARNING = "key_account_performance.mail_activity_type_key_account_warning"
APPROVAL = "key_account_performance.mail_activity_type_review_approval"
REWORK = "key_account_performance.mail_activity_type_review_rework"


@tagged("post_install", "-at_install")
class TestStoredTexts(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        load_zh_cn(cls.env)
        # the KAM reads Chinese, the other KAM and the approver English
        cls.kam.lang = "zh_CN"
        cls.kam2.lang = "en_US"
        cls.leader.lang = "en_US"
        cls.partner_c = cls._make_account("Falling Account C", cls.kam)
        cls.partner_d = cls._make_account("Falling Account D", cls.kam2)
        for partner in cls.partner_c | cls.partner_d:
            cls._order(partner, 400.0, cls._day(cls.P0, 5))
            cls._order(partner, 400.0, cls._day(cls.P0, 35))
            cls._order(partner, 150.0, cls._day(cls.P, 20))

    def _compute_falls(self, lang):
        Value = self.env["key.account.kpi.value"].with_context(lang=lang)
        partners = self.partner_c | self.partner_d
        Value.compute_for_period(*self.P0, partner_ids=partners.ids)
        Value.compute_for_period(*self.P, partner_ids=partners.ids)

    def test_warning_in_the_kams_language(self):
        # computed by someone reading English: each KAM reads their own language
        self._compute_falls("en_US")
        zh = self._activities(self.partner_c, WARNING)
        en = self._activities(self.partner_d, WARNING)
        self.assertEqual((len(zh), len(en)), (1, 1))
        self.assertEqual(zh.summary, "预警：Falling Account C")
        self.assertEqual(en.summary, "Early warning: Falling Account D")
        self.assertIn("销售额 在 ", str(zh.note))
        self.assertIn("越过了阈值", str(zh.note))
        self.assertNotIn("crossed", str(zh.note))
        self.assertIn("Revenue crossed its threshold in", str(en.note))
        # the warning records (with their figures) too
        Warning = self.env["key.account.warning"].sudo()
        said_zh = "\n".join(
            Warning.search([("partner_id", "=", self.partner_c.id)]).mapped("message")
        )
        said_en = "\n".join(
            Warning.search([("partner_id", "=", self.partner_d.id)]).mapped("message")
        )
        self.assertNotIn("crossed", said_zh)
        self.assertIn("销售额", said_zh)
        self.assertIn("Revenue crossed its threshold (200)", said_en)

    def test_warning_computed_in_chinese_reaches_an_english_kam_in_english(self):
        self._compute_falls("zh_CN")
        en = self._activities(self.partner_d, WARNING)
        self.assertEqual(en.summary, "Early warning: Falling Account D")
        self.assertIn("Revenue crossed its threshold in", str(en.note))
        self.assertEqual(
            self._activities(self.partner_c, WARNING).summary,
            "预警：Falling Account C",
        )

    def test_review_todos_and_action_in_their_readers_language(self):
        self._generate_cycle()
        review = self.review_a.with_user(self.kam).with_context(lang="zh_CN")
        self._fill_and_submit(review)
        approval = self._activities(self.review_a, APPROVAL)
        self.assertEqual(approval.user_id, self.leader)
        # the English approver reads English, whoever submitted
        self.assertEqual(approval.summary, "Approve the review of Review Account A")
        self.assertIn(
            "Review KAM submitted the %s review" % self.cycle.name, approval.note
        )
        # rejected by the English approver: the Chinese KAM's to-do is Chinese
        self.review_a.with_user(self.leader).with_context(lang="en_US").action_reject(
            reason="Check the figures"
        )
        rework = self._activities(self.review_a, REWORK)
        self.assertEqual(rework.user_id, self.kam)
        self.assertEqual(rework.summary, "返工 Review Account A 的评审")
        # the improvement action, made by the English approver, is the KAM's:
        # its name is Chinese
        line = self._line(self.review_a, self.kpi_revenue)
        action_id = (
            line.with_user(self.leader)
            .with_context(lang="en_US")
            .action_create_improvement_action()["res_id"]
        )
        action = self.env["key.account.improvement.action"].browse(action_id)
        self.assertEqual(action.user_id, self.kam)
        self.assertEqual(action.with_context(lang="en_US").name, "改善 销售额")

    def test_tracked_selections_show_their_labels_in_the_readers_language(self):
        self._generate_cycle()
        self.env.flush_all()
        self.env.cr.precommit.run()
        # submitted by someone reading English: Odoo stores "Draft", "Submitted"
        self._fill_and_submit(
            self.review_a.with_user(self.kam).with_context(lang="en_US")
        )
        self.env.flush_all()
        self.env.cr.precommit.run()
        trackings = self.review_a.message_ids.sudo().tracking_value_ids.filtered(
            lambda t: t.field_id.name == "state"
        )
        self.assertEqual(len(trackings), 1)

        def shown(lang):
            (item,) = [
                item
                for item in trackings.with_context(lang=lang)._tracking_value_format()
                if item["fieldName"] == "state"
            ]
            return item["oldValue"]["value"], item["newValue"]["value"]

        self.assertEqual(shown("en_US"), ("Draft", "Submitted"))
        self.assertEqual(shown("zh_CN"), ("草稿", "已提交"))
        # the bulk chatter writer stores a selection as its label, never its
        # raw value
        log_tracking(
            self.env,
            "key.account.review",
            {self.review_b.id: [("state", "submitted", "approved")]},
        )
        stored = self.review_b.message_ids.sudo().tracking_value_ids.filtered(
            lambda t: t.field_id.name == "state"
        )
        self.assertEqual(
            (stored.old_value_char, stored.new_value_char), ("Submitted", "Approved")
        )
        stored = stored.with_context(lang="zh_CN")
        self.assertEqual(
            stored._tracking_value_format()[0]["newValue"]["value"],
            dict(
                self.env["key.account.review"]
                .with_context(lang="zh_CN")
                ._fields["state"]
                ._description_selection(stored.env)
            )["approved"],
        )
