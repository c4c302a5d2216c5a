import collections

import psycopg2
from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..sql import pg_array as _pg_array
from ..sql import reviews as sql_reviews
from ..tools import kpi_math
from .guard import internal, refuse_derived
from .key_account_mail_sender import log_notes, log_tracking, subscribe
from .res_partner import _field_changes

EDITABLE_STATES = ("draft", "rejected")
# a KPI value as review lines read it (id and figure)
PeriodValue = collections.namedtuple("PeriodValue", "id value")
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
    _order = "date_from desc, partner_id, id"
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
        for kam in kams:
            leader = kam.sudo().sale_team_id.user_id
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

    # ------------------------------------------------------------------
    # Generation
    # ------------------------------------------------------------------
    @api.model
    def _create_for_partners(self, cycle, partners):
        """Create the reviews of ``partners`` in ``cycle``, lines pre-filled
        from the period's KPI values and the account's template.

        In a fixed number of statements, whatever the number of accounts:
        one INSERT of the reviews, one of their lines (their stored computed
        fields worked out here, as their computes do), two of the followers
        (the user who generates, and each review's KAM) and one of the
        creation notes. The ORM's create would insert 100 rows per
        statement, and subscribe each review's KAM and e-mail them "you have
        been assigned" one review at a time (about 13 queries and one e-mail
        per account). A KAM is not e-mailed for each account of a cycle: the
        reviews are in their *My Reviews* and they follow them.
        """
        if not partners:
            return self.browse()
        company = cycle.company_id
        accounts = self._account_rows(partners.ids)
        templates = self._templates_of(accounts, company)
        values = self._period_values(
            partners.ids, cycle.date_from, cycle.date_to, company
        )
        previous = self._previous_reviews(partners, cycle.date_from, cycle.company_id)
        by_partner = {}  # grouped once: not a scan of every value per partner
        for (pid, kpi_id), value in values.items():
            by_partner.setdefault(pid, {})[kpi_id] = value
        grade_bands = self.env["key.account.grade"]._get_bands(company)
        users = (
            self.env["res.users"]
            .sudo()
            .browse({row["kam_id"] for row in accounts.values() if row["kam_id"]})
        )
        users.fetch(["active", "partner_id"])
        kams = {
            pid: self.env["res.users"].browse(row["kam_id"]).sudo()
            for pid, row in accounts.items()
        }
        approvers = self._default_approvers(set(kams.values()), company)
        review_rows, lines_of = [], {}
        for partner in partners:
            template = templates.get(partner.id)
            lines = [
                self._line_row(vals)
                for vals in self._line_values(template, by_partner.get(partner.id, {}))
            ]
            score = kpi_math.weighted_score(
                (line["score"], line["weight"]) for line in lines if line["has_value"]
            )
            kam = kams[partner.id]
            review_rows.append(
                (
                    partner.id,
                    kam.id or None,
                    approvers[kam].id or None,
                    template.id if template else None,
                    template.version if template else 0,
                    previous.get(partner.id) or None,
                    "%s – %s" % (cycle.name or "", accounts[partner.id]["name"] or ""),
                    score or 0.0,
                    (kpi_math.grade_for(score, grade_bands) or None)
                    if score is not None
                    else None,
                    sum(1 for line in lines if line["status"] == "alert"),
                )
            )
            lines_of[partner.id] = lines
        self.flush_model()
        self.env["key.account.review.line"].flush_model()
        created = self.env.execute_query(
            sql_reviews.insert_reviews(
                cycle, company.id, (self.env.uid, fields.Datetime.now()), review_rows
            )
        )
        review_of = {pid: rid for rid, pid in created}
        self._insert_lines(
            [
                dict(
                    line,
                    review_id=review_of[pid],
                    partner_id=pid,
                    company_id=company.id,
                    date_from=cycle.date_from,
                    date_to=cycle.date_to,
                )
                for pid, lines in lines_of.items()
                for line in lines
            ]
        )
        self.invalidate_model()
        self.env["key.account.review.line"].invalidate_model()
        cycle.invalidate_recordset(["review_ids"])
        reviews = self.browse(sorted(review_of.values()))
        # what mail.thread's create does, in bulk: the user who generates
        # follows the reviews (OdooBot, who runs the scheduled action, is
        # inactive and does not), each review's KAM follows it, and each
        # review's chatter starts with its creation note
        me = self.env.user
        creator = [me.partner_id.id] if me.active else []
        subscribe(
            self.env,
            self._name,
            {
                review_of[pid]: creator
                + ([kams[pid].partner_id.id] if kams[pid].active else [])
                for pid in review_of
            },
        )
        # mail's own "<document> created", in the language of who generates
        note = reviews[:1]._creation_message()
        log_notes(
            self.env,
            self._name,
            {rid: note for rid in reviews.ids},
            message_type="notification",
        )
        return reviews

    @api.model
    def _line_row(self, vals):
        """A line's stored values from ``_line_values``, with the score and
        status its compute gives."""
        score = (
            kpi_math.kpi_score(
                vals["value"], vals["target"], vals["threshold"], vals["direction"]
            )
            if vals["has_value"]
            else None
        )
        return dict(
            vals,
            kpi_value_id=vals["kpi_value_id"] or None,
            score=score or 0.0,
            status=kpi_math.score_status(score) or None,
        )

    @api.model
    def _insert_lines(self, rows):
        """Insert review lines, one statement: ``rows`` are dicts of the
        line's stored fields (those of ``_line_row`` and the review's
        partner, company and dates)."""
        keys = (
            "review_id",
            "partner_id",
            "company_id",
            "date_from",
            "date_to",
            "kpi_id",
        ) + LINE_FIELDS
        columns = {
            key: _pg_array(
                str(row[key]) if key.startswith("date_") else row[key] for row in rows
            )
            for key in keys
        }
        self.env.execute_query(
            sql_reviews.insert_review_lines(
                (self.env.uid, fields.Datetime.now()), columns
            )
        )

    @api.model
    def _account_rows(self, partner_ids):
        """{partner id: {name, kam_id, template_id, tier_id, segment_id}} of
        accounts, one query (the KAM: the key account manager, else the
        salesperson)."""
        self.env["res.partner"].flush_model(
            [
                "name",
                "key_account_manager_id",
                "user_id",
                "key_account_template_id",
                "key_account_tier_id",
                "key_account_segment_id",
            ]
        )
        rows = self.env.execute_query_dict(
            SQL(
                """
            SELECT id, name, COALESCE(key_account_manager_id, user_id) AS kam_id,
                   key_account_template_id AS template_id,
                   key_account_tier_id AS tier_id, key_account_segment_id AS segment_id
              FROM res_partner WHERE id = ANY(%s::int[])
        """,
                _pg_array(partner_ids),
            )
        )
        return {row["id"]: row for row in rows}

    @api.model
    def _templates_of(self, accounts, company):
        """{partner id: template (maybe empty)} of ``_account_rows``."""
        Template = self.env["key.account.kpi.template"].sudo()
        template_ids = Template._resolve_for_rows(
            {
                pid: (row["template_id"], row["tier_id"], row["segment_id"])
                for pid, row in accounts.items()
            },
            company,
        )
        return {
            pid: Template.browse(template_id).with_env(self.env)
            for pid, template_id in template_ids.items()
        }

    @api.model
    def _period_values(self, partner_ids, date_from, date_to, company):
        """{(partner id, kpi id): PeriodValue(id, value)} of a period computed
        by ``company``, one query."""
        self.env["key.account.kpi.value"].flush_model(
            ["partner_id", "kpi_id", "date_from", "date_to", "value"]
        )
        rows = self.env.execute_query(
            SQL(
                """
            SELECT partner_id, kpi_id, id, value FROM key_account_kpi_value
             WHERE partner_id = ANY(%s::int[]) AND company_id = %s
               AND date_from = %s AND date_to = %s
        """,
                _pg_array(partner_ids),
                company.id,
                date_from,
                date_to,
            )
        )
        return {
            (pid, kpi_id): PeriodValue(vid, value) for pid, kpi_id, vid, value in rows
        }

    @api.model
    def _previous_reviews(self, partners, before, company):
        """{partner id: id of the company's latest review of the account that
        ended before ``before``}, one query (another company's review of a
        shared partner is not this company's previous review)."""
        self.flush_model(["partner_id", "date_to", "company_id"])
        rows = self.env.execute_query(
            SQL(
                """
            SELECT DISTINCT ON (partner_id) partner_id, id FROM key_account_review
             WHERE partner_id = ANY(%s::int[]) AND date_to < %s AND company_id = %s
             ORDER BY partner_id, date_to DESC, id DESC
        """,
                _pg_array(partners.ids),
                before,
                company.id,
            )
        )
        return dict(rows)

    @api.model
    def _line_values(self, template, values_by_kpi):
        """Values of the review lines for a template and {kpi id: kpi value}."""
        result = []
        if not template:
            return result
        for line in template.sudo().line_ids.filtered("kpi_id.active"):
            kpi = line.kpi_id
            value = values_by_kpi.get(kpi.id)
            result.append(
                {
                    "sequence": line.sequence,
                    "kpi_id": kpi.id,
                    "is_manual": kpi.computation_mode == "manual",
                    "direction": kpi.direction,
                    "target": line.target,
                    "threshold": line.threshold,
                    "weight": line.weight,
                    "value": value.value if value else 0.0,
                    "has_value": bool(value),
                    "kpi_value_id": value.id if value else False,
                }
            )
        return result

    def _refresh_lines(self):
        """Re-read the computed values (and the template's current bands) into
        draft or rejected reviews; manual values and comments are kept.

        A fixed number of statements whatever the number of reviews (one
        UPDATE of the kept lines, one INSERT of the new ones, one DELETE of
        those the template dropped, one UPDATE of the reviews), the stored
        scores worked out here as their computes do."""
        Line = self.env["key.account.review.line"]
        # what is pending (a manual value just typed) is read as stored
        self.env.flush_all()
        # the reviews and their lines in one query each, not through the
        # ORM's prefetch (1,000 records per query)
        heads_of = {
            row["id"]: row
            for row in self.env.execute_query_dict(
                SQL(
                    """
                SELECT id, cycle_id, company_id, partner_id, date_from, date_to,
                       score, grade
                  FROM key_account_review
                 WHERE id = ANY(%s::int[]) AND state IN %s
            """,
                    _pg_array(self.ids),
                    EDITABLE_STATES,
                )
            )
        }
        if not heads_of:
            return True
        lines_of = {}
        for row in self.env.execute_query_dict(
            SQL(
                """
            SELECT id, review_id, kpi_id, is_manual, direction, value, has_value,
                   kpi_value_id
              FROM key_account_review_line WHERE review_id = ANY(%s::int[])
        """,
                _pg_array(list(heads_of)),
            )
        ):
            lines_of.setdefault(row["review_id"], {})[row["kpi_id"]] = row
        groups = {}
        for head in heads_of.values():
            key = (head["company_id"], head["date_from"], head["date_to"])
            groups.setdefault(key, []).append(head)
        kept, new, dropped, heads, tracked = [], [], [], [], {}
        for (company_id, date_from, date_to), group in groups.items():
            company = self.env["res.company"].browse(company_id)
            partner_ids = [head["partner_id"] for head in group]
            templates = self._templates_of(self._account_rows(partner_ids), company)
            values = self._period_values(partner_ids, date_from, date_to, company)
            by_partner = {}
            for (pid, kpi_id), value in values.items():
                by_partner.setdefault(pid, {})[kpi_id] = value
            grade_bands = self.env["key.account.grade"]._get_bands(company)
            for head in group:
                pid = head["partner_id"]
                template = templates.get(pid)
                existing = dict(lines_of.get(head["id"], {}))
                final = []
                for vals in self._line_values(template, by_partner.get(pid, {})):
                    line = existing.pop(vals["kpi_id"], None)
                    if line is not None and line["is_manual"]:
                        # the KAM's value stays; the band follows the template
                        vals = dict(
                            vals,
                            is_manual=True,
                            direction=line["direction"],
                            value=line["value"] or 0.0,
                            has_value=bool(line["has_value"]),
                            kpi_value_id=line["kpi_value_id"],
                        )
                    row = self._line_row(vals)
                    if line is None:
                        new.append(
                            dict(
                                row,
                                review_id=head["id"],
                                partner_id=pid,
                                company_id=company_id,
                                date_from=date_from,
                                date_to=date_to,
                            )
                        )
                    else:
                        kept.append(dict(row, id=line["id"]))
                    final.append(row)
                dropped.extend(line["id"] for line in existing.values())
                score = kpi_math.weighted_score(
                    (row["score"], row["weight"]) for row in final if row["has_value"]
                )
                grade = (
                    (kpi_math.grade_for(score, grade_bands) or None)
                    if score is not None
                    else None
                )
                tracked[head["id"]] = [
                    (name, before, after)
                    for name, before, after in (
                        ("score", head["score"] or 0.0, score or 0.0),
                        ("grade", head["grade"] or None, grade),
                    )
                    if before != after
                ]
                heads.append(
                    (
                        head["id"],
                        template.id if template else None,
                        template.version if template else 0,
                        score or 0.0,
                        grade,
                        sum(1 for row in final if row["status"] == "alert"),
                    )
                )
        now = fields.Datetime.now()
        keys = ("id",) + LINE_FIELDS
        self.env.execute_query(
            SQL(
                """
            UPDATE key_account_review_line l
               SET sequence = x.sequence, is_manual = x.is_manual, direction = x.direction,
                   value = x.value, has_value = x.has_value, target = x.target,
                   threshold = x.threshold, weight = x.weight, score = x.score,
                   status = x.status, kpi_value_id = x.kpi_value_id,
                   write_uid = %(uid)s, write_date = %(now)s
              FROM unnest(%(id)s::int[], %(sequence)s::int[], %(is_manual)s::bool[],
                          %(direction)s::varchar[], %(value)s::float8[], %(has_value)s::bool[],
                          %(target)s::float8[], %(threshold)s::float8[], %(weight)s::float8[],
                          %(score)s::float8[], %(status)s::varchar[], %(kpi_value_id)s::int[])
                   AS x(id, sequence, is_manual, direction, value, has_value, target,
                        threshold, weight, score, status, kpi_value_id)
             WHERE l.id = x.id
        """,
                uid=self.env.uid,
                now=now,
                **{key: _pg_array(row[key] for row in kept) for key in keys},
            )
        )
        self._insert_lines(new)
        self.env.execute_query(
            SQL(
                "DELETE FROM key_account_review_line WHERE id = ANY(%s::int[])",
                _pg_array(dropped),
            )
        )
        columns = list(zip(*heads))
        self.env.execute_query(
            SQL(
                """
            UPDATE key_account_review r
               SET template_id = x.t, template_version = x.tv, score = x.s, grade = x.g,
                   alert_count = x.al, write_uid = %(uid)s, write_date = %(now)s
              FROM unnest(%(id)s::int[], %(t)s::int[], %(tv)s::int[], %(s)s::float8[],
                          %(g)s::varchar[], %(al)s::int[]) AS x(id, t, tv, s, g, al)
             WHERE r.id = x.id
        """,
                uid=self.env.uid,
                now=now,
                id=_pg_array(columns[0]),
                t=_pg_array(columns[1]),
                tv=_pg_array(columns[2]),
                s=_pg_array(columns[3]),
                g=list(columns[4]),
                al=_pg_array(columns[5]),
            )
        )
        self.invalidate_model()
        Line.invalidate_model()
        # the chatter tracks score and grade (tracking=True) as a write would
        if not self.env.context.get("tracking_disable") and not self.env.context.get(
            "mail_notrack"
        ):
            log_tracking(self.env, self._name, tracked)
        return True

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

    # ------------------------------------------------------------------
    # Report and customer e-mail
    # ------------------------------------------------------------------
    def action_print_scorecard(self):
        return self.env.ref(
            "key_account_performance.action_report_key_account_review"
        ).report_action(self)

    def action_send_to_customer(self):
        """Open the mail composer with the scorecard attached (向客户汇报进展情况)."""
        self.ensure_one()
        template = self.env.ref(
            "key_account_performance.mail_template_key_account_review",
            raise_if_not_found=False,
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send Scorecard"),
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_template_id": template.id if template else False,
                "default_composition_mode": "comment",
                "default_email_layout_xmlid": "mail.mail_notification_light",
                "force_email": True,
            },
        }

    def action_view_actions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_improvement_action"
        )
        action["domain"] = [("review_id", "=", self.id)]
        action["context"] = {
            "default_review_id": self.id,
            "default_partner_id": self.partner_id.id,
        }
        return action

    def _scorecard_actions(self):
        """(open actions of the account, actions of the previous review) for
        the scorecard: those its reader may read, with the reader's rights (a
        scorecard never lists an action its reader could not open)."""
        self.ensure_one()
        self.check_access("read")
        Action = self.env["key.account.improvement.action"]
        open_actions = Action.search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("company_id", "=", self.company_id.id),
                ("state", "in", ("todo", "in_progress")),
            ]
        )
        previous = (
            Action.search(
                [
                    ("review_id", "=", self.previous_review_id.id),
                    ("state", "!=", "cancelled"),
                ]
            )
            if self.previous_review_id
            else Action
        )
        return open_actions, previous

    @api.model
    def _format_number(self, value):
        """Scorecard figures: thousands separators, decimals only for small
        numbers, rounded half up (the rule of every surface, kpi_math)."""
        return kpi_math.format_number(value)

    @api.model
    def _format_score(self, score):
        """A score of the scorecard: 72.5 reads 73, as on the screens."""
        return kpi_math.format_score(score)

    def _get_report_base_filename(self):
        self.ensure_one()
        return self.env._("Scorecard %(name)s", name=self.name)

    # ------------------------------------------------------------------
    # Satisfaction survey (customer value)
    # ------------------------------------------------------------------
    def action_send_survey(self):
        """Invite the account's contacts to the shipped NPS survey."""
        self.ensure_one()
        return self.partner_id.action_key_account_send_survey("nps")
