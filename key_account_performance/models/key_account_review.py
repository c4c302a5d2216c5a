from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.sql import create_index

from ..tools import kpi_math
from .guard import refuse_derived
from .res_partner import _field_changes

EDITABLE_STATES = ("draft", "rejected")
# a review line's stored figures, as bulk generation and refresh write them
LINE_FIELDS = (
    "sequence",
    "is_manual",
    "direction",
    "value",
    "has_value",
    "target",
    "threshold",
    "weight",
    "score",
    "status",
    "kpi_value_id",
)
# fields the approval workflow writes on a submitted review
WORKFLOW_FIELDS = {
    "state",
    "approver_id",
    "reject_reason",
    "submitted_date",
    "submitted_by_id",
    "approved_date",
    "approved_by_id",
    "rejected_by_id",
    "decider_ids",
}
# set only by action_submit / action_approve / action_reject (four eyes): a
# direct write or create of one of them is refused, for every user
DECISION_FIELDS = frozenset(
    {
        "state",
        "submitted_date",
        "submitted_by_id",
        "approved_date",
        "approved_by_id",
        "rejected_by_id",
        "decider_ids",
        "reject_reason",
    }
)
# worked out by the addon (the score's computes, cycle generation): never
# written by hand, whoever the user
DERIVED_FIELDS = frozenset(
    {
        "name",
        "score",
        "grade",
        "alert_count",
        "previous_review_id",
        "template_id",
        "template_version",
        "partner_name",
    }
)
# what a review is about: set when it is created, never moved afterwards
IDENTITY_FIELDS = ("partner_id", "cycle_id", "company_id")
# context value the workflow methods write with: an object no RPC client can
# send (a context from JSON-RPC or XML-RPC holds plain data only)
_WORKFLOW = object()
# written by mail.thread / mail.activity.mixin on any record, even a read-only one
MAIL_FIELD_PREFIXES = ("message_", "activity_", "website_message_")
MANAGER_GROUP = "key_account_performance.group_key_account_manager"
ACTIVITY_APPROVAL = "key_account_performance.mail_activity_type_review_approval"
ACTIVITY_REWORK = "key_account_performance.mail_activity_type_review_rework"


class KeyAccountReview(models.Model):
    """One key account's review in a cycle: KPI lines, comments, approval."""

    _name = "key.account.review"
    _description = "Key Account Review"
    _inherit = ["key.account.mail.sender", "mail.activity.mixin"]
    # by period, then account name: partner_name is the account's name stored
    # on the review, so that a page of a long queue is read in index order
    # (key_account_review_period_partner_name_index) instead of joining and
    # sorting every review with its partner
    _order = "date_from desc, partner_name, id"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Identity
    # ------------------------------------------------------------------
    name = fields.Char(compute="_compute_name", store=True)
    cycle_id = fields.Many2one(
        "key.account.review.cycle",
        string="Review Cycle",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(related="cycle_id.company_id", store=True, index=True)
    period_type = fields.Selection(related="cycle_id.period_type", tracking=False)
    date_from = fields.Date(related="cycle_id.date_from", store=True, tracking=False)
    date_to = fields.Date(related="cycle_id.date_to", store=True, tracking=False)
    partner_id = fields.Many2one(
        "res.partner",
        string="Account",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
        domain=[("is_key_account", "=", True)],
    )
    partner_name = fields.Char(
        string="Account Name",
        related="partner_id.complete_name",
        store=True,
        help="The account's name, kept on the review to sort the review lists by it.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Key Account Manager",
        index=True,
        tracking=True,
        default=lambda self: self.env.user,
    )
    approver_id = fields.Many2one(
        "res.users",
        index="btree_not_null",
        tracking=True,
        compute="_compute_approver_id",
        store=True,
        readonly=False,
        precompute=True,
        help="The team leader of the KAM's sales team, else a key-account manager.",
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
        tracking=True,
        copy=False,
        index=True,
        group_expand=True,
    )  # the review kanban shows every state, in workflow order
    color = fields.Integer(compute="_compute_color")

    # ------------------------------------------------------------------
    # Template the review was scored with
    # ------------------------------------------------------------------
    template_id = fields.Many2one(
        "key.account.kpi.template",
        string="KPI Template",
        ondelete="restrict",
        readonly=True,
    )
    template_version = fields.Integer(readonly=True)

    # ------------------------------------------------------------------
    # Content and score
    # ------------------------------------------------------------------
    line_ids = fields.One2many(
        "key.account.review.line", "review_id", string="KPIs", copy=True
    )
    score = fields.Float(
        compute="_compute_score", store=True, aggregator="avg", tracking=True
    )
    grade = fields.Char(compute="_compute_score", store=True, tracking=True)
    previous_review_id = fields.Many2one(
        "key.account.review",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    trend = fields.Float(
        compute="_compute_trend",
        help="Score minus the previous review's score of the account.",
    )
    has_trend = fields.Boolean(
        compute="_compute_trend",
        help="Unset when there is no previous scored review: no trend, which is not a trend of 0.",
    )
    alert_count = fields.Integer(
        string="KPIs beyond threshold", compute="_compute_score", store=True
    )
    comment = fields.Html(
        string="KAM Comments", help="Context, achievements and problems of the period."
    )
    reject_reason = fields.Text(tracking=True, copy=False, readonly=True)
    submitted_date = fields.Datetime(readonly=True, copy=False)
    submitted_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    approved_date = fields.Datetime(readonly=True, copy=False)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    rejected_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Who rejected the review last.",
    )
    decider_ids = fields.Many2many(
        "res.users",
        "key_account_review_decider_rel",
        "review_id",
        "user_id",
        string="Decided By",
        readonly=True,
        copy=False,
        help="Everyone who approved or rejected the review: they keep read access to it.",
    )

    # ------------------------------------------------------------------
    # Improvement actions
    # ------------------------------------------------------------------
    action_ids = fields.One2many(
        "key.account.improvement.action", "review_id", string="Improvement Actions"
    )
    action_count = fields.Integer(compute="_compute_action_count")
    previous_action_ids = fields.Many2many(
        "key.account.improvement.action",
        string="Actions of the Previous Review",
        compute="_compute_previous_action_ids",
        help="Actions decided in the previous review, with their measured effect.",
    )
    open_action_ids = fields.Many2many(
        "key.account.improvement.action",
        string="Open Actions of the Account",
        compute="_compute_open_action_ids",
    )
    breakdown_line_ids = fields.Many2many(
        "key.account.review.line",
        string="Why the Score Moved",
        compute="_compute_breakdown_line_ids",
        help="The KPIs of the review, biggest movers against the previous review first.",
    )

    # ------------------------------------------------------------------
    # UI helpers
    # ------------------------------------------------------------------
    is_editable = fields.Boolean(compute="_compute_ui_flags")
    can_approve = fields.Boolean(compute="_compute_ui_flags")
    can_assign = fields.Boolean(
        compute="_compute_ui_flags",
        help="Key-account managers choose a review's KAM and approver; a KAM does not.",
    )

    _sql_constraints = [
        (
            "cycle_partner_unique",
            "UNIQUE(cycle_id, partner_id)",
            "An account has one review per cycle.",
        ),
    ]

    def init(self):
        result = super().init()
        # the default order's index: a page of the approval queue reads the
        # first rows of the queue, not every review sorted
        create_index(
            self.env.cr,
            "key_account_review_period_partner_name_index",
            self._table,
            ["date_from DESC", "partner_name", "id"],
        )
        return result

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("cycle_id.name", "partner_id.name")
    def _compute_name(self):
        for review in self:
            review.name = "%s – %s" % (
                review.cycle_id.name or "",
                review.partner_id.name or "",
            )

    @api.depends("user_id")
    def _compute_approver_id(self):
        for company, reviews in self.grouped(
            lambda r: r.company_id or self.env.company
        ).items():
            approvers = self._default_approvers(
                {review.user_id for review in reviews}, company
            )
            for review in reviews:
                review.approver_id = approvers[review.user_id]

    @api.model
    def _default_approvers(self, kams, company):
        """{KAM (res.users, maybe empty): default approver}: the team leader
        of the KAM's sales team, else the first key-account manager of the
        company who is not the KAM."""
        managers = None
        result = {}
        users = self.env["res.users"].browse({kam.id for kam in kams if kam})
        teams = users._key_account_main_teams()
        for kam in kams:
            leader = teams[kam.id].user_id if kam else kam
            if leader and leader != kam:
                result[kam] = leader
                continue
            if managers is None:
                managers = (
                    self.env.ref(MANAGER_GROUP)
                    .sudo()
                    .users.filtered(lambda u: u.active and not u.share)
                    .sorted("id")
                )
            result[kam] = managers.filtered(
                lambda u, kam=kam: u != kam and company in u.company_ids
            )[:1]
        return result

    @api.depends(
        "line_ids.score",
        "line_ids.weight",
        "line_ids.has_value",
        "line_ids.status",
        "company_id",
    )
    def _compute_score(self):
        bands = {}
        for review in self:
            company = review.company_id or self.env.company
            if company not in bands:
                bands[company] = self.env["key.account.grade"]._get_bands(company)
            score = kpi_math.weighted_score(
                [
                    (line.score, line.weight)
                    for line in review.line_ids
                    if line.has_value
                ]
            )
            review.score = score or 0.0
            review.grade = (
                kpi_math.grade_for(score, bands[company])
                if score is not None
                else False
            )
            review.alert_count = len(
                review.line_ids.filtered(lambda line: line.status == "alert")
            )

    @api.depends(
        "score", "grade", "previous_review_id.score", "previous_review_id.grade"
    )
    def _compute_trend(self):
        for review in self:
            # the previous review may be hidden from the reader (the account changed hands)
            previous = review.previous_review_id.sudo()
            review.has_trend = bool(previous and previous.grade and review.grade)
            review.trend = review.score - previous.score if review.has_trend else 0.0

    @api.depends("line_ids.points", "line_ids.delta_points")
    def _compute_breakdown_line_ids(self):
        for review in self:
            review.breakdown_line_ids = review.line_ids.sorted(
                lambda line: (-abs(line.delta_points), -line.points, line.sequence)
            )

    def _compute_color(self):
        colors = {"draft": 0, "submitted": 3, "approved": 10, "rejected": 1}
        for review in self:
            review.color = colors.get(review.state, 0)

    def _compute_action_count(self):
        counts = dict(
            self.env["key.account.improvement.action"]._read_group(
                [("review_id", "in", self.ids)], ["review_id"], ["__count"]
            )
        )
        for review in self:
            review.action_count = counts.get(review, 0)

    def _compute_previous_action_ids(self):
        actions = self.env["key.account.improvement.action"].search(
            [("review_id", "in", self.previous_review_id.ids)]
        )
        for review in self:
            review.previous_action_ids = actions.filtered(
                lambda a: a.review_id == review.previous_review_id
            )

    def _compute_open_action_ids(self):
        actions = self.env["key.account.improvement.action"].search(
            [
                ("partner_id", "in", self.partner_id.ids),
                ("state", "in", ("todo", "in_progress")),
            ]
        )
        for review in self:
            review.open_action_ids = actions.filtered(
                lambda a: a.partner_id == review.partner_id
            )

    @api.depends_context("uid")
    @api.depends("state", "user_id", "approver_id")
    def _compute_ui_flags(self):
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        for review in self:
            review.is_editable = review.state in EDITABLE_STATES
            review.can_assign = is_manager and review.state != "approved"
            review.can_approve = (
                review.state == "submitted"
                and self.env.user not in (review.user_id | review.submitted_by_id)
                and (is_manager or review.approver_id == self.env.user)
            )

    @api.constrains("user_id", "approver_id")
    def _check_approver(self):
        for review in self:
            if review.approver_id and review.approver_id == review.user_id:
                raise ValidationError(
                    self.env._(
                        "Review %(name)s: the approver cannot be the key account manager "
                        "(nobody approves a review of their own).",
                        name=review.name,
                    )
                )

    # ------------------------------------------------------------------
    # ORM: approved reviews are read-only, submitted ones frozen
    # ------------------------------------------------------------------
    def _check_decision_fields(self, vals_list):
        """Four eyes: the state and who/when of a decision change only through
        the workflow methods, for every user (administrators included)."""
        if self.env.context.get("key_account_review_workflow") is _WORKFLOW:
            return
        for vals in vals_list:
            protected = DECISION_FIELDS.intersection(vals)
            if not self:
                # a new review starts as an undecided draft
                protected = {
                    name
                    for name in protected
                    if vals[name] and not (name == "state" and vals[name] == "draft")
                }
            if protected:
                raise UserError(
                    self.env._(
                        "The status of a review and who submitted, approved or rejected it are set "
                        "by its buttons only (Submit for Approval, Approve, Reject): %(fields)s cannot "
                        "be written directly.",
                        fields=", ".join(sorted(protected)),
                    )
                )

    def _workflow_write(self, vals):
        """Write decision fields: the only way to change a review's state."""
        return self.with_context(key_account_review_workflow=_WORKFLOW).write(vals)

    def _check_assignment(self, vals_list):
        """Four eyes: a review's KAM and approver (the KAM's team leader by
        default) are chosen by key-account managers, never by the KAM."""
        if (
            self.env.context.get("key_account_review_workflow") is _WORKFLOW
            or self.env.su
            or self.env.user.has_group(MANAGER_GROUP)
        ):
            return
        for vals in vals_list:
            for name in ("approver_id", "user_id"):
                if name not in vals:
                    continue
                if not self and (name == "user_id" or not vals[name]):
                    continue  # a new review: its KAM; the approver is computed
                if self and not any(
                    _field_changes(review, name, vals[name]) for review in self
                ):
                    continue  # a form saving the same user
                raise UserError(
                    self.env._(
                        "Only key-account managers choose the key account manager and the "
                        "approver of a review (the approver is the team leader of the KAM's "
                        "sales team by default)."
                    )
                )

    def _check_identity(self, vals):
        """A review stays on the account, cycle and company it was created for
        (moving it would carry its lines, manual values and scorecard to
        another account)."""
        moved = [
            name
            for name in IDENTITY_FIELDS
            if name in vals
            and any(_field_changes(review, name, vals[name]) for review in self)
        ]
        if moved:
            raise UserError(
                self.env._(
                    "The account, review cycle and company of a review are set when it is "
                    "created and cannot be changed (%(fields)s).",
                    fields=", ".join(
                        sorted(self._fields[name].string for name in moved)
                    ),
                )
            )

    def _check_manageable(self):
        """Reviews are created by cycle generation and by whoever manages the
        account: a KAM for the accounts they manage, a key-account manager for
        their team's (and unassigned) ones, an administrator for all."""
        if self.env.su:
            return
        partners = self.partner_id
        allowed = partners.sudo().filtered_domain(
            self.env["res.partner"]._key_account_managed_domain()
        )
        foreign = partners - allowed
        if foreign:
            raise AccessError(
                self.env._(
                    "You can only create reviews of the accounts you manage (not %(names)s).",
                    names=", ".join(foreign[:5].sudo().mapped("display_name")),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_decision_fields(vals_list)
        self._check_assignment(vals_list)
        refuse_derived(self, vals_list, DERIVED_FIELDS)
        reviews = super().create(vals_list)
        reviews._check_manageable()
        return reviews

    def write(self, vals):
        self._check_decision_fields([vals])
        self._check_assignment([vals])
        refuse_derived(self, [vals], DERIVED_FIELDS)
        self._check_identity(vals)
        content = {name for name in vals if not name.startswith(MAIL_FIELD_PREFIXES)}
        if content:
            approved = self.filtered(lambda r: r.state == "approved")
            if approved:
                raise UserError(
                    self.env._(
                        "Review %(name)s is approved and can no longer be changed.",
                        name=approved[0].name,
                    )
                )
            if content - WORKFLOW_FIELDS:
                submitted = self.filtered(lambda r: r.state == "submitted")
                if submitted:
                    raise UserError(
                        self.env._(
                            "Review %(name)s is submitted for approval: it can no longer be edited. "
                            "The approver can reject it to send it back.",
                            name=submitted[0].name,
                        )
                    )
        result = super().write(vals)
        if "approver_id" in vals:
            # a reassigned approval follows the new approver
            for review in self.filtered(
                lambda r: r.state == "submitted" and r.approver_id
            ):
                review.activity_reschedule(
                    [ACTIVITY_APPROVAL], new_user_id=review.approver_id.id
                )
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_approved(self):
        approved = self.filtered(lambda r: r.state == "approved")
        if approved:
            raise UserError(
                self.env._(
                    "Review %(name)s is approved and cannot be deleted.",
                    name=approved[0].name,
                )
            )
