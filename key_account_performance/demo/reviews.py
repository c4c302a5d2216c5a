"""The demo story's KPI computation, review cycles, improvement actions and appraisals."""

import datetime
import logging

from .story import (
    ACTION_IDEAS,
    REVIEW_COMMENTS,
    STORY_COMMENTS,
)

_logger = logging.getLogger(__name__)


def as_user(records, user):
    """``records`` as ``user`` acts on them, in the user's language: Odoo's
    messages then come out in one language (its creation message read the
    document's name in the context's language, English when none was set,
    and its verb in the user's: "Key Account Review 创建")."""
    return records.with_user(user).with_context(lang=user.lang or "en_US")


class ReviewSteps:
    """The demo story's KPI computation, review cycles, improvement actions and appraisals."""

    def _compute(self):
        """KPI values, scores and score history of every quarter, oldest first
        (so that trends and early warnings follow the story), then customer value."""
        Value = self.env["key.account.kpi.value"]
        for date_from, date_to in self.quarters:
            Value.compute_for_period(date_from, date_to, self.partners.ids)
        Partner = self.env["res.partner"]
        if hasattr(Partner, "compute_key_account_value"):
            self.partners.compute_key_account_value()
        else:
            self.partners._compute_key_account_customer_value(self.company)

    # ------------------------------------------------------------------
    # Reviews and improvement actions
    # ------------------------------------------------------------------
    def _fill(self, review, complete=True):
        """As the KAM: manual values (where missing) and a comment."""
        rng = self.rng
        review = as_user(review, review.user_id)
        if complete:
            for line in review.line_ids.filtered(
                lambda ln: ln.is_manual and not ln.has_value
            ):
                line.write(
                    {"value": round(rng.uniform(2.5, 4.5) * 2) / 2, "has_value": True}
                )
        story = self.story_of.get(review.partner_id.id)
        review.comment = STORY_COMMENTS.get(story) or rng.choice(REVIEW_COMMENTS)
        return review

    def _actions_from(self, review, count):
        """Improvement actions for the review's weakest KPIs that have a fitting action."""
        Action = self.env["key.account.improvement.action"]
        # chosen as superuser, in one read (as the KAM, every line would be
        # read on its own, through the record rules); created as the KAM below
        lines = review.sudo().line_ids
        lines.fetch(["status", "kpi_id"])
        lines = lines.filtered(
            lambda ln: (
                ln.status in ("alert", "watch") and ln.kpi_id.code in ACTION_IDEAS
            )
        ).with_env(review.env)
        # alerts first, a different KPI from one account to the next
        lines = lines.browse(self.rng.sample(lines.ids, len(lines)))
        lines = lines.sorted(lambda ln: ln.status != "alert")[:count]
        created = Action
        for line in lines:
            name, expected = self.rng.choice(ACTION_IDEAS[line.kpi_id.code])
            user = review.user_id
            action = Action.browse(
                as_user(line, user).action_create_improvement_action()["res_id"]
            )
            as_user(action, user).write(
                {
                    "name": name,
                    "expected_result": expected,
                    "date_deadline": review.date_to
                    + datetime.timedelta(days=self.rng.randint(30, 80)),
                }
            )
            created |= action
        return created

    def _create_reviews(self):
        """The quarter before last: every review approved, its actions carried
        out. The last closed quarter: reviews in every state, actions in every state."""
        rng, leader = self.rng, self.manager
        self.story_of = {
            partner.id: spec["story"]
            for partner, spec in self.accounts
            if spec["story"]
        }
        Cycle = as_user(self.env["key.account.review.cycle"], leader)
        last, before = self.quarters[-2], self.quarters[-3]

        cycle_before = Cycle.create(
            {"period_type": "quarter", "date_from": before[0], "date_to": before[1]}
        )
        cycle_before.action_generate_reviews()
        old_actions = self.env["key.account.improvement.action"]
        for review in cycle_before.review_ids.sorted("id"):
            self._fill(review).action_submit()
            as_user(review, leader).action_approve()
            old_actions |= self._actions_from(review, 1)
        for index, action in enumerate(old_actions):
            action = as_user(action, action.user_id)
            if index % 5 == 4:
                action.action_cancel()
            else:
                action.action_start()
                action.action_done()
        cycle_before.action_close()

        cycle = Cycle.create(
            {"period_type": "quarter", "date_from": last[0], "date_to": last[1]}
        )
        cycle.action_generate_reviews()
        pattern = [
            "approved",
            "draft",
            "submitted",
            "approved",
            "draft",
            "rejected",
            "approved",
            "submitted",
            "draft",
            "approved",
        ]
        story_state = {
            "growing": "approved",
            "declining": "rejected",
            "stopped": "submitted",
        }
        states = {}
        others = 0
        for review in cycle.review_ids.sorted(lambda r: r.partner_id.id):
            story = self.story_of.get(review.partner_id.id)
            if story:
                states[review] = story_state[story]
            else:
                states[review] = pattern[others % len(pattern)]
                others += 1
        new_actions = self.env["key.account.improvement.action"]
        self.external_factor_line = self.env["key.account.review.line"]
        for review, state in states.items():
            if state == "draft":
                if rng.random() < 0.5:
                    self._fill(review, complete=False)
                continue
            review = self._fill(review)
            if state == "approved" and not self.external_factor_line:
                self._mark_external_factor(review)
            review.action_submit()
            if state == "approved":
                as_user(review, leader).action_approve()
            elif state == "rejected":
                as_user(review, leader).action_reject(
                    reason="Please back the relationship score with the minutes of the last "
                    "steering meeting, and explain the drop in orders."
                )
            if state in ("approved", "rejected"):
                new_actions |= self._actions_from(review, 2)
        self._move_actions(new_actions)
        self.env["key.account.improvement.action"]._cron_remind_overdue()
        self.counts["reviews"] = len(cycle_before.review_ids) + len(cycle.review_ids)
        self.counts["improvement actions"] = len(old_actions) + len(new_actions)

    def _mark_external_factor(self, review):
        """The story's external factor: the KAM of a review that will be
        approved marks its weakest computed KPI as hit by a competitor's
        price war; the approval accepts it, so the KPI stays in the
        account's score but not in the KAM's appraisal."""
        weakest = review.line_ids.filtered(
            lambda ln: ln.has_value and not ln.is_manual and ln.score < 50
        ).sorted("score")[:1]
        if weakest:
            weakest.write(
                {
                    "external_factor": True,
                    "external_factor_reason": "competitor",
                    "external_factor_note": "A competitor's price war in the region cut "
                    "every supplier's orders this quarter; the customer's own demand held.",
                }
            )
            self.external_factor_line = weakest

    def _create_appraisals(self):
        """The appraisals of the two reviewed quarters: the older ones
        approved by the team leader, the last quarter's computed as drafts
        (one submitted), so that My Appraisal and the team ranking tell the
        story: one KAM's score saved by an accepted external factor."""
        Appraisal = as_user(self.env["key.account.appraisal"], self.manager)
        last, before = self.quarters[-2], self.quarters[-3]
        older = Appraisal.browse(Appraisal.compute_appraisals(*before))
        for appraisal in older:
            as_user(appraisal, appraisal.user_id).action_submit()
            appraisal.action_approve()
        current = Appraisal.browse(Appraisal.compute_appraisals(*last))
        # the one who needs coaching: the leader plans it on their weakest KPIs
        weakest = current.sorted(lambda a: (a.score, a.id))[:1]
        if weakest:
            plan = as_user(weakest, self.manager).action_plan_coaching()["context"]
            as_user(weakest, self.manager).activity_schedule(
                activity_type_id=plan["default_activity_type_id"],
                user_id=weakest.user_id.id,
                summary=plan["default_summary"],
                note=plan["default_note"],
            )
        for appraisal in (current - weakest).sorted("id")[:1]:
            as_user(appraisal, appraisal.user_id).action_submit()
        self.counts["appraisals"] = len(older) + len(current)

    def _move_actions(self, actions):
        """Actions of the last quarter in every state, one of them overdue."""
        action_states = [
            "todo",
            "in_progress",
            "todo",
            "done",
            "in_progress",
            "cancelled",
        ]
        for index, action in enumerate(actions):
            action = as_user(action, action.user_id)
            state = action_states[index % len(action_states)]
            if index == 0:  # one overdue, reminded by the scheduled action
                action.date_deadline = self.today - datetime.timedelta(days=5)
            if state in ("in_progress", "done"):
                action.action_start()
            if state == "done":
                action.action_done()
            elif state == "cancelled":
                action.action_cancel()
