from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged, users
from odoo.tools import mute_logger

from ..tools import kpi_math
from .common import ReviewCommon

APPROVAL = "key_account_performance.mail_activity_type_review_approval"
REWORK = "key_account_performance.mail_activity_type_review_rework"


@tagged("post_install", "-at_install")
class TestReviewWorkflow(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()
        # end of the "creation" transaction: later changes are tracked in the chatter
        cls.env.flush_all()
        cls.env.cr.precommit.run()

    # ------------------------------------------------------------------
    # Generation
    # ------------------------------------------------------------------
    @users("kap_rt_manager")
    def test_generate_reviews(self):
        with Form(self.env["key.account.review.cycle"]) as form:
            form.period_type = "quarter"
            form.date_from = self.P0[0]
            self.assertEqual(
                form.date_to, self.P0[1], "the end follows the period type"
            )
        cycle = form.record
        self.assertEqual(
            cycle.name, "%d Q%d" % (self.P0[0].year, (self.P0[0].month - 1) // 3 + 1)
        )
        ids = cycle.action_generate_reviews()
        self.assertEqual(cycle.state, "in_progress")
        # every key account gets a review, also those the manager does not see
        reviews = self._reviews(cycle.sudo())
        self.assertEqual(len(ids), len(reviews))
        self.assertIn(self.partner_a, reviews)
        self.assertIn(self.partner_b, reviews)
        review = reviews[self.partner_a]
        self.assertEqual(review.user_id, self.kam)
        self.assertEqual(
            review.approver_id, self.leader, "the team leader of the KAM approves"
        )
        self.assertEqual(review.template_id, self.template)
        self.assertEqual(review.template_version, self.template.version)
        self.assertEqual(review.state, "draft")
        self.assertEqual(
            review.line_ids.kpi_id, self.kpi_revenue | self.kpi_orders | self.kpi_manual
        )
        revenue = self._line(review, self.kpi_revenue)
        self.assertRecordValues(
            revenue,
            [
                {
                    "value": 1200.0,
                    "has_value": True,
                    "target": 1000.0,
                    "threshold": 200.0,
                    "weight": 2.0,
                    "score": 100.0,
                    "status": "good",
                    "is_manual": False,
                }
            ],
        )
        self.assertEqual(revenue.kpi_value_id.sudo().value, 1200.0)
        manual = self._line(review, self.kpi_manual)
        self.assertTrue(manual.is_manual)
        self.assertFalse(
            manual.has_value, "no manual value entered yet: no data, not 0"
        )
        # KAM 2 has no team: any key-account manager other than the KAM approves
        approver_b = reviews[self.partner_b].approver_id
        self.assertTrue(approver_b)
        self.assertNotEqual(approver_b, self.kam2)
        self.assertTrue(
            approver_b.has_group("key_account_performance.group_key_account_manager")
        )

        # generating twice creates no duplicates
        self.assertEqual(cycle.action_generate_reviews(), [])
        self.assertEqual(len(self._reviews(cycle.sudo())), len(reviews))
        self.assertEqual(
            self.env["key.account.review"]
            .sudo()
            .search_count(
                [("cycle_id", "=", cycle.id), ("partner_id", "=", self.partner_a.id)]
            ),
            1,
        )

    def test_generated_review_scores(self):
        review = self.review_a
        # revenue 600 -> 50, orders 2 -> 50; the manual KPI has no value yet
        self.assertAlmostEqual(self._line(review, self.kpi_revenue).score, 50.0)
        self.assertAlmostEqual(self._line(review, self.kpi_orders).score, 50.0)
        self.assertAlmostEqual(review.score, 50.0)
        self.assertEqual(review.grade, "C")
        self.assertEqual(self._line(self.review_b, self.kpi_revenue).status, "alert")

    @users("kap_rt_kam")
    def test_kam_cannot_generate_reviews(self):
        cycle = self.cycle.with_env(self.env)
        with self.assertRaises(AccessError):
            cycle.action_generate_reviews()

    def test_one_review_per_account_and_cycle(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["key.account.review"].create(
                    {
                        "cycle_id": self.cycle.id,
                        "partner_id": self.partner_a.id,
                        "user_id": self.kam.id,
                    }
                )

    def test_trend_against_previous_review(self):
        self.assertFalse(self.review_a.previous_review_id)
        self.assertEqual(self.review_a.trend, 0.0)
        self._order(self.partner_a, 1000.0, self._day(self.N, 0).replace(hour=0))
        cycle = self._cycle(self.N)  # the running quarter, reviewed early by hand
        cycle.action_generate_reviews()
        review = self._reviews(cycle)[self.partner_a]
        self.assertEqual(review.previous_review_id, self.review_a)
        self.assertTrue(review.score)
        self.assertAlmostEqual(review.trend, review.score - self.review_a.score)

    # ------------------------------------------------------------------
    # Submit, approve, reject
    # ------------------------------------------------------------------
    @users("kap_rt_kam")
    def test_kam_fills_and_submits(self):
        review = self.review_a.with_env(self.env)
        with Form(review) as form:
            with form.line_ids.edit(2) as line:
                self.assertEqual(line.kpi_id, self.kpi_manual)
                line.value = 4.0
                line.comment = "Weekly calls with the buyer"
            form.comment = "<p>Good quarter for deliveries.</p>"
        manual = self._line(review, self.kpi_manual)
        self.assertTrue(manual.has_value)
        self.assertAlmostEqual(manual.score, 75.0)
        # (600 -> 50) x2, (2 orders -> 50) x1, (4/5 -> 75) x1
        self.assertAlmostEqual(review.score, (50 * 2 + 50 + 75) / 4)
        review.action_submit()
        self.assertEqual(review.state, "submitted")
        self.assertTrue(review.submitted_date)
        approval = self._activities(review, APPROVAL)
        self.assertEqual(len(approval), 1)
        self.assertEqual(approval.user_id, self.leader)
        # the manual value is written back for formulas and history
        value = self.env["key.account.kpi.value"].search(
            [
                ("partner_id", "=", self.partner_a.id),
                ("kpi_id", "=", self.kpi_manual.id),
                ("date_from", "=", self.P[0]),
                ("date_to", "=", self.P[1]),
            ]
        )
        self.assertRecordValues(
            value, [{"value": 4.0, "is_manual": True, "target": 5.0}]
        )
        self.assertEqual(manual.kpi_value_id, value)
        # chatter: the state change is tracked
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", review._name),
                    ("mail_message_id.res_id", "=", review.id),
                    ("field_id.name", "=", "state"),
                ]
            )
        )
        self.assertIn("Submitted", tracked.mapped("new_value_char"))

    @users("kap_rt_kam")
    def test_submit_needs_manual_values(self):
        review = self.review_a.with_env(self.env)
        with self.assertRaisesRegex(UserError, "Relationship"):
            review.action_submit()

    @users("kap_rt_kam2")
    def test_other_kam_cannot_submit(self):
        review = self.review_a.with_env(self.env)
        with self.assertRaises(AccessError):
            review.action_submit()

    @users("kap_rt_kam")
    def test_kam_edits_only_manual_values_and_comments(self):
        review = self.review_a.with_env(self.env)
        with self.assertRaises(UserError):
            self._line(review, self.kpi_revenue).value = 5000.0
        with self.assertRaises(UserError):
            self._line(review, self.kpi_manual).target = 2.0
        self._line(
            review, self.kpi_revenue
        ).comment = "Two big orders slipped to next quarter"

    def test_self_approval_refused(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        with self.assertRaises(AccessError):
            review.with_user(self.kam).action_approve()
        # a manager who is the KAM of a review cannot approve it either
        self.review_b.write({"user_id": self.manager.id, "approver_id": self.leader.id})
        review_b = self._fill_and_submit(self.review_b.with_user(self.manager))
        with self.assertRaisesRegex(AccessError, "your own"):
            review_b.with_user(self.manager).action_approve()
        with self.assertRaisesRegex(AccessError, "your own"):
            review_b.with_user(self.manager).action_reject(reason="I reject myself")
        self.assertEqual(review_b.state, "submitted")
        # and the approver cannot be the KAM
        with self.assertRaises(ValidationError):
            self.review_b.with_user(self.admin).approver_id = self.manager

    def test_submitter_cannot_approve(self):
        """A manager submitting for a review without KAM does not approve it either."""
        self.review_a.user_id = False
        review = self._fill_and_submit(self.review_a.with_user(self.manager))
        self.assertEqual(review.submitted_by_id, self.manager)
        self.assertFalse(review.with_user(self.manager).can_approve)
        with self.assertRaises(AccessError):
            review.with_user(self.manager).action_approve()
        review.with_user(self.leader).action_approve()
        self.assertEqual(review.state, "approved")

    def test_kam_not_approver_cannot_approve(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        with self.assertRaises(AccessError):
            review.with_user(self.kam2).action_approve()

    @users("kap_rt_leader")
    def test_approve(self):
        self._fill_and_submit(self.review_a.with_user(self.kam))
        review = self.review_a.with_env(self.env)
        self.assertTrue(review.can_approve)
        review.action_approve()
        self.assertEqual(review.state, "approved")
        self.assertEqual(review.approved_by_id, self.leader)
        self.assertFalse(
            self._activities(review, APPROVAL), "the approval to-do is closed"
        )
        self.assertFalse(review.can_approve)

    @users("kap_rt_manager")
    def test_any_key_account_manager_approves(self):
        self._fill_and_submit(self.review_a.with_user(self.kam))
        review = self.review_a.with_env(self.env)
        self.assertNotEqual(review.approver_id, self.env.user)
        review.action_approve()
        self.assertEqual(review.state, "approved")
        self.assertFalse(self._activities(review, APPROVAL))

    def test_reassigned_approval_follows_the_approver(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.manager).approver_id = self.manager
        self.assertEqual(self._activities(review, APPROVAL).user_id, self.manager)
        with self.assertRaises(UserError):
            review.with_user(self.manager).user_id = self.kam2

    def test_approve_needs_submission(self):
        with self.assertRaises(UserError):
            self.review_a.with_user(self.leader).action_approve()

    @users("kap_rt_leader")
    def test_reject_needs_reason(self):
        self._fill_and_submit(self.review_a.with_user(self.kam))
        review = self.review_a.with_env(self.env)
        with self.assertRaisesRegex(UserError, "reason"):
            review.action_reject()
        with self.assertRaisesRegex(UserError, "reason"):
            review.action_reject(reason="   ")
        self.assertEqual(review.state, "submitted")
        # the wizard refuses an empty reason too
        wizard_action = review.action_open_reject_wizard()
        wizard_form = Form(
            self.env[wizard_action["res_model"]].with_context(
                **wizard_action["context"]
            )
        )
        with self.assertRaises(AssertionError):
            wizard_form.save()
        wizard_form.reason = "Relationship score is not backed by any meeting note."
        wizard_form.save().action_reject()
        self.assertEqual(review.state, "rejected")
        self.assertEqual(
            review.reject_reason,
            "Relationship score is not backed by any meeting note.",
        )
        self.assertFalse(self._activities(review, APPROVAL))
        rework = self._activities(review, REWORK)
        self.assertEqual(len(rework), 1)
        self.assertEqual(rework.user_id, self.kam)
        self.assertTrue(
            review.message_ids.filtered(
                lambda m: "not backed by any meeting note" in str(m.body)
            )
        )

    def test_rejected_review_back_to_kam(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.leader).action_reject(reason="Add the meeting notes")
        # editable again by the KAM, and resubmitted
        review = review.with_user(self.kam)
        self._line(review, self.kpi_manual).write(
            {"value": 5.0, "comment": "See meeting notes"}
        )
        review.action_submit()
        self.assertEqual(review.state, "submitted")
        self.assertFalse(review.reject_reason)
        self.assertFalse(self._activities(review, REWORK), "the rework to-do is closed")
        self.assertEqual(len(self._activities(review, APPROVAL)), 1)
        review.with_user(self.leader).action_approve()
        self.assertEqual(review.state, "approved")
        self.assertFalse(
            self._activities(review, APPROVAL) | self._activities(review, REWORK)
        )

    # ------------------------------------------------------------------
    # Frozen and read-only
    # ------------------------------------------------------------------
    def test_submitted_lines_frozen(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        before = review.line_ids.read(
            ["value", "target", "threshold", "weight", "score"]
        )
        score = review.score
        with self.assertRaises(UserError):
            self._line(review, self.kpi_manual).write({"value": 1.0})
        with self.assertRaises(UserError):
            review.write({"comment": "<p>changed</p>"})
        # a recomputation and a template change alter neither the lines nor the score
        self._order(self.partner_a, 5000.0, self._day(self.P, 50))
        self._order(self.partner_b, 5000.0, self._day(self.P, 50))
        self.env["key.account.kpi.value"].compute_for_period(*self.P)
        self.template.line_ids.filtered(
            lambda ln: ln.kpi_id == self.kpi_revenue
        ).target = 9000.0
        self.cycle.action_generate_reviews()
        review.invalidate_recordset()
        self.assertEqual(
            review.line_ids.read(["value", "target", "threshold", "weight", "score"]),
            before,
        )
        self.assertEqual(review.score, score)
        self.assertEqual(self._line(review, self.kpi_revenue).value, 600.0)
        # ... while the draft review of B follows the new figures and bands
        revenue_b = self._line(self.review_b, self.kpi_revenue)
        self.assertEqual(revenue_b.value, 5100.0)
        self.assertEqual(revenue_b.target, 9000.0)
        self.assertEqual(self.review_b.template_version, self.template.version)
        with self.assertRaises(UserError):
            review.with_user(self.kam).action_refresh_lines()

    def test_approved_review_read_only(self):
        review = self._fill_and_submit(self.review_a.with_user(self.kam))
        review.with_user(self.leader).action_approve()
        for user in (self.kam, self.leader, self.admin):
            with self.assertRaises(UserError):
                review.with_user(user).write({"comment": "<p>changed</p>"})
            with self.assertRaises(UserError):
                review.with_user(user).write({"state": "draft"})
            with self.assertRaises(UserError):
                self._line(review, self.kpi_manual).with_user(user).write(
                    {"comment": "changed"}
                )
        with self.assertRaises(UserError):
            review.with_user(self.admin).unlink()
        with self.assertRaises(UserError):
            review.line_ids.with_user(self.admin).unlink()
        with self.assertRaises(UserError):
            self.cycle.with_user(self.admin).unlink()
        # the superuser is no exception
        with self.assertRaises(UserError):
            review.sudo().write({"score": 100.0})
        # the chatter stays usable
        review.with_user(self.leader).message_post(body="Discussed with the customer")
        self.assertEqual(review.state, "approved")

    def test_manager_deletes_draft_review(self):
        self.review_a.with_user(self.manager).unlink()
        self.assertFalse(self.review_a.exists())

    def test_kam_cannot_delete_review(self):
        with self.assertRaises(AccessError):
            self.review_b.with_user(self.kam2).unlink()

    # ------------------------------------------------------------------
    # Views and scheduled action
    # ------------------------------------------------------------------
    @users("kap_rt_kam", "kap_rt_leader", "kap_rt_admin")
    def test_views_open_for_each_role(self):
        for model in ("key.account.review", "key.account.review.cycle"):
            views = self.env[model].get_views(
                [(False, "list"), (False, "form"), (False, "search")]
            )
            self.assertTrue(views["views"]["form"]["arch"])
        form = Form(self.review_a.with_env(self.env))
        self.assertEqual(form.state, "draft")
        Form(self.cycle.with_env(self.env))

    def test_cron_creates_the_cycle_of_the_closed_period(self):
        self.company.key_account_period_type = "month"
        month = kpi_math.last_closed_period(self.today, "month")
        Cycle = self.env["key.account.review.cycle"]
        Cycle._cron_create_cycles()
        cycle = Cycle.search(
            [
                ("company_id", "=", self.company.id),
                ("date_from", "=", month[0]),
                ("date_to", "=", month[1]),
            ]
        )
        self.assertEqual(len(cycle), 1)
        self.assertEqual(cycle.period_type, "month")
        self.assertEqual(cycle.state, "in_progress")
        self.assertIn(self.partner_a, cycle.review_ids.partner_id)
        Cycle._cron_create_cycles()
        self.assertEqual(
            Cycle.search_count(
                [
                    ("date_from", "=", month[0]),
                    ("date_to", "=", month[1]),
                    ("company_id", "=", self.company.id),
                ]
            ),
            1,
        )
        self.assertEqual(len(cycle.review_ids), len(set(cycle.review_ids.partner_id)))
