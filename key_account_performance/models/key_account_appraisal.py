from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import kpi_math
from .guard import internal, is_internal, refuse_derived

MANAGER_GROUP = "key_account_performance.group_key_account_manager"
KAM_GROUP = "key_account_performance.group_key_account_user"
EDITABLE_STATES = ("draft", "rejected")
# how many previous periods the long-term part looks back on
LONG_TERM_PERIODS = 3
# how many of the weakest KPIs an appraisal lists for the person's development
DEVELOPMENT_KPIS = 3
COACHING_ACTIVITY = "key_account_performance.mail_activity_type_appraisal_coaching"
# worked out by compute_appraisals and the workflow: never written by hand,
# administrators included
DERIVED_FIELDS = frozenset(
    {
        "name",
        "user_id",
        "company_id",
        "date_from",
        "date_to",
        "cycle_id",
        "period_label",
        "team_id",
        "state",
        "account_score",
        "long_term_score",
        "has_long_term",
        "score",
        "grade",
        "incentive_rate",
        "previous_score",
        "has_previous",
        "trend",
        "account_count",
        "line_ids",
        "development_ids",
        "follow_up_ids",
        "computed_date",
        "submitted_by_id",
        "submitted_date",
        "approved_by_id",
        "approved_date",
        "rejected_by_id",
        "reject_reason",
    }
)
# written by mail.thread / mail.activity.mixin on any record, even a frozen one
MAIL_FIELD_PREFIXES = ("message_", "activity_", "website_message_")


class KeyAccountAppraisal(models.Model):
    """One person's appraisal for one period and company (绩效考核).

    ``compute_appraisals`` builds it from the accounts the person is credited
    on (``key.account.member``; an account without members credits its KAM
    with share 1):

    * each account's score ``s``: from the approved review of the period when
      there is one (its frozen lines, leaving out the lines whose external
      factor was accepted: Σ weight·score / Σ weight over the kept lines that
      have a value), otherwise from the account's KPI values of the period
      (Σ weight·score / Σ weight of ``key.account.kpi.value``);
    * a person whose role on the account has KPIs of its own
      (``key.account.role.kpi``: after-sales and technical support as
      shipped) gets ``s`` from those KPIs only, the same weighted mean with
      the role's weights; sales (the KAM's role) counts every KPI;
    * ``account_score`` = Σ (w · share · s) / Σ (w · share), ``w`` the
      tier's ``appraisal_weight``; accounts without any score are left out;
    * ``long_term_score``: the same weighted mean of each account's mean
      score over the previous three periods of the same length
      (``key.account.score.history``, closed periods only; accounts without
      history left out). Without any history it equals ``account_score``
      (neutral: the blend then leaves the short-term score as it is);
    * ``score`` = (1 − λ) · ``account_score`` + λ · ``long_term_score``, λ the
      company's ``key_account_appraisal_long_term_weight``;
    * ``grade`` from the company's grade bands, ``incentive_rate`` from the
      grade.

    The model is split by concern: this file holds the fields, the ORM
    guards and the workflow; key_account_appraisal_compute.py the
    computation, key_account_appraisal_sources.py where the account scores
    come from, key_account_appraisal_export.py the incentives export,
    key_account_appraisal_payout.py the payout, key_account_appraisal_ranking.py
    the ranking; key_account_appraisal_line.py the lines.

    Workflow: draft → submitted (by the person or a key-account manager) →
    approved or rejected with a reason (by the person's team leader or a
    key-account manager, never by the person). Approved appraisals are
    frozen; submitted and approved ones are never recomputed.
    """

    _name = "key.account.appraisal"
    _description = "Key Account Appraisal"
    _inherit = ["key.account.mail.sender", "mail.activity.mixin"]
    _order = "date_from desc, score desc, id"

    name = fields.Char(readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Appraised Person", required=True, index=True, readonly=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    date_from = fields.Date(required=True, readonly=True)
    date_to = fields.Date(required=True, readonly=True)
    period_label = fields.Char(string="Period", readonly=True)
    cycle_id = fields.Many2one(
        "key.account.review.cycle",
        string="Review Cycle",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", readonly=True, index="btree_not_null"
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("submitted", "Submitted"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
        ],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
        copy=False,
    )
    account_score = fields.Float(
        aggregator="avg",
        readonly=True,
        help="Σ (tier weight × share × account score) / Σ (tier weight × share) over the "
        "accounts the person is credited on.",
    )
    long_term_score = fields.Float(
        aggregator="avg",
        readonly=True,
        help="The same weighted mean of each account's mean score over the previous three "
        "periods (score history); the account score when there is no history.",
    )
    has_long_term = fields.Boolean(
        string="Has History",
        readonly=True,
        help="Unset: no account has a score history, the long-term part is the account score.",
    )
    score = fields.Float(
        aggregator="avg",
        readonly=True,
        tracking=True,
        help="(1 − long-term weight) × account score + long-term weight × long-term score.",
    )
    grade = fields.Char(readonly=True, tracking=True)
    incentive_rate = fields.Float(
        string="Incentive Rate (%)",
        aggregator="avg",
        readonly=True,
        digits=(16, 2),
        help="The incentive rate of the grade (Configuration > Grade Bands).",
    )
    previous_score = fields.Float(aggregator="avg", readonly=True)
    has_previous = fields.Boolean(readonly=True)
    trend = fields.Float(
        aggregator="avg",
        readonly=True,
        help="Score minus the score of the person's appraisal of the previous period.",
    )
    account_count = fields.Integer(string="Accounts", readonly=True)
    line_ids = fields.One2many(
        "key.account.appraisal.line",
        "appraisal_id",
        string="Appraised Accounts",
        readonly=True,
    )
    development_ids = fields.One2many(
        "key.account.appraisal.development",
        "appraisal_id",
        string="Weakest KPIs",
        domain=[("kind", "=", "weak")],
        readonly=True,
        help="The KPIs where the person's accounts lose the most points, weighted as the score "
        "is (tier weight × share × KPI weight), with the accounts behind each.",
    )
    follow_up_ids = fields.One2many(
        "key.account.appraisal.development",
        "appraisal_id",
        string="Last Period's Weak KPIs",
        domain=[("kind", "=", "follow_up")],
        readonly=True,
        help="The weakest KPIs of the person's appraisal of the previous period: their weighted "
        "score then and now.",
    )
    computed_date = fields.Datetime(string="Computed On", readonly=True)
    comment = fields.Html(
        help="What went well, what did not, what the person plans for the next period."
    )
    submitted_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    submitted_date = fields.Datetime(readonly=True, copy=False)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    approved_date = fields.Datetime(readonly=True, copy=False)
    rejected_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    reject_reason = fields.Text(readonly=True, copy=False, tracking=True)
    can_decide = fields.Boolean(compute="_compute_ui_flags")
    can_submit = fields.Boolean(compute="_compute_ui_flags")

    _sql_constraints = [
        (
            "user_period_company_unique",
            "UNIQUE(user_id, company_id, date_from, date_to)",
            "A person has one appraisal per period and company.",
        ),
    ]

    @api.depends_context("uid")
    @api.depends("state", "user_id")
    def _compute_ui_flags(self):
        deciders = self.filtered(lambda a: a.state == "submitted")._deciders()
        for appraisal in self:
            appraisal.can_submit = appraisal.state in EDITABLE_STATES and (
                appraisal.user_id == self.env.user
                or self.env.user.has_group(MANAGER_GROUP)
            )
            appraisal.can_decide = appraisal.id in deciders

    # ------------------------------------------------------------------
    # ORM: derived fields for nobody, frozen once submitted
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if not is_internal(self.env):
            raise UserError(
                self.env._(
                    "Appraisals are created by Compute Appraisals (compute_appraisals), "
                    "not by hand."
                )
            )
        return super().create(vals_list)

    def _derived_fields(self):
        """The fields only the addon writes (extended by the payout, ranking...)."""
        return DERIVED_FIELDS

    def write(self, vals):
        refuse_derived(self, [vals], self._derived_fields())
        content = {name for name in vals if not name.startswith(MAIL_FIELD_PREFIXES)}
        if content and not is_internal(self.env):
            frozen = self.filtered(lambda a: a.state not in EDITABLE_STATES)
            if frozen:
                raise UserError(
                    self.env._(
                        "Appraisal %(name)s is %(state)s: it can no longer be changed.",
                        name=frozen[0].name,
                        state=dict(
                            self._fields["state"]._description_selection(self.env)
                        )[frozen[0].state],
                    )
                )
            if not self.env.user.has_group(MANAGER_GROUP) and self.filtered(
                lambda a: a.user_id != self.env.user
            ):
                raise AccessError(
                    self.env._("You can only comment on your own appraisal.")
                )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_decided(self):
        decided = self.filtered(lambda a: a.state in ("submitted", "approved"))
        if decided:
            raise UserError(
                self.env._(
                    "Appraisal %(name)s is submitted or approved and cannot be deleted.",
                    name=decided[0].name,
                )
            )

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------
    def _is_decider(self):
        """The person's team leader or a key-account manager, never the person."""
        self.ensure_one()
        return self.id in self._deciders()

    def _deciders(self):
        """The ids of these appraisals the current user may decide on: as
        the person's team leader (an active team of an active membership) or
        a key-account manager, never their own; one query of the
        memberships for any number of appraisals."""
        user = self.env.user
        others = self.filtered(lambda appraisal: appraisal.user_id != user)
        if not others or user.has_group(MANAGER_GROUP):
            return set(others.ids)
        people = others.user_id
        teams = people._key_account_active_team_ids()
        led = set(
            self.env["crm.team"]
            .sudo()
            .browse({team_id for team_ids in teams.values() for team_id in team_ids})
            .filtered(lambda team: team.user_id == user)
            .ids
        )
        return {
            appraisal.id
            for appraisal in others
            if led.intersection(teams[appraisal.user_id.id])
        }

    def _check_decider(self):
        deciders = self._deciders()
        for appraisal in self:
            if self.env.user == appraisal.user_id:
                raise AccessError(
                    self.env._(
                        "You cannot approve or reject your own appraisal (%(name)s).",
                        name=appraisal.name,
                    )
                )
            if appraisal.id not in deciders:
                raise AccessError(
                    self.env._(
                        "Only the team leader of %(person)s or a key-account manager can "
                        "decide on appraisal %(name)s.",
                        person=appraisal.user_id.name,
                        name=appraisal.name,
                    )
                )

    def _check_state(self, states, verb):
        for appraisal in self:
            if appraisal.state not in states:
                raise UserError(
                    self.env._(
                        "Appraisal %(name)s cannot be %(verb)s in its current status.",
                        name=appraisal.name,
                        verb=verb,
                    )
                )

    def action_submit(self):
        """The appraised person (or a key-account manager): ask for a decision."""
        self.check_access("read")
        self._check_state(EDITABLE_STATES, self.env._("submitted"))
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        for appraisal in self:
            if appraisal.user_id != self.env.user and not is_manager:
                raise AccessError(
                    self.env._(
                        "Only %(person)s or a key-account manager can submit appraisal "
                        "%(name)s.",
                        person=appraisal.user_id.name,
                        name=appraisal.name,
                    )
                )
        # sudo: the submitter was checked just above
        internal(self.sudo()).write(
            {
                "state": "submitted",
                "submitted_by_id": self.env.uid,
                "submitted_date": fields.Datetime.now(),
                "reject_reason": False,
            }
        )
        # sudo: the submitter was checked above; chatter and to-do only
        appraisals = self.sudo()
        Review = self.env["key.account.review"]
        for company, of_company in appraisals.grouped("company_id").items():
            # the person's team leader, else a key-account manager of the
            # company (as for reviews): someone is always told
            approvers = Review._default_approvers(set(of_company.user_id), company)
            for appraisal in of_company:
                approver = approvers.get(appraisal.user_id)
                if approver and approver != appraisal.user_id:
                    appraisal.activity_schedule(
                        "mail.mail_activity_data_todo",
                        user_id=approver.id,
                        summary=self.env._(
                            "Approve the appraisal of %(person)s",
                            person=appraisal.user_id.name,
                        ),
                    )
        return True

    def action_approve(self):
        """Team leader or key-account manager: the appraisal is frozen."""
        self.check_access("read")
        self._check_state(("submitted",), self.env._("approved"))
        self._check_decider()
        # sudo: the decider was checked just above
        internal(self.sudo()).write(
            {
                "state": "approved",
                "approved_by_id": self.env.uid,
                "approved_date": fields.Datetime.now(),
            }
        )
        # sudo: the decider was checked above; activities only
        self.sudo().activity_feedback(
            ["mail.mail_activity_data_todo"],
            feedback=self.env._("Approved by %(user)s", user=self.env.user.name),
        )
        return True

    def action_reject(self, reason=None):
        """Team leader or key-account manager: send it back with a reason
        (``action_reject(reason="...")``)."""
        self.check_access("read")
        reason = self.env["key.account.review"]._reject_reason_text(reason)
        if not reason:
            raise UserError(
                self.env._(
                    'An appraisal is rejected with a reason: call action_reject(reason="...").'
                )
            )
        self._check_state(("submitted",), self.env._("rejected"))
        self._check_decider()
        # sudo: the decider was checked just above
        internal(self.sudo()).write(
            {
                "state": "rejected",
                "rejected_by_id": self.env.uid,
                "reject_reason": reason,
            }
        )
        # sudo: the decider was checked above; a chatter note only
        for appraisal in self.sudo():
            appraisal._message_log(
                body=Markup("<p><strong>%s</strong></p><p>%s</p>")
                % (self.env._("Appraisal rejected"), reason)
            )
        return True

    def action_open_reject_wizard(self):
        self.ensure_one()
        self._check_state(("submitted",), self.env._("rejected"))
        self._check_decider()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Appraisal"),
            "res_model": "key.account.appraisal.reject.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_appraisal_id": self.id},
        }

    # ------------------------------------------------------------------
    # Development: coaching and training
    # ------------------------------------------------------------------
    def action_plan_coaching(self):
        """The person's team leader or a key-account manager plans a coaching
        conversation or a training for the appraised person: the Schedule
        Activity dialog, with the shipped "Coaching / training" type, the
        person and the weakest KPIs filled in. The activity shows in the
        appraisal's chatter."""
        self.ensure_one()
        self.check_access("read")
        if not self._is_decider():
            raise AccessError(
                self.env._(
                    "Only the team leader of %(person)s or a key-account manager plans "
                    "their coaching.",
                    person=self.user_id.name,
                )
            )
        activity_type = self.env.ref(COACHING_ACTIVITY)
        kpis = self.development_ids.kpi_id.mapped("name")
        note = Markup("")
        if self.development_ids:
            note = Markup("<p>%s</p><ul>%s</ul>") % (
                self.env._("Weakest KPIs of %(name)s:", name=self.name),
                Markup("").join(
                    Markup("<li>%s: %s (%s)</li>")
                    % (
                        dev.kpi_id.name,
                        kpi_math.format_score(dev.score, 1),
                        dev.accounts_detail or "",
                    )
                    for dev in self.development_ids
                ),
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Plan coaching"),
            "res_model": "mail.activity.schedule",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "active_model": self._name,
                "active_id": self.id,
                "active_ids": [self.id],
                "default_activity_type_id": activity_type.id,
                "default_activity_user_id": self.user_id.id,
                "default_summary": self.env._(
                    "Coaching: %(kpis)s",
                    kpis=", ".join(kpis) if kpis else self.period_label,
                ),
                "default_note": note,
            },
        }

    @api.model
    def _action_for_period(self, date_from, date_to, ids=None):
        """The team's appraisals of a period (after Compute Appraisals)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_appraisal_team"
        )
        action["domain"] = [
            ("date_from", "=", fields.Date.to_string(date_from)),
            ("date_to", "=", fields.Date.to_string(date_to)),
        ]
        return action

    def action_recompute(self):
        """Refresh these draft appraisals from the current reviews and values."""
        for (company, date_from, date_to), appraisals in self.grouped(
            lambda a: (a.company_id, a.date_from, a.date_to)
        ).items():
            self.with_company(company).compute_appraisals(
                date_from, date_to, appraisals.user_id.ids
            )
        return True
