"""Key-account KPIs in Odoo's periodic digest e-mail, rendered in English
and in Chinese for a team leader and for a KAM (record rules apply)."""

import datetime

from lxml import html

from odoo import Command
from odoo.tests import tagged

from ..models.guard import internal
from .common import ReviewCommon

KPIS = (
    "kpi_key_account_score",
    "kpi_key_account_at_risk",
    "kpi_key_account_review_to_approve",
    "kpi_key_account_action_overdue",
)


@tagged("post_install", "-at_install")
class TestKeyAccountDigest(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        # the leader's team holds both KAMs: the leader's digest covers A and B
        cls.team.member_ids = [Command.link(cls.kam2.id)]
        cls._generate_cycle()
        review = cls.review_a.with_user(cls.kam)  # submitted: waits for approval
        review.line_ids.filtered(lambda line: line.kpi_id == cls.kpi_manual).write(
            {"value": 4.0}
        )
        review.action_submit()
        # the scores the digest averages: A 80 (B), B 40 (D, the lowest grade: at risk)
        company_env = env["res.partner"].with_company(cls.company)
        internal(company_env.browse(cls.partner_a.id)).write(
            {
                "key_account_score": 80.0,
                "key_account_grade": "B",
                "key_account_trend": 0.0,
            }
        )
        internal(company_env.browse(cls.partner_b.id)).write(
            {
                "key_account_score": 40.0,
                "key_account_grade": "D",
                "key_account_trend": 0.0,
            }
        )
        today = datetime.date.today()
        Action = env["key.account.improvement.action"]
        for name, partner, user, deadline, state in (
            (
                "Digest overdue A",
                cls.partner_a,
                cls.kam,
                today - datetime.timedelta(days=3),
                "todo",
            ),
            (
                "Digest overdue B",
                cls.partner_b,
                cls.kam2,
                today - datetime.timedelta(days=20),
                "in_progress",
            ),
            (
                "Digest not yet due",
                cls.partner_a,
                cls.kam,
                today + datetime.timedelta(days=10),
                "todo",
            ),
            (
                "Digest done late",
                cls.partner_a,
                cls.kam,
                today - datetime.timedelta(days=5),
                "done",
            ),
        ):
            Action.create(
                {
                    "name": name,
                    "partner_id": partner.id,
                    "user_id": user.id,
                    "date_deadline": deadline,
                    "state": state,
                    "company_id": cls.company.id,
                }
            )
        cls.digest = env["digest.digest"].create(
            {
                "name": "Key account digest",
                "periodicity": "weekly",
                "company_id": cls.company.id,
                "user_ids": [Command.set((cls.leader | cls.kam).ids)],
                **dict.fromkeys(KPIS, True),
            }
        )

    def _rendered(self, user):
        """{kpi field: [the three column values]} of the digest e-mail sent to user."""
        before = self.env["mail.mail"].sudo().search([]).ids
        # as digest's own sending does it: in the recipient's language
        self.digest.with_context(lang=user.lang)._action_send_to_user(
            user, consume_tips=False
        )
        mail = self.env["mail.mail"].sudo().search([("id", "not in", before)])
        self.assertEqual(len(mail), 1)
        body = html.fromstring(mail.body_html)
        values = {}
        for kpi in KPIS:
            table = body.xpath('//table[@data-field="%s"]' % kpi)
            if table:
                values[kpi] = [
                    v.strip()
                    for v in table[0].xpath('.//*[hasclass("kpi_value")]/text()')
                ]
        return body, values

    def test_the_default_digest_offers_the_key_account_kpis(self):
        default = self.env.ref("digest.digest_digest_default")
        for kpi in KPIS:
            self.assertTrue(default[kpi], kpi)

    def test_leader_digest_in_english(self):
        body, values = self._rendered(self.leader)
        self.assertEqual(values["kpi_key_account_score"], ["60.00"] * 3)
        self.assertEqual(values["kpi_key_account_at_risk"], ["1"] * 3)
        self.assertEqual(values["kpi_key_account_review_to_approve"], ["1"] * 3)
        # overdue at the end of each column: last 24 hours, 7 days, 30 days
        self.assertEqual(values["kpi_key_account_action_overdue"], ["2", "2", "2"])
        text = body.text_content()
        for label in (
            "Key Accounts: Average Score",
            "Key Accounts at Risk",
            "Key Account Reviews to Approve",
            "Overdue Improvement Actions",
        ):
            self.assertIn(label, text)

    def test_kam_digest_counts_their_own_accounts_only(self):
        _body, values = self._rendered(self.kam)
        self.assertEqual(values["kpi_key_account_score"], ["80.00"] * 3)
        self.assertEqual(values["kpi_key_account_at_risk"], ["0"] * 3)
        self.assertEqual(values["kpi_key_account_action_overdue"], ["1"] * 3)

    def test_leader_digest_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["key_account_performance"], ["zh_CN"], overwrite=True
        )
        self.env.invalidate_all()
        self.leader.lang = "zh_CN"
        body, values = self._rendered(self.leader)
        self.assertEqual(values["kpi_key_account_score"], ["60.00"] * 3)
        text = body.text_content()
        for label in (
            "大客户平均得分",
            "有风险的大客户",
            "待审批的大客户评审",
            "逾期的改进措施",
        ):
            self.assertIn(label, text)

    def test_user_without_key_account_rights_gets_no_key_account_kpi(self):
        clerk = self.env["res.users"].create(
            {
                "name": "Digest clerk",
                "login": "kap_digest_clerk",
                "email": "clerk@example.com",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [Command.set([self.env.ref("base.group_user").id])],
            }
        )
        _body, values = self._rendered(clerk)
        self.assertEqual(values, {})
