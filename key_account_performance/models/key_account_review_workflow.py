"""The review's workflow: submit, approve, reject, with the notes, activities
and the rescoring of the account they bring."""

import psycopg2
from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import kpi_math
from .guard import internal
from .key_account_review import (
    ACTIVITY_APPROVAL,
    ACTIVITY_REWORK,
    EDITABLE_STATES,
    MANAGER_GROUP,
)


class KeyAccountReviewWorkflow(models.Model):
    _inherit = "key.account.review"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------
    def _check_decider(self):
        """The approver or a key-account manager, never the review's KAM nor
        whoever submitted it."""
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        for review in self:
            if self.env.user in (review.user_id | review.submitted_by_id):
                raise AccessError(
                    self.env._(
                        "You cannot approve or reject your own review (%(name)s).",
                        name=review.name,
                    )
                )
            if not (is_manager or review.approver_id == self.env.user):
                raise AccessError(
                    self.env._(
                        "Only the approver (%(approver)s) or a key-account manager can decide on "
                        "review %(name)s.",
                        approver=review.approver_id.name or "-",
                        name=review.name,
                    )
                )

    def action_refresh_lines(self):
        """Re-read the period's computed KPI values into the draft review."""
        self.check_access("write")
        not_editable = self.filtered(lambda r: r.state not in EDITABLE_STATES)
        if not_editable:
            raise UserError(
                self.env._(
                    "Review %(name)s is %(state)s: its lines are frozen.",
                    name=not_editable[0].name,
                    state=not_editable[0]._state_label(),
                )
            )
        for (cycle, company), reviews in self.grouped(
            lambda r: (r.cycle_id, r.company_id)
        ).items():
            self.env["key.account.kpi.value"].with_company(company).compute_for_period(
                cycle.date_from, cycle.date_to, reviews.partner_id.ids
            )
        self._refresh_lines()
        return True

    def action_submit(self):
        """KAM: freeze the lines and ask the approver for a decision."""
        self.check_access("write")
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        for review in self:
            if review.state not in EDITABLE_STATES:
                raise UserError(
                    self.env._(
                        "Review %(name)s is %(state)s: only draft or rejected reviews can be submitted.",
                        name=review.name,
                        state=review._state_label(),
                    )
                )
            if review.user_id and review.user_id != self.env.user and not is_manager:
                raise AccessError(
                    self.env._(
                        "Only %(kam)s or a key-account manager can submit review %(name)s.",
                        kam=review.user_id.name,
                        name=review.name,
                    )
                )
            missing = review.line_ids.filtered(
                lambda line: line.is_manual and not line.has_value
            )
            if missing:
                raise UserError(
                    self.env._(
                        "Review %(name)s: enter a value for %(kpis)s before submitting.",
                        name=review.name,
                        kpis=", ".join(missing.kpi_id.mapped("name")),
                    )
                )
            if not review.approver_id:
                review._compute_approver_id()
            if not review.approver_id:
                raise UserError(
                    self.env._(
                        "Review %(name)s has no approver: the KAM's sales team has no leader and "
                        "there is no other key-account manager.",
                        name=review.name,
                    )
                )
        self._write_manual_values()
        self._rescore_accounts()
        self._workflow_write(
            {
                "state": "submitted",
                "submitted_date": fields.Datetime.now(),
                "submitted_by_id": self.env.uid,
                "reject_reason": False,
            }
        )
        # chatter and activities as superuser (the author stays the current
        # user): they must not need the author's e-mail address, and the
        # approver is notified whether or not the submitter has one
        # the approver's to-do is written in the approver's language (each
        # text translated once per language, not once per review)
        texts = {}
        # sudo: the KAM was checked by _check_submittable; chatter only
        for review in self.sudo():
            lang = review._recipient_lang(review.approver_id)
            if lang not in texts:
                _ = self.with_context(lang=lang).env._
                texts[lang] = (
                    _("Approve the review of %(partner)s"),
                    _(
                        "%(kam)s submitted the %(cycle)s review: score %(score).1f, "
                        "grade %(grade)s."
                    ),
                )
            summary, note = texts[lang]
            review.activity_feedback([ACTIVITY_REWORK])
            review.activity_schedule(
                ACTIVITY_APPROVAL,
                user_id=review.approver_id.id,
                summary=summary % {"partner": review.partner_id.name},
                note=note
                % {
                    "kam": review.user_id.name or "-",
                    "cycle": review.cycle_id.name,
                    # rounded half up, as everywhere (72.45 -> 72.5)
                    "score": kpi_math.round_half_up(review.score, 1),
                    "grade": review.grade or "-",
                },
            )
            review.message_subscribe(partner_ids=review.approver_id.partner_id.ids)
        return True

    def action_approve(self):
        """Approver: accept the review; it becomes read-only."""
        self.check_access("read")
        self._lock_for_decision()
        self._check_submitted()
        self._check_decider()
        # the decision is allowed by _check_decider, not by the record rules
        # (the designated approver may only read the review)
        # sudo: the decider was checked by _check_decider just above
        self.sudo()._workflow_write(
            {
                "state": "approved",
                "approved_date": fields.Datetime.now(),
                "approved_by_id": self.env.uid,
                "decider_ids": [Command.link(self.env.uid)],
            }
        )
        for review in self:
            # sudo: activities of a review the decider may decide (checked above)
            review.sudo().activity_feedback(
                [ACTIVITY_APPROVAL, ACTIVITY_REWORK],
                feedback=self.env._("Approved by %(user)s", user=self.env.user.name),
            )
        return True

    def action_reject(self, reason=None):
        """Approver: send the review back to the KAM with a reason.

        ``reason`` is required: ``action_reject(reason="...")`` over RPC, or
        the *Reject* button's wizard in the web client.
        """
        self.check_access("read")
        reason = self._reject_reason_text(reason)
        if not reason:
            raise UserError(
                self.env._(
                    'A review is rejected with a reason: call action_reject(reason="...") '
                    "or use the Reject button."
                )
            )
        self._lock_for_decision()
        self._check_submitted()
        self._check_decider()
        # sudo: the decider was checked by _check_decider just above
        self.sudo()._workflow_write(
            {
                "state": "rejected",
                "reject_reason": reason,
                "rejected_by_id": self.env.uid,
                "decider_ids": [Command.link(self.env.uid)],
            }
        )
        # sudo: activities and note of a review the decider may decide (checked above)
        for review in self.sudo():
            review.activity_feedback(
                [ACTIVITY_APPROVAL],
                feedback=self.env._("Rejected by %(user)s", user=self.env.user.name),
            )
            # a note needs no e-mail address of its author
            review._message_log(
                body=Markup("<p><strong>%s</strong></p><p>%s</p>")
                % (self.env._("Review rejected"), reason)
            )
            if review.user_id:
                # the KAM's to-do, in the KAM's language
                review.activity_schedule(
                    ACTIVITY_REWORK,
                    user_id=review.user_id.id,
                    summary=self.with_context(
                        lang=review._recipient_lang(review.user_id)
                    ).env._(
                        "Rework the review of %(partner)s",
                        partner=review.partner_id.name,
                    ),
                    note=reason,
                )
        return True

    def _recipient_lang(self, user):
        """The language to write to ``user`` in: theirs, else the review's
        company's, else the current one."""
        installed = dict(self.env["res.lang"].get_installed())
        for lang in (user.lang, self.company_id.partner_id.lang, self.env.lang):
            if lang in installed:
                return lang
        return "en_US"

    @api.model
    def _reject_reason_text(self, reason):
        """The reason as the text it reads: a list or tuple of labels (as an
        RPC client or a selection may send) is its labels, one per line,
        never the text of a Python list; anything else but text is refused."""
        if isinstance(reason, (list, tuple)):
            if not all(isinstance(item, str) for item in reason):
                reason = None
            else:
                reason = "\n".join(item.strip() for item in reason if item.strip())
        if reason in (None, False, ""):
            return ""
        if not isinstance(reason, str):
            raise UserError(
                self.env._(
                    "The reason for a rejection is a text, not %(value)s.",
                    value=repr(reason),
                )
            )
        if "\x00" in reason:
            raise UserError(
                self.env._("The reason for a rejection cannot contain a NUL character.")
            )
        return reason.strip()

    def action_open_reject_wizard(self):
        self._check_submitted()
        self._check_decider()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Review"),
            "res_model": "key.account.review.reject.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_review_ids": [Command.set(self.ids)]},
        }

    def _lock_for_decision(self):
        """Lock the reviews' rows until the end of the transaction, so that two
        approvers deciding at once end with one decision and one clear error;
        then re-read their state (the caller checks it)."""
        if not self.ids:
            return
        self.flush_recordset()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM key_account_review WHERE id IN %s FOR UPDATE NOWAIT",
                        tuple(self.ids),
                    )
                )
        except psycopg2.errors.LockNotAvailable:
            raise UserError(
                self.env._(
                    "Someone else is approving or rejecting review %(name)s right now. "
                    "Reload it to see their decision.",
                    name=self[:1].name,
                )
            ) from None
        self.invalidate_recordset()

    def _check_submitted(self):
        for review in self:
            if review.state != "submitted":
                raise UserError(
                    self.env._(
                        "Review %(name)s is %(state)s: only submitted reviews can be approved or rejected.",
                        name=review.name,
                        state=review._state_label(),
                    )
                )

    def _state_label(self):
        self.ensure_one()
        return dict(self._fields["state"]._description_selection(self.env))[self.state]

    def _rescore_accounts(self):
        """The accounts' score, grade, trend and history follow the manual
        values just written, in the same transaction: the header shows what
        the breakdown adds up to. One scoring per company and period."""
        Engine = self.env["key.account.kpi.engine"].sudo()
        for (company, date_from, date_to), reviews in (
            self.sudo()
            .grouped(lambda r: (r.company_id, r.date_from, r.date_to))
            .items()
        ):
            if date_from and date_to:
                Engine.with_company(company)._rescore(
                    reviews.partner_id.ids, date_from, date_to, company
                )

    def _write_manual_values(self):
        """Manual KPI values go to key.account.kpi.value (is_manual) so that
        formulas, history and the account score see them.

        Runs as superuser: the submitter may edit the review (checked by the
        caller) without seeing the account's KPI values, e.g. a manager
        submitting for a KAM of another team."""
        Value = self.env["key.account.kpi.value"].sudo()
        lines = self.line_ids.filtered(lambda line: line.is_manual and line.has_value)
        if not lines:
            return
        existing = Value.search(
            [
                ("partner_id", "in", lines.review_id.partner_id.ids),
                ("kpi_id", "in", lines.kpi_id.ids),
                ("date_from", "in", list(set(lines.review_id.mapped("date_from")))),
                ("company_id", "in", lines.review_id.company_id.ids),
            ]
        )
        # a shared partner's value of another company is not this review's
        by_key = {
            (v.partner_id.id, v.kpi_id.id, v.date_from, v.date_to, v.company_id.id): v
            for v in existing
        }
        to_create = []
        created_for = []
        for line in lines:
            review = line.review_id
            vals = {
                "value": line.value,
                "target": line.target,
                "threshold": line.threshold,
                "weight": line.weight,
                "is_manual": True,
                "comment": line.comment or False,
            }
            record = by_key.get(
                (
                    review.partner_id.id,
                    line.kpi_id.id,
                    review.date_from,
                    review.date_to,
                    review.company_id.id,
                )
            )
            if record:
                record.write(vals)
                if line.kpi_value_id != record:
                    internal(line).kpi_value_id = record
            else:
                to_create.append(
                    dict(
                        vals,
                        partner_id=review.partner_id.id,
                        kpi_id=line.kpi_id.id,
                        date_from=review.date_from,
                        date_to=review.date_to,
                        company_id=review.company_id.id,
                        template_id=review.template_id.id,
                    )
                )
                created_for.append(line)
        # link the lines to their evidence while they are still editable
        for line, value in zip(created_for, Value.create(to_create)):
            internal(line).kpi_value_id = value
