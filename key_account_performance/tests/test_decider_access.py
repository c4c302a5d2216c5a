"""Whoever decided a review keeps read access to it; a review decided twice
at once fails cleanly for the second decider."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .edge_common import EdgeCaseCommon


@tagged("post_install", "-at_install")
class TestDeciderAccess(EdgeCaseCommon):
    # ------------------------------------------------------------------
    # whoever decided keeps read access
    # ------------------------------------------------------------------
    def test_decider_keeps_read_access(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        action = self.env["key.account.improvement.action"].create(
            dict(
                self._line(self.review_a, self.kpi_revenue)._improvement_action_values()
            )
        )
        self.assertNotEqual(review.approver_id, self.outsider)
        review.with_user(self.outsider).action_approve()
        as_outsider = self.review_a.with_user(self.outsider)
        self.assertEqual(as_outsider.state, "approved")
        self.assertEqual(
            as_outsider.read(["state", "approved_by_id"])[0]["approved_by_id"][0],
            self.outsider.id,
        )
        self.assertEqual(len(as_outsider.line_ids.read(["value"])), 3)
        self.assertEqual(as_outsider.action_ids, action.with_user(self.outsider))
        action.with_user(self.outsider).read(["name"])
        # read, not write: the decision does not open the review to the decider's edits
        with self.assertRaises(AccessError):
            action.with_user(self.outsider).write({"name": "Changed by the approver"})
        # "Decided by me" finds it
        decided = (
            self.env["key.account.review"]
            .with_user(self.outsider)
            .search([("decider_ids", "in", [self.outsider.id])])
        )
        self.assertEqual(decided, as_outsider)
        # the KAM of another account still does not see it
        with self.assertRaises(AccessError):
            self.review_a.with_user(self.kam2).read(["state"])

    def test_rejecter_and_designated_approver_keep_read_access(self):
        review_b = self.review_b
        self.assertEqual(
            review_b.approver_id,
            self.kam_leader,
            "the leader of KAM 2's team is the designated approver",
        )
        self._fill_and_submit(review_b.with_user(self.kam2))
        review_b.with_user(self.outsider).action_reject(reason="Missing meeting notes")
        self.assertEqual(review_b.rejected_by_id, self.outsider)
        review_b.with_user(self.outsider).read(["state", "reject_reason"])
        self.assertIn(
            review_b,
            self.env["key.account.review"]
            .with_user(self.outsider)
            .search([("decider_ids", "in", [self.outsider.id])]),
        )
        # resubmitted, then decided by the designated approver, a KAM-level user
        self._fill_and_submit(review_b.with_user(self.kam2), value=5.0)
        review_b.with_user(self.kam_leader).action_approve()
        self.assertEqual(review_b.state, "approved")
        self.assertEqual(review_b.approved_by_id, self.kam_leader)
        for reader in (self.outsider, self.kam_leader):
            self.assertEqual(
                review_b.with_user(reader).read(["state"])[0]["state"], "approved"
            )
            review_b.line_ids.with_user(reader).read(["value"])
        self.assertEqual(review_b.decider_ids, self.outsider | self.kam_leader)

    # ------------------------------------------------------------------
    # concurrency: a review decided twice at once
    # ------------------------------------------------------------------
    @mute_logger("odoo.sql_db")
    def test_approval_lock_refused_cleanly(self):
        """The lock statement is what makes a second approver fail cleanly:
        here its NOWAIT failure is provoked by locking the row from a second
        connection (on a committed review: see tests/test_rpc_access.py)."""
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.leader)._lock_for_decision()  # the lock itself succeeds
        review.with_user(self.leader).action_approve()
        with self.assertRaisesRegex(UserError, "only submitted reviews"):
            review.with_user(self.manager).action_approve()
        self.assertEqual(review.approved_by_id, self.leader)
