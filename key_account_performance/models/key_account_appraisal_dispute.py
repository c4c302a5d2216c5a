import datetime

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import kpi_math
from .guard import internal, is_internal, refuse_derived

ACK_FIELDS = frozenset(
    {
        "ack_state",
        "acknowledged_date",
        "dispute_deadline",
        "dispute_ids",
        "version_ids",
    }
)
# what a version keeps of the appraisal, and compares with the next one
VERSION_FIELDS = (
    "account_score",
    "long_term_score",
    "score",
    "grade",
    "incentive_rate",
    "payout_percent",
    "payout_amount",
)


class KeyAccountAppraisal(models.Model):
    """Acknowledge or dispute: once approved, the appraised person
    acknowledges the appraisal, or disputes it within the company's number
    of days with a reason and comments on the accounts concerned. The
    person's team leader or a key-account manager upholds it, or corrects
    it: the appraisal as it was is kept as a version (readable as of its
    date, with who decided and why), the appraisal goes back to draft to be
    recomputed and approved again, and the version then says what changed.
    """

    _inherit = "key.account.appraisal"  # pylint: disable=consider-merging-classes-inherited

    ack_state = fields.Selection(
        [
            ("pending", "Awaiting Acknowledgement"),
            ("acknowledged", "Acknowledged"),
            ("disputed", "Disputed"),
            ("upheld", "Upheld"),
            ("corrected", "Corrected"),
        ],
        string="Acknowledgement",
        readonly=True,
        copy=False,
        tracking=True,
        index="btree_not_null",
        help="After approval: the appraised person acknowledges it, or disputes it; the "
        "manager then upholds or corrects it.",
    )
    acknowledged_date = fields.Datetime(readonly=True, copy=False)
    dispute_deadline = fields.Date(
        readonly=True,
        copy=False,
        help="The last day the appraised person can dispute the approved appraisal.",
    )
    dispute_ids = fields.One2many(
        "key.account.appraisal.dispute",
        "appraisal_id",
        string="Disputes",
        readonly=True,
    )
    version_ids = fields.One2many(
        "key.account.appraisal.version",
        "appraisal_id",
        string="Earlier Versions",
        readonly=True,
    )
    can_acknowledge = fields.Boolean(compute="_compute_ack_flags")
    can_dispute = fields.Boolean(compute="_compute_ack_flags")
    can_resolve = fields.Boolean(compute="_compute_ack_flags")

    def _derived_fields(self):
        return super()._derived_fields() | ACK_FIELDS

    @api.depends_context("uid")
    @api.depends("state", "ack_state", "user_id", "dispute_deadline")
    def _compute_ack_flags(self):
        deciders = self.filtered(
            lambda a: a.state == "approved" and a.ack_state == "disputed"
        )._deciders()
        for appraisal in self:
            appraisal.can_acknowledge = (
                appraisal.state == "approved"
                and appraisal.ack_state == "pending"
                and appraisal.user_id == self.env.user
            )
            appraisal.can_dispute = appraisal.can_acknowledge and (
                not appraisal.dispute_deadline
                or appraisal._person_today() <= appraisal.dispute_deadline
            )
            appraisal.can_resolve = appraisal.id in deciders

    def _person_today(self):
        """Today in the appraised person's time zone: the deadline is theirs."""
        self.ensure_one()
        return fields.Date.context_today(
            self.with_context(tz=self.user_id.sudo().tz or "UTC")
        )

    def action_approve(self):
        result = super().action_approve()
        days = {}
        for appraisal in self:
            company = appraisal.company_id
            if company not in days:
                days[company] = company.key_account_appraisal_dispute_days
            # sudo: the decider was checked by action_approve
            internal(appraisal.sudo()).write(
                {
                    "ack_state": "pending",
                    "dispute_deadline": appraisal._person_today()
                    + datetime.timedelta(days=days[company]),
                }
            )
            # in the appraised person's language, as the version's table
            appraisal.with_context(
                lang=appraisal.user_id.lang or self.env.lang
            )._version_changes()
        return result

    def _check_person(self):
        for appraisal in self:
            if appraisal.user_id != self.env.user:
                raise AccessError(
                    self.env._(
                        "Only %(person)s acknowledges or disputes appraisal %(name)s.",
                        person=appraisal.user_id.name,
                        name=appraisal.name,
                    )
                )
            if appraisal.state != "approved" or appraisal.ack_state != "pending":
                raise UserError(
                    self.env._(
                        "Appraisal %(name)s is not awaiting your acknowledgement.",
                        name=appraisal.name,
                    )
                )

    def action_acknowledge(self):
        """The appraised person: I have read it and accept it."""
        self.check_access("read")
        self._check_person()
        # sudo: the person was checked just above
        internal(self.sudo()).write(
            {"ack_state": "acknowledged", "acknowledged_date": fields.Datetime.now()}
        )
        # sudo: the person or the decider was checked above; chatter and derived fields only
        for appraisal in self.sudo():
            appraisal._message_log(
                body=Markup("<p>%s</p>")
                % self.env._("Acknowledged by %(person)s", person=self.env.user.name)
            )
        return True

    def action_open_dispute(self):
        """The dispute form: a reason and comments on the accounts concerned."""
        self.ensure_one()
        self.check_access("read")
        self._check_person()
        self._check_dispute_deadline()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Dispute Appraisal"),
            "res_model": "key.account.appraisal.dispute",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_appraisal_id": self.id},
        }

    def _check_dispute_deadline(self):
        for appraisal in self:
            if (
                appraisal.dispute_deadline
                and appraisal._person_today() > appraisal.dispute_deadline
            ):
                raise UserError(
                    self.env._(
                        "Appraisal %(name)s could be disputed until %(date)s.",
                        name=appraisal.name,
                        date=appraisal.dispute_deadline,
                    )
                )

    def _check_resolver(self):
        deciders = self._deciders()
        for appraisal in self:
            if appraisal.ack_state != "disputed":
                raise UserError(
                    self.env._(
                        "Appraisal %(name)s is not disputed.", name=appraisal.name
                    )
                )
            if appraisal.id not in deciders:
                raise AccessError(
                    self.env._(
                        "Only the team leader of %(person)s or a key-account manager "
                        "decides on the dispute of appraisal %(name)s.",
                        person=appraisal.user_id.name,
                        name=appraisal.name,
                    )
                )

    def action_uphold(self, note=None):
        """The team leader or a key-account manager keeps the appraisal as it
        is (``action_uphold(note="...")``)."""
        self.check_access("read")
        self._check_resolver()
        # sudo: the person or the decider was checked above; chatter and derived fields only
        disputes = self.sudo().dispute_ids.filtered(lambda d: not d.decision)
        # sudo: the decider was checked just above
        internal(disputes).write(
            {
                "decision": "upheld",
                "decision_note": note or False,
                "decided_by_id": self.env.uid,
                "decided_date": fields.Datetime.now(),
            }
        )
        # sudo: the person or the decider was checked above; chatter and derived fields only
        internal(self.sudo()).write({"ack_state": "upheld"})
        # sudo: the person or the decider was checked above; chatter and derived fields only
        for appraisal in self.sudo():
            appraisal._message_log(
                body=Markup("<p><strong>%s</strong></p><p>%s</p>")
                % (
                    self.env._(
                        "Dispute: appraisal upheld by %(user)s", user=self.env.user.name
                    ),
                    note or "",
                )
            )
        return True

    def action_correct(self, note=None):
        """The team leader or a key-account manager corrects the appraisal
        (``action_correct(note="...")``): the appraisal as it is becomes a
        version, readable as of today, and goes back to draft to be
        recomputed (after the review or the account team is put right) and
        approved again."""
        self.check_access("read")
        self._check_resolver()
        now = fields.Datetime.now()
        # sudo: the person or the decider was checked above; chatter and derived fields only
        Version = internal(self.env["key.account.appraisal.version"]).sudo()
        # sudo: the person or the decider was checked above; chatter and derived fields only
        for appraisal in self.sudo():
            dispute = appraisal.dispute_ids.filtered(lambda d: not d.decision)[:1]
            # in the appraised person's language: the version is theirs to read
            person_lang = appraisal.user_id.lang or self.env.lang
            Version.create(
                dict(
                    appraisal.with_context(lang=person_lang)._version_values(),
                    appraisal_id=appraisal.id,
                    sequence=len(appraisal.version_ids) + 1,
                    as_of=now,
                    decided_by_id=self.env.uid,
                    reason=Markup("<p>%s</p><p>%s</p>")
                    % (dispute.reason or "", note or ""),
                )
            )
        # sudo: the person or the decider was checked above; chatter and derived fields only
        disputes = self.sudo().dispute_ids.filtered(lambda d: not d.decision)
        internal(disputes).write(
            {
                "decision": "corrected",
                "decision_note": note or False,
                "decided_by_id": self.env.uid,
                "decided_date": now,
            }
        )
        # sudo: the decider was checked above; back to draft for a recomputation
        internal(self.sudo()).write(
            {
                "state": "draft",
                "ack_state": "corrected",
                "approved_by_id": False,
                "approved_date": False,
            }
        )
        # sudo: the person or the decider was checked above; chatter and derived fields only
        for appraisal in self.sudo():
            appraisal._message_log(
                body=Markup("<p><strong>%s</strong></p><p>%s</p>")
                % (
                    self.env._(
                        "Dispute: appraisal corrected by %(user)s; version %(version)s keeps "
                        "it as it was.",
                        user=self.env.user.name,
                        version=len(appraisal.version_ids),
                    ),
                    note or "",
                )
            )
        return True

    def _version_values(self):
        """The appraisal's figures and accounts as a version keeps them."""
        self.ensure_one()
        vals = {name: self[name] for name in VERSION_FIELDS}
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
            % (
                line.partner_id.display_name,
                kpi_math.format_rounded(line.share * 100, 1),
                kpi_math.format_score(line.review_score, 1)
                if line.source == "review"
                else "",
                kpi_math.format_score(line.account_score, 1) if line.has_score else "–",
            )
            for line in self.line_ids
        )
        vals["lines_snapshot"] = Markup(
            '<table class="table table-sm"><thead><tr><th>%s</th><th>%s</th><th>%s</th>'
            "<th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (
            self.env._("Account"),
            self.env._("Share (%)"),
            self.env._("Raw Score"),
            self.env._("Adjusted Score"),
            rows,
        )
        vals["line_scores"] = {
            str(line.partner_id.id): line.account_score for line in self.line_ids
        }
        return vals

    def _version_changes(self):
        """On approval after a correction: what changed since the latest
        version, written on it."""
        self.ensure_one()
        version = self.version_ids.sorted("sequence")[-1:]
        if not version or version.changes:
            return
        labels = {
            name: self._fields[name]._description_string(self.env)
            for name in VERSION_FIELDS
        }
        changes = []
        for name in VERSION_FIELDS:
            before, after = version[name], self[name]
            if isinstance(before, float):
                if abs(before - after) < 0.005:
                    continue
                before, after = (
                    kpi_math.format_rounded(before, 2),
                    kpi_math.format_rounded(after, 2),
                )
            elif before == after:
                continue
            changes.append("%s: %s → %s" % (labels[name], before or "–", after or "–"))
        old_scores = version.line_scores or {}
        for line in self.line_ids:
            before = old_scores.get(str(line.partner_id.id))
            if before is None:
                changes.append(
                    self.env._(
                        "%(account)s: added", account=line.partner_id.display_name
                    )
                )
            elif abs(before - line.account_score) >= 0.005:
                changes.append(
                    "%s: %s → %s"
                    % (
                        line.partner_id.display_name,
                        kpi_math.format_rounded(before, 2),
                        kpi_math.format_rounded(line.account_score, 2),
                    )
                )
        internal(version.sudo()).write(
            {
                "changes": "\n".join(changes)
                or self.env._("No change in the figures."),
                "superseded_by_id": self.approved_by_id.id,
            }
        )


class KeyAccountAppraisalDispute(models.Model):
    """A dispute of an approved appraisal by the appraised person: a reason
    and comments on the accounts concerned; the decision (upheld or
    corrected) of the team leader or a key-account manager."""

    _name = "key.account.appraisal.dispute"
    _description = "Key Account Appraisal Dispute"
    _order = "appraisal_id, id desc"
    _rec_name = "appraisal_id"

    appraisal_id = fields.Many2one(
        "key.account.appraisal", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(related="appraisal_id.user_id", store=True)
    company_id = fields.Many2one(related="appraisal_id.company_id", store=True)
    reason = fields.Text(required=True, help="Why the appraisal is disputed.")
    comment_ids = fields.One2many(
        "key.account.appraisal.dispute.comment",
        "dispute_id",
        string="Comments on Accounts",
    )
    decision = fields.Selection(
        [("upheld", "Upheld"), ("corrected", "Corrected")], readonly=True
    )
    decision_note = fields.Text(readonly=True)
    decided_by_id = fields.Many2one("res.users", readonly=True)
    decided_date = fields.Datetime(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        refuse_derived(
            self,
            vals_list,
            frozenset({"decision", "decision_note", "decided_by_id", "decided_date"}),
        )
        disputes = super().create(vals_list)
        for dispute in disputes:
            appraisal = dispute.appraisal_id
            if not is_internal(self.env):
                appraisal._check_person()
                appraisal._check_dispute_deadline()
            foreign = dispute.comment_ids.line_id.appraisal_id - appraisal
            if foreign:
                raise UserError(
                    self.env._(
                        "Comment on the accounts of the disputed appraisal only."
                    )
                )
        # sudo: the person was checked above; the appraisal's derived status
        for dispute in disputes.sudo():
            appraisal = dispute.appraisal_id
            internal(appraisal).write({"ack_state": "disputed"})
            appraisal._message_log(
                body=Markup("<p><strong>%s</strong></p><p>%s</p>")
                % (
                    self.env._("Disputed by %(person)s", person=appraisal.user_id.name),
                    dispute.reason,
                )
            )
            approver = (
                self.env["key.account.review"]
                ._default_approvers(set(appraisal.user_id), appraisal.company_id)
                .get(appraisal.user_id)
            )
            if approver and approver != appraisal.user_id:
                appraisal.activity_schedule(
                    "mail.mail_activity_data_todo",
                    user_id=approver.id,
                    summary=self.env._(
                        "Decide on the dispute of %(person)s's appraisal",
                        person=appraisal.user_id.name,
                    ),
                )
        return disputes

    def write(self, vals):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "A dispute is decided with Uphold or Correct on the appraisal, not "
                    "changed by hand."
                )
            )
        return super().write(vals)

    def action_confirm(self):
        """The dialog's button: the record is saved by then."""
        return {"type": "ir.actions.act_window_close"}


class KeyAccountAppraisalDisputeComment(models.Model):
    _name = "key.account.appraisal.dispute.comment"
    _description = "Key Account Appraisal Dispute Comment"
    _order = "dispute_id, id"

    dispute_id = fields.Many2one(
        "key.account.appraisal.dispute", required=True, index=True, ondelete="cascade"
    )
    # the appraisal line commented on; a correction recomputes the appraisal,
    # which replaces its lines: the comment then keeps its account and the
    # score disputed (below), and the link is emptied
    line_id = fields.Many2one(
        "key.account.appraisal.line",
        string="Account",
        ondelete="set null",
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, ondelete="cascade"
    )
    account_score = fields.Float(
        string="Score Disputed",
        readonly=True,
        help="The account's score in the appraisal when it was disputed.",
    )
    comment = fields.Text(required=True)

    @api.onchange("line_id")
    def _onchange_line_id(self):
        """The dialog shows the account's score as soon as the line is picked."""
        for comment in self:
            comment.partner_id = comment.line_id.partner_id
            comment.account_score = comment.line_id.account_score

    @api.model_create_multi
    def create(self, vals_list):
        line_ids = [vals["line_id"] for vals in vals_list if vals.get("line_id")]
        if len(line_ids) != len(vals_list):
            raise UserError(self.env._("Choose the account each comment is about."))
        # read as the person: their own appraisal's lines
        lines = self.env["key.account.appraisal.line"].browse(line_ids)
        Dispute = self.env["key.account.appraisal.dispute"]
        for vals, line in zip(vals_list, lines, strict=True):
            dispute = Dispute.browse(vals.get("dispute_id") or [])
            if dispute and line.appraisal_id != dispute.appraisal_id:
                raise UserError(
                    self.env._(
                        "Comment on the accounts of the disputed appraisal only."
                    )
                )
            vals["partner_id"] = line.partner_id.id
            vals["account_score"] = line.account_score
        return super().create(vals_list)


class KeyAccountAppraisalVersion(models.Model):
    """An earlier version of an appraisal, kept when a dispute corrects it:
    its figures and accounts as of ``as_of``, who decided the correction and
    why, and (once the corrected appraisal is approved again) what
    changed."""

    _name = "key.account.appraisal.version"
    _description = "Key Account Appraisal Version"
    _order = "appraisal_id, sequence desc"
    _rec_name = "sequence"

    appraisal_id = fields.Many2one(
        "key.account.appraisal", required=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(related="appraisal_id.user_id", store=True)
    company_id = fields.Many2one(related="appraisal_id.company_id", store=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    sequence = fields.Integer(string="Version")
    as_of = fields.Datetime()
    decided_by_id = fields.Many2one("res.users", string="Corrected By")
    superseded_by_id = fields.Many2one("res.users", string="Approved Again By")
    reason = fields.Html(sanitize=True)
    account_score = fields.Float()
    long_term_score = fields.Float()
    score = fields.Float()
    grade = fields.Char()
    incentive_rate = fields.Float(string="Incentive Rate (%)")
    payout_percent = fields.Float(string="Payout (%)")
    payout_amount = fields.Monetary(string="Payout")
    lines_snapshot = fields.Html(string="Accounts Then", sanitize=True)
    line_scores = fields.Json()
    changes = fields.Text(string="What Changed")

    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._("Versions of an appraisal are kept by its correction.")
            )
        return super().create(vals_list)

    def write(self, vals):
        refuse_derived(self, [vals], frozenset(self._fields))
        return super().write(vals)
