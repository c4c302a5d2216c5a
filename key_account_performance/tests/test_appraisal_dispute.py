"""Acknowledge or dispute (issue 26, item 4): after approval the appraised
person acknowledges, or disputes within the company's number of days with a
reason and comments on the accounts concerned; the team leader or a manager
upholds or corrects; a correction keeps the earlier version readable as of
its date, with what changed and who decided."""

import datetime

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .appraisal_common import AppraisalCommon


@tagged("post_install", "-at_install")
class TestAppraisalDispute(AppraisalCommon):
    def _approved_mine(self):
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam.id])
        mine = self._appraisal(self.kam)
        mine.with_user(self.kam).action_submit()
        mine.with_user(self.leader).action_approve()
        return mine

    def _dispute(self, appraisal, reason="Account A was hit by a price war"):
        line = appraisal.line_ids[:1]
        return (
            self.env["key.account.appraisal.dispute"]
            .with_user(self.kam)
            .create(
                {
                    "appraisal_id": appraisal.id,
                    "reason": reason,
                    "comment_ids": [
                        Command.create(
                            {
                                "line_id": line.id,
                                "comment": "Revenue fell for the market",
                            }
                        )
                    ],
                }
            )
        )

    def test_acknowledge(self):
        self.company.key_account_appraisal_dispute_days = 7
        mine = self._approved_mine()
        self.assertEqual(mine.ack_state, "pending")
        self.assertEqual(
            mine.dispute_deadline,
            mine._person_today() + datetime.timedelta(days=7),
        )
        # only the appraised person acknowledges
        with self.assertRaises(AccessError):
            mine.with_user(self.leader).action_acknowledge()
        self.assertTrue(mine.with_user(self.kam).can_acknowledge)
        mine.with_user(self.kam).action_acknowledge()
        self.assertEqual(mine.ack_state, "acknowledged")
        self.assertTrue(mine.acknowledged_date)
        with self.assertRaises(UserError):
            self._dispute(mine)  # acknowledged: no longer disputable

    def test_dispute_then_uphold(self):
        mine = self._approved_mine()
        dispute = self._dispute(mine)
        self.assertEqual(mine.ack_state, "disputed")
        self.assertEqual(dispute.comment_ids.partner_id, self.partner_a)
        self.assertEqual(dispute.user_id, self.kam)
        # the leader is told
        self.assertTrue(mine.activity_ids.filtered(lambda a: a.user_id == self.leader))
        # neither the person nor a colleague decides
        with self.assertRaises(AccessError):
            mine.with_user(self.kam).action_uphold()
        with self.assertRaises(AccessError):
            mine.with_user(self.kam2).action_correct()
        with self.assertRaises(UserError):
            dispute.with_user(self.kam).write({"decision": "corrected"})
        mine.with_user(self.leader).action_uphold(
            note="The price war is in the market KPIs"
        )
        self.assertEqual(mine.ack_state, "upheld")
        self.assertEqual(mine.state, "approved")
        self.assertEqual(dispute.decision, "upheld")
        self.assertEqual(dispute.decided_by_id, self.leader)
        self.assertFalse(mine.version_ids)

    def test_dispute_after_deadline_refused(self):
        self.company.key_account_appraisal_dispute_days = 0
        mine = self._approved_mine()
        self.assertEqual(mine.dispute_deadline, mine._person_today())
        self.assertTrue(mine.with_user(self.kam).can_dispute)  # today is the last day
        # the deadline passed
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE key_account_appraisal SET dispute_deadline = %s WHERE id = %s",
            (mine._person_today() - datetime.timedelta(days=1), mine.id),
        )
        mine.invalidate_recordset(["dispute_deadline", "can_dispute"])
        self.assertFalse(mine.with_user(self.kam).can_dispute)
        with self.assertRaisesRegex(UserError, "could be disputed until"):
            mine.with_user(self.kam).action_open_dispute()
        with self.assertRaisesRegex(UserError, "could be disputed until"):
            self._dispute(mine)
        self.assertEqual(mine.ack_state, "pending")
        # acknowledging stays possible
        mine.with_user(self.kam).action_acknowledge()
        self.assertEqual(mine.ack_state, "acknowledged")

    def test_correct_keeps_the_earlier_version(self):
        mine = self._approved_mine()
        before_score, before_grade = mine.score, mine.grade
        commented = mine.line_ids[:1]
        commented_partner, commented_score = (
            commented.partner_id,
            commented.account_score,
        )
        self._dispute(mine)
        mine.with_user(self.leader).action_correct(note="The review of A is put right")
        self.assertEqual(mine.state, "draft")
        self.assertEqual(mine.ack_state, "corrected")
        version = mine.version_ids
        self.assertEqual(len(version), 1)
        self.assertEqual(version.sequence, 1)
        self.assertAlmostEqual(version.score, before_score)
        self.assertEqual(version.grade, before_grade)
        self.assertEqual(version.decided_by_id, self.leader)
        self.assertIn("The review of A is put right", str(version.reason))
        self.assertIn("Review Account A", str(version.lines_snapshot))
        self.assertFalse(version.changes)
        # the account's review is approved with an external factor, the
        # appraisal recomputed and approved again: the version says what changed
        self._approve_a_with_external_factor()
        self.Appraisal.compute_appraisals(self.date_from, self.date_to, [self.kam.id])
        self.assertNotAlmostEqual(mine.score, before_score)
        # the recomputation replaced the lines: the person's comment keeps its
        # account and the score disputed
        self.assertFalse(commented.exists())
        comment = mine.dispute_ids.comment_ids
        self.assertEqual(len(comment), 1)
        self.assertEqual(comment.partner_id, commented_partner)
        self.assertAlmostEqual(comment.account_score, commented_score)
        self.assertEqual(comment.comment, "Revenue fell for the market")
        mine.with_user(self.kam).action_submit()
        mine.with_user(self.leader).action_approve()
        self.assertEqual(mine.ack_state, "pending")
        self.assertIn("Score: ", version.changes)
        self.assertIn(
            "Review Account A: %.2f → %.2f"
            % (
                version.line_scores[str(self.partner_a.id)],
                mine.line_ids.account_score,
            ),
            version.changes,
        )
        self.assertEqual(version.superseded_by_id, self.leader)
        # versions are kept by the addon only
        with self.assertRaises(UserError):
            version.with_user(self.admin).write({"score": 100.0})
        # the person reads their versions, a colleague does not
        self.assertEqual(
            self.env["key.account.appraisal.version"].with_user(self.kam).search([]),
            version,
        )
        self.assertFalse(
            self.env["key.account.appraisal.version"].with_user(self.kam2).search([])
        )

    def test_dispute_dialog(self):
        mine = self._approved_mine()
        action = mine.with_user(self.kam).action_open_dispute()
        form = Form(
            self.env[action["res_model"]]
            .with_user(self.kam)
            .with_context(**action["context"])
        )
        form.reason = "My share of A is wrong"
        with form.comment_ids.new() as comment:
            comment.line_id = mine.line_ids[:1]
            comment.comment = "60 % is not what we agreed"
        dispute = form.save()
        self.assertEqual(dispute.appraisal_id, mine)
        self.assertEqual(mine.ack_state, "disputed")
        self.assertEqual(dispute.comment_ids.comment, "60 % is not what we agreed")

    def test_dispute_dialog_comments_inline_for_the_person(self):
        """The person has no write right on disputes: the comments of a new
        dispute are still typed in the dialog's list, not in a second dialog
        (the web client opens one when the list's ``edit`` is False)."""
        arch = (
            self.env["key.account.appraisal.dispute"]
            .with_user(self.kam)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        comments = etree.fromstring(arch).xpath("//field[@name='comment_ids']/list")
        self.assertEqual(comments[0].get("editable"), "bottom")
        self.assertNotEqual(comments[0].get("edit"), "False")

    def test_decide_dialog_carries_the_note(self):
        """Uphold / Correct on the form open a dialog whose note reaches the
        dispute (and, for a correction, the version kept)."""
        Wizard = self.env["key.account.appraisal.decide.wizard"].with_user(self.leader)
        mine = self._approved_mine()
        self._dispute(mine)
        Form(
            Wizard.with_context(
                default_appraisal_id=mine.id, default_decision="corrected"
            )
        ).save()
        # a colleague cannot decide through the dialog either
        other = Wizard.with_user(self.kam2).create(
            {"appraisal_id": mine.id, "decision": "upheld", "note": "No"}
        )
        with self.assertRaises(AccessError):
            other.action_decide()
        wizard = Wizard.create(
            {
                "appraisal_id": mine.id,
                "decision": "corrected",
                "note": "The share of A is put right",
            }
        )
        wizard.action_decide()
        self.assertEqual(mine.state, "draft")
        self.assertEqual(mine.dispute_ids.decision, "corrected")
        self.assertEqual(mine.dispute_ids.decision_note, "The share of A is put right")
        self.assertIn("The share of A is put right", str(mine.version_ids.reason))
