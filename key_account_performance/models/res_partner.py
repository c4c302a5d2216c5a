import datetime
import json

import numpy as np

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..tools import customer_value, kpi_math

KAM_GROUP = "key_account_performance.group_key_account_user"
KAM_MANAGER_GROUP = "key_account_performance.group_key_account_manager"
KAM_ADMIN_GROUP = "key_account_performance.group_key_account_admin"
# written by the engine only (in SQL, or through _key_account_engine_write):
# a direct write or create is refused, for every user
KEY_ACCOUNT_ENGINE_FIELDS = frozenset(
    {
        # derived from the tier: a key account is an account with a tier
        "is_key_account",
        "key_account_score",
        "key_account_grade",
        "key_account_trend",
        "key_account_score_date",
        "key_account_clv",
        "key_account_clv_predictive",
        "key_account_revenue_12m",
        "key_account_last_order_date",
        "key_account_rfm_score",
        "key_account_rfm_segment",
        "key_account_churn_risk",
        "key_account_buy_probability",
        "key_account_expected_orders",
        "key_account_churn_reason",
        "key_account_value_date",
        "key_account_value_horizon",
        "key_account_score_stale",
    }
)
# who manages an account and how it is measured: key-account managers only
KEY_ACCOUNT_MANAGER_FIELDS = frozenset(
    {
        "key_account_tier_id",
        "key_account_manager_id",
        "key_account_template_id",
        # the account type chooses the template; a lock keeps auto-tiering off
        "key_account_segment_id",
        "key_account_tier_locked",
    }
)


# what the account's score is computed from, besides its KPI values
SCORE_INPUT_FIELDS = frozenset(
    {"key_account_tier_id", "key_account_segment_id", "key_account_template_id"}
)
# what anyone who may read the partner sees of its key-account side (whose
# account it is, how it is classified); every other key_account_* field is
# the account's data, read only by those the one visibility rule lets in
KEY_ACCOUNT_PUBLIC_FIELDS = frozenset(
    {
        "is_key_account",
        "key_account_tier_id",
        "key_account_segment_id",
        "key_account_manager_id",
        "key_account_team_id",
        "key_account_template_id",
        "key_account_tier_locked",
        "key_account_can_classify",
        "key_account_currency_id",
        "key_account_visible",
    }
)


def _field_changes(record, name, value):
    """Whether writing ``value`` (as given to write()) changes ``record[name]``."""
    current = record[name]
    if record._fields[name].type == "many2one":
        return current.id != (value or False)
    return current != value


# context value of the engine's writes: an object no RPC client can send
_ENGINE_WRITE = object()


class ResPartner(models.Model):
    _inherit = "res.partner"

    # ------------------------------------------------------------------
    # Key account identity
    # ------------------------------------------------------------------
    key_account_tier_id = fields.Many2one(
        "key.account.tier",
        tracking=True,
        groups=KAM_GROUP,
        index="btree_not_null",
    )
    is_key_account = fields.Boolean(
        compute="_compute_is_key_account",
        store=True,
        index=True,
    )
    key_account_manager_id = fields.Many2one(
        "res.users", tracking=True, groups=KAM_GROUP, index="btree_not_null"
    )
    key_account_segment_id = fields.Many2one(
        "key.account.segment", string="Account Type", tracking=True, groups=KAM_GROUP
    )
    key_account_template_id = fields.Many2one(
        "key.account.kpi.template",
        groups=KAM_GROUP,
        string="KPI Template",
        help="Leave empty to use the template of the tier and segment.",
    )
    key_account_template_effective_id = fields.Many2one(
        "key.account.kpi.template",
        string="Template Used",
        compute="_compute_key_account_template_effective",
        groups=KAM_GROUP,
        help="The KPI template that scores this account: its own KPI Template when "
        "set, else the template of its tier and account type, else the tier's "
        "default template, else the company's default template.",
    )
    key_account_template_source = fields.Selection(
        [
            ("own", "Own template"),
            ("tier_segment", "Tier × account type"),
            ("tier", "Tier default"),
            ("company", "Company default"),
        ],
        string="Template From",
        compute="_compute_key_account_template_effective",
        groups=KAM_GROUP,
        help="Where the template used comes from.",
    )
    key_account_tier_locked = fields.Boolean(
        string="Lock Tier",
        groups=KAM_GROUP,
        help="Auto-tiering never changes a locked tier.",
    )
    key_account_member_ids = fields.One2many(
        "key.account.member",
        "partner_id",
        string="Account Team",
        groups=KAM_GROUP,
        help="Who is credited on the account in the appraisal, and with which share; the "
        "shares sum to 100 %. Without members, the key account manager is credited fully.",
    )
    key_account_goal = fields.Html(
        string="Goals and Expectations",
        groups=KAM_GROUP,
        help="What the company and the account expect of the relationship.",
    )

    # ------------------------------------------------------------------
    # Scores (latest fully closed period)
    # ------------------------------------------------------------------
    key_account_score = fields.Float(
        readonly=True,
        company_dependent=True,
        copy=False,
        groups=KAM_GROUP,
        aggregator="avg",
        help="Weighted score 0-100 of the latest fully closed period.",
    )
    key_account_grade = fields.Char(
        string="Grade",
        readonly=True,
        company_dependent=True,
        copy=False,
        groups=KAM_GROUP,
    )
    key_account_trend = fields.Float(
        string="Trend",
        readonly=True,
        company_dependent=True,
        copy=False,
        groups=KAM_GROUP,
        help="Score minus the previous period's score.",
    )
    key_account_score_stale = fields.Boolean(
        string="Score Out of Date",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        help="An input of the score changed since it was computed (the account's tier, "
        "account type or KPI template, or a target, threshold, weight or KPI of its "
        "template): recompute to bring score, grade, trend and history up to date.",
    )
    key_account_score_date = fields.Date(
        string="Score Period End",
        readonly=True,
        company_dependent=True,
        copy=False,
        groups=KAM_GROUP,
        help="Last day of the period the score shows.",
    )
    # counts of records only the addon's groups may read: a plain read() of the
    # partner by a sales or portal user must not touch them
    key_account_value_count = fields.Integer(
        compute="_compute_key_account_value_count", groups=KAM_GROUP
    )
    key_account_review_count = fields.Integer(
        compute="_compute_key_account_review_count", groups=KAM_GROUP
    )
    key_account_action_count = fields.Integer(
        compute="_compute_key_account_review_count", groups=KAM_GROUP
    )

    # ------------------------------------------------------------------
    # Cockpit (kanban card, account page, filters)
    # ------------------------------------------------------------------
    key_account_team_id = fields.Many2one(
        "crm.team",
        groups=KAM_GROUP,
        string="Key Account Team",
        related="key_account_manager_id.sale_team_id",
        store=True,
        index="btree_not_null",
        help="Sales team of the key account manager.",
    )
    key_account_visible = fields.Boolean(
        groups=KAM_GROUP,
        string="Key-Account Data Visible",
        compute="_compute_key_account_visible",
        search="_search_key_account_visible",
        help="The current user may see this account's key-account data: its KAM, the "
        "leader of the KAM's sales team, the members of a team that shares its key "
        "accounts, key-account managers for their teams' and unassigned accounts, "
        "administrators for all.",
    )
    key_account_can_classify = fields.Boolean(
        groups=KAM_GROUP,
        string="Can Classify",
        compute="_compute_key_account_can_classify",
        help="The current user is a key-account manager: they may change the tier, account "
        "type, key account manager, KPI template and tier lock.",
    )
    key_account_has_previous = fields.Boolean(
        groups=KAM_GROUP,
        string="Has Previous Period",
        compute="_compute_key_account_cockpit",
        help="The period before the one the score shows has a score: the trend means something.",
    )
    key_account_trend_arrow = fields.Char(
        groups=KAM_GROUP,
        string="Trend Arrow",
        compute="_compute_key_account_cockpit",
        help="▲ up, ▼ down, – no previous period to compare with.",
    )
    key_account_grade_color = fields.Integer(
        groups=KAM_GROUP, string="Grade Colour", compute="_compute_key_account_cockpit"
    )
    key_account_warning_count = fields.Integer(
        groups=KAM_GROUP,
        string="Open Early Warnings",
        compute="_compute_key_account_warning_count",
        search="_search_key_account_warning_count",
    )
    key_account_reviewed = fields.Boolean(
        groups=KAM_GROUP,
        string="Reviewed This Period",
        compute="_compute_key_account_reviewed",
        search="_search_key_account_reviewed",
        help="The account has a review for the last closed review period.",
    )
    key_account_at_risk = fields.Boolean(
        groups=KAM_GROUP,
        string="At Risk",
        compute="_compute_key_account_at_risk",
        search="_search_key_account_at_risk",
        help="An open early warning, churn risk, the lowest grade, or a score fall beyond "
        "the company's warning step.",
    )
    key_account_latest_review_id = fields.Many2one(
        "key.account.review",
        groups=KAM_GROUP,
        string="Latest Review",
        compute="_compute_key_account_latest_review",
    )
    key_account_open_action_ids = fields.Many2many(
        "key.account.improvement.action",
        groups=KAM_GROUP,
        string="Open Improvement Actions",
        compute="_compute_key_account_latest_review",
    )
    key_account_breakdown_ids = fields.Many2many(
        "key.account.kpi.value",
        groups=KAM_GROUP,
        string="Why the Score Moved",
        compute="_compute_key_account_breakdown",
        help="The KPI values of the period the score shows, biggest movers first.",
    )
    key_account_breakdown_gone_points = fields.Float(
        groups=KAM_GROUP,
        string="Points of KPIs Without a Value Now",
        compute="_compute_key_account_breakdown",
        help="Points the previous period had from KPIs that have no value in this period.",
    )
    # from the run log of the KPI computation (key.account.kpi.run)
    key_account_compute_error = fields.Text(
        groups=KAM_GROUP,
        string="Last Computation Error",
        compute="_compute_key_account_compute_error",
        compute_sudo=True,
        help="The error of the last KPI computation of this account, when it "
        "failed: the score shown is then the one of an earlier computation.",
    )

    # ------------------------------------------------------------------
    # Customer value
    # ------------------------------------------------------------------
    key_account_clv = fields.Monetary(
        string="Historical CLV",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        currency_field="key_account_currency_id",
        help="Posted customer invoices net of refunds, untaxed, in company currency (confirmed "
        "orders when the company does not invoice in Odoo).",
    )
    key_account_clv_predictive = fields.Monetary(
        string="Predictive CLV",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        currency_field="key_account_currency_id",
        help="Expected orders in the prediction horizon × the account's average margin per "
        "order, discounted at the company's yearly rate.",
    )
    key_account_revenue_12m = fields.Monetary(
        string="Trailing 12-Month Revenue",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        currency_field="key_account_currency_id",
    )
    key_account_last_order_date = fields.Date(
        string="Last Order", readonly=True, copy=False, groups=KAM_GROUP
    )
    key_account_rfm_score = fields.Char(
        string="RFM Score", readonly=True, copy=False, groups=KAM_GROUP
    )
    key_account_rfm_segment = fields.Selection(
        [
            ("champion", "Champion"),
            ("loyal", "Loyal"),
            ("promising", "Promising"),
            ("needs_attention", "Needs attention"),
            ("at_risk", "Slipping"),
            ("hibernating", "Hibernating"),
        ],
        string="RFM Segment",
        help="Where the customer's last order, number of orders and revenue rank among the "
        "company's customers (quintiles): Slipping is a good customer who has not ordered "
        "as recently as most; the risk of losing a customer is Churn Risk.",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
    )
    key_account_churn_risk = fields.Boolean(
        string="Churn Risk",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        help="The predicted chance of no order in the horizon is above the company's churn-risk level.",
    )
    key_account_currency_id = fields.Many2one(
        "res.currency", compute="_compute_key_account_currency_id"
    )
    # predictions of compute_key_account_value (written in SQL, engine-only)
    key_account_buy_probability = fields.Float(
        string="Buy Probability",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        aggregator="avg",
        digits=(16, 4),
        help="Chance (0-1) of at least one confirmed order in the prediction horizon.",
    )
    key_account_expected_orders = fields.Float(
        string="Expected Orders",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        aggregator="sum",
        digits=(16, 2),
        help="Expected number of confirmed orders in the prediction horizon.",
    )
    key_account_churn_reason = fields.Char(
        string="Why at Risk",
        readonly=True,
        copy=False,
        translate=True,
        groups=KAM_GROUP,
        help="Recency against the account's own rhythm, falling frequency.",
    )
    key_account_value_date = fields.Date(
        string="Value As Of",
        readonly=True,
        copy=False,
        groups=KAM_GROUP,
        help="Day the customer value and the predictions were computed for.",
    )
    key_account_value_horizon = fields.Integer(
        string="Prediction Horizon (days)", readonly=True, copy=False, groups=KAM_GROUP
    )
    key_account_survey_input_ids = fields.Many2many(
        "survey.user_input",
        groups=KAM_GROUP,
        string="Latest Survey Answers",
        compute="_compute_key_account_survey",
    )
    key_account_nps_trend = fields.Char(
        groups=KAM_GROUP,
        string="NPS Trend",
        compute="_compute_key_account_survey",
        help="NPS of the account's contacts per quarter, oldest first (last four quarters with answers).",
    )

    @api.depends(
        "key_account_template_id", "key_account_tier_id", "key_account_segment_id"
    )
    @api.depends_context("company")
    def _compute_key_account_template_effective(self):
        """The template that applies, for all the partners at once (two queries)."""
        sources = {}
        templates = self.env["key.account.kpi.template"]._resolve_for_partners(
            self, sources=sources
        )
        for partner in self:
            partner.key_account_template_effective_id = (
                templates.get(partner.id) or False
            )
            partner.key_account_template_source = sources.get(partner.id) or False

    @api.depends("key_account_tier_id")
    def _compute_is_key_account(self):
        for partner in self:
            partner.is_key_account = bool(partner.key_account_tier_id)

    @api.depends_context("company")
    def _compute_key_account_currency_id(self):
        self.key_account_currency_id = self.env.company.currency_id

    def _compute_key_account_value_count(self):
        counts = dict(
            self.env["key.account.kpi.value"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.key_account_value_count = counts.get(partner, 0)

    def _compute_key_account_review_count(self):
        reviews = dict(
            self.env["key.account.review"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        actions = dict(
            self.env["key.account.improvement.action"]._read_group(
                [
                    ("partner_id", "in", self.ids),
                    ("state", "in", ("todo", "in_progress")),
                ],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.key_account_review_count = reviews.get(partner, 0)
            partner.key_account_action_count = actions.get(partner, 0)

    # ------------------------------------------------------------------
    # Cockpit computes (batched: a fixed number of queries for any number of partners)
    # ------------------------------------------------------------------
    @api.depends(
        "key_account_score",
        "key_account_grade",
        "key_account_trend",
        "key_account_score_date",
    )
    def _compute_key_account_cockpit(self):
        dated = self.filtered("key_account_score_date")
        history = {}
        if dated:
            for row in (
                self.env["key.account.score.history"]
                .sudo()
                .search_fetch(
                    [
                        ("partner_id", "in", dated.ids),
                        ("company_id", "=", self.env.company.id),
                        (
                            "date_to",
                            "in",
                            list(set(dated.mapped("key_account_score_date"))),
                        ),
                    ],
                    ["partner_id", "date_to", "has_previous"],
                )
            ):
                history[row.partner_id.id, row.date_to] = row.has_previous
        colors = {}
        for grade in (
            self.env["key.account.grade"]
            .sudo()
            .search([("company_id", "in", [self.env.company.id, False])])
        ):
            # the company's own band wins over a shared one of the same name
            if grade.company_id or grade.name not in colors:
                colors[grade.name] = grade.color
        for partner in self:
            known = history.get((partner.id, partner.key_account_score_date))
            has_previous = (
                known if known is not None else bool(partner.key_account_trend)
            )
            partner.key_account_has_previous = has_previous
            trend = partner.key_account_trend
            if not partner.key_account_score_date or not has_previous:
                arrow = "–"
            elif trend >= 0.05:
                arrow = "▲"
            elif trend <= -0.05:
                arrow = "▼"
            else:
                arrow = "="
            partner.key_account_trend_arrow = arrow
            partner.key_account_grade_color = colors.get(partner.key_account_grade, 0)

    def _key_account_warning_counts(self, partner_ids=None):
        """{partner id: open early-warning activities}; all partners when no ids."""
        activity_type = self.env.ref(
            "key_account_performance.mail_activity_type_key_account_warning",
            raise_if_not_found=False,
        )
        if not activity_type:
            return {}
        domain = [
            ("res_model", "=", "res.partner"),
            ("activity_type_id", "=", activity_type.id),
        ]
        if partner_ids is not None:
            domain.append(("res_id", "in", list(partner_ids)))
        # counting activities of partners the reader may see: no content is disclosed
        return dict(
            self.env["mail.activity"]
            .sudo()
            ._read_group(domain, ["res_id"], ["__count"])
        )

    def _compute_key_account_warning_count(self):
        counts = self._key_account_warning_counts(self.ids)
        for partner in self:
            partner.key_account_warning_count = counts.get(partner.id, 0)

    def _search_key_account_warning_count(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!=", ">", ">=", "<", "<=") or not isinstance(
            value, int
        ):
            raise UserError(self.env._("Unsupported search on open early warnings."))
        import operator as py_operator

        compare = {
            "=": py_operator.eq,
            "!=": py_operator.ne,
            ">": py_operator.gt,
            ">=": py_operator.ge,
            "<": py_operator.lt,
            "<=": py_operator.le,
        }[operator]
        counts = self._key_account_warning_counts()
        if compare(0, value):  # partners without any warning match too
            return [
                (
                    "id",
                    "not in",
                    [pid for pid, count in counts.items() if not compare(count, value)],
                )
            ]
        return [
            (
                "id",
                "in",
                [pid for pid, count in counts.items() if compare(count, value)],
            )
        ]

    def _key_account_reviewed_ids(self):
        """Ids of the accounts that have a review for the last closed period."""
        company = self.env.company
        today = fields.Date.context_today(self)
        date_from, date_to = kpi_math.last_closed_period(
            today, company.key_account_period_type
        )
        return {
            partner.id
            for [partner] in self.env["key.account.review"]
            .sudo()
            ._read_group(
                [
                    ("date_from", "=", date_from),
                    ("date_to", "=", date_to),
                    ("company_id", "=", company.id),
                ],
                ["partner_id"],
            )
        }

    def _compute_key_account_reviewed(self):
        reviewed = self._key_account_reviewed_ids()
        for partner in self:
            partner.key_account_reviewed = partner.commercial_partner_id.id in reviewed

    def _search_key_account_reviewed(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on reviewed accounts."))
        positive = (operator == "=") == bool(value)
        return [
            (
                "id",
                "in" if positive else "not in",
                list(self._key_account_reviewed_ids()),
            )
        ]

    def _compute_key_account_at_risk(self):
        at_risk = set(
            self.search(
                [("id", "in", self.ids), ("key_account_at_risk", "=", True)]
            ).ids
        )
        for partner in self:
            partner.key_account_at_risk = partner.id in at_risk

    def _compute_key_account_compute_error(self):
        failed = self.env["key.account.kpi.run"]._failed_accounts(
            [pid for pid in self.ids if pid]
        )
        for partner in self:
            partner.key_account_compute_error = failed.get(partner.id, (False,))[0]

    def _search_key_account_at_risk(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on accounts at risk."))
        company = self.env.company
        bands = self.env["key.account.grade"]._get_bands(company)
        lowest = min(bands, key=lambda band: band[1])[0] if bands else False
        warned = [
            pid for pid, count in self._key_account_warning_counts().items() if count
        ]
        domain = [
            "|",
            "|",
            "|",
            ("key_account_churn_risk", "=", True),
            ("id", "in", warned),
            "&",
            ("key_account_grade", "=", lowest),
            ("key_account_grade", "!=", False),
            ("key_account_trend", "<", -(company.key_account_score_drop_step or 10.0)),
        ]
        positive = (operator == "=") == bool(value)
        return [("is_key_account", "=", True)] + (
            domain if positive else ["!"] + domain
        )

    def _compute_key_account_latest_review(self):
        Review = self.env["key.account.review"]
        latest = {}
        for review in Review.search(
            [("partner_id", "in", self.commercial_partner_id.ids)],
            order="date_to desc, id desc",
        ):
            latest.setdefault(review.partner_id.id, review)
        actions = self.env["key.account.improvement.action"].search(
            [
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("state", "in", ("todo", "in_progress")),
            ],
            order="date_deadline, id",
        )
        for partner in self:
            commercial = partner.commercial_partner_id
            partner.key_account_latest_review_id = latest.get(commercial.id, Review)
            partner.key_account_open_action_ids = actions.filtered(
                lambda action: action.partner_id == commercial
            )

    @api.depends("key_account_score_date", "key_account_score")
    def _compute_key_account_breakdown(self):
        Value = self.env["key.account.kpi.value"]
        periods = {}
        company = self.env.company
        for partner in self:
            date_to = partner.key_account_score_date
            if partner.is_key_account and date_to:
                bounds = kpi_math.period_bounds(
                    date_to, company.key_account_period_type
                )
                if bounds[1] == date_to:
                    periods[partner.id] = bounds
        data = (
            self._key_account_breakdown_data(
                {(pid, *bounds) for pid, bounds in periods.items()}
            )
            if periods
            else {}
        )
        for partner in self:
            rows = (
                data.get((partner.id, *periods[partner.id]), [])
                if partner.id in periods
                else []
            )
            partner.key_account_breakdown_ids = Value.browse(
                [row["value_id"] for row in rows if row["value_id"]]
            )
            partner.key_account_breakdown_gone_points = sum(
                row["delta_points"] for row in rows if not row["value_id"]
            )

    @api.depends_context("uid")
    def _compute_key_account_can_classify(self):
        self.key_account_can_classify = self.env.user.has_group(KAM_MANAGER_GROUP)

    # ------------------------------------------------------------------
    # ORM: engine-only fields, manager-only fields
    # ------------------------------------------------------------------
    def _key_account_engine_write(self, vals):
        """The engine's way to write KEY_ACCOUNT_ENGINE_FIELDS (and auto-tiers)."""
        return self.with_context(key_account_engine_write=_ENGINE_WRITE).write(vals)

    def _check_key_account_fields(self, vals_list):
        if (
            self.env.context.get("key_account_engine_write") is _ENGINE_WRITE
            or self.env.su
        ):
            return
        merge = self.env.context.get("key_account_merge_write") is _ENGINE_WRITE
        for vals in vals_list:
            # Merge Contacts copies them (see the merge wizard)
            engine = set() if merge else KEY_ACCOUNT_ENGINE_FIELDS.intersection(vals)
            if not self:
                engine = {
                    name for name in engine if vals[name]
                }  # empty on create is the default
            if engine:
                raise UserError(
                    self.env._(
                        "These fields are computed by the key-account engine and cannot be "
                        "written directly: %(fields)s. Recompute them (Compute KPIs now, or "
                        "compute_for_period / compute_key_account_value over RPC).",
                        fields=", ".join(
                            sorted(
                                self._fields[name].string
                                for name in engine
                                if name in self._fields
                            )
                            or sorted(engine)
                        ),
                    )
                )
            managed = KEY_ACCOUNT_MANAGER_FIELDS.intersection(vals)
            if self:
                # only real changes count (a form saving the same value is fine)
                managed = {
                    name
                    for name in managed
                    if any(
                        _field_changes(partner, name, vals[name]) for partner in self
                    )
                }
            else:
                managed = {name for name in managed if vals[name]}
            if managed and not self.env.user.has_group(KAM_MANAGER_GROUP):
                raise UserError(
                    self.env._(
                        "Only key-account managers can change how an account is managed and "
                        "measured: its tier, account type, key account manager, KPI template and "
                        "tier lock (%(fields)s).",
                        fields=", ".join(
                            sorted(self._fields[name].string for name in managed)
                        ),
                    )
                )
            if managed and self and not self.env.su:
                # a manager reclassifies the accounts they manage (their teams'
                # and unassigned ones), not another team's: making themselves
                # its KAM would open its figures to them
                domain = self._key_account_managed_domain()
                foreign = self - self.sudo().filtered_domain(domain) if domain else None
                if foreign:
                    raise AccessError(
                        self.env._(
                            "You can only change how the accounts you manage are managed "
                            "and measured (not %(names)s).",
                            names=", ".join(foreign[:5].sudo().mapped("display_name")),
                        )
                    )

    @api.model
    def _check_key_account_reader(self):
        """Searching on a restricted computed field answers the same question
        as reading it: only the addon's groups may."""
        if not self.env.su and not self.env.user.has_group(KAM_GROUP):
            raise AccessError(
                self.env._(
                    "Only key-account users may search on key-account figures (open early "
                    "warnings, reviewed this period, at risk)."
                )
            )

    @api.model
    def _key_account_visible_domain(self):
        """The one rule of who sees an account's key-account data (score,
        grade, trend, breakdown, KPI values, history, reviews, actions,
        warnings, customer value): the accounts one manages (see
        ``_key_account_managed_domain``), plus, for everyone in the addon's
        groups, the accounts of the KAMs of the sales teams one leads and of
        the teams one belongs to that share their key accounts. The record
        rules of those models say the same (security/*.xml)."""
        user = self.env.user
        managed = self._key_account_managed_domain()
        if not managed or not user.has_group(KAM_GROUP):
            return managed
        shared = user.crm_team_ids.filtered("key_account_shared").ids
        return [
            "|",
            "|",
            *managed,
            ("key_account_manager_id.crm_team_ids.user_id", "=", user.id),
            ("key_account_manager_id.crm_team_ids", "in", shared),
        ]

    @api.depends_context("uid", "company")
    def _compute_key_account_visible(self):
        domain = self._key_account_visible_domain()
        commercial = self.sudo().commercial_partner_id
        visible = set(
            commercial.filtered_domain(domain).ids if domain else commercial.ids
        )
        for partner in self:
            partner.key_account_visible = partner.commercial_partner_id.id in visible

    def _search_key_account_visible(self, operator, value):
        self._check_key_account_reader()
        if operator not in ("=", "!="):
            raise UserError(self.env._("Unsupported search on visible accounts."))
        domain = self._key_account_visible_domain() or [(1, "=", 1)]
        ids = self.sudo().with_context(active_test=False)._search(domain)
        positive = (operator == "=") == bool(value)
        return [("id", "in" if positive else "not in", ids)]

    def _check_key_account_visible(self):
        """AccessError unless the user may see these accounts' key-account data."""
        if self.env.su:
            return
        domain = self._key_account_visible_domain()
        if not domain:
            return
        partners = self.commercial_partner_id
        hidden = partners - partners.sudo().filtered_domain(domain)
        if hidden:
            raise AccessError(
                self.env._(
                    "The key-account data of %(names)s is visible to its key account "
                    "manager, their sales team's leader (and members, where the team "
                    "shares its key accounts) and key-account managers only.",
                    names=", ".join(hidden[:5].sudo().mapped("display_name")),
                )
            )

    @api.model
    def _key_account_hidden(self, names):
        """Whether any of these field names (first component of a path) is
        the key-account data of an account (not one of the public fields)."""
        return any(
            name.startswith("key_account_") and name not in KEY_ACCOUNT_PUBLIC_FIELDS
            for name in names
        )

    @api.model
    def _key_account_scope_domain(self, names):
        """The visibility condition to add to a search, a grouping or an
        ordering that uses key-account data (``names``): a condition on an
        account's figures only ever matches the accounts the user may see,
        so that searching, sorting or grouping is no oracle for what reading
        returns empty. [] when nothing needs adding."""
        if self.env.su or not self._key_account_hidden(names):
            return []
        visible = self._key_account_visible_domain()
        if not visible:
            return []
        return [("commercial_partner_id", "any", visible)]

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        names = [
            leaf[0].split(".", 1)[0]
            for leaf in domain or ()
            if isinstance(leaf, (list, tuple)) and leaf and isinstance(leaf[0], str)
        ]
        names += [
            part.strip().split(" ", 1)[0].split(".", 1)[0]
            for part in (order or "").split(",")
        ]
        scope = self._key_account_scope_domain(names)
        if scope:
            domain = ["&", *scope, *domain] if domain else scope
        return super()._search(domain, offset=offset, limit=limit, order=order)

    @api.model
    def _read_group(
        self,
        domain,
        groupby=(),
        aggregates=(),
        having=(),
        offset=0,
        limit=None,
        order=None,
    ):
        names = [
            spec.split(":", 1)[0].split(".", 1)[0] for spec in (*groupby, *aggregates)
        ]
        scope = self._key_account_scope_domain(names)
        if scope:
            domain = ["&", *scope, *domain] if domain else scope
        return super()._read_group(
            domain, groupby, aggregates, having, offset=offset, limit=limit, order=order
        )

    def _read_format(self, fnames, load="_classic_read"):
        """Those who may not see an account's key-account data read the
        partner as Sales does: its key-account figures come back empty (one
        query for the whole batch), whatever reads them (form, list, RPC)."""
        result = super()._read_format(fnames, load=load)
        hidden_fields = [
            name
            for name in fnames
            if name.startswith("key_account_") and name not in KEY_ACCOUNT_PUBLIC_FIELDS
        ]
        if not hidden_fields or self.env.su or not result:
            return result
        domain = self._key_account_visible_domain()
        if not domain:
            return result
        ids = [row["id"] for row in result if isinstance(row.get("id"), int)]
        commercial = {p.id: p.commercial_partner_id.id for p in self.sudo().browse(ids)}
        visible = set(
            self.sudo().browse(set(commercial.values())).filtered_domain(domain).ids
        )
        for row in result:
            pid = row.get("id")
            if commercial.get(pid) in visible:
                continue
            for name in hidden_fields:
                if name in row:
                    row[name] = (
                        []
                        if self._fields[name].type in ("one2many", "many2many")
                        else False
                    )
        return result

    @api.model
    def _key_account_managed_domain(self):
        """The accounts the current user manages, as the record rules of the
        KPI values, reviews and score history see them: a KAM the accounts
        they are the key account manager of; a key-account manager also the
        unassigned accounts and those of their teams' KAMs; an administrator
        (and the superuser) all. A domain on res.partner, to be searched or
        filtered as superuser."""
        user = self.env.user
        if self.env.su or user.has_group(KAM_ADMIN_GROUP):
            return []
        if user.has_group(KAM_MANAGER_GROUP):
            return [
                "|",
                "|",
                "|",
                ("key_account_manager_id", "=", user.id),
                ("key_account_manager_id", "=", False),
                ("key_account_manager_id.crm_team_ids.user_id", "=", user.id),
                ("key_account_manager_id.crm_team_ids", "in", user.crm_team_ids.ids),
            ]
        if user.has_group(KAM_GROUP):
            return [("key_account_manager_id", "=", user.id)]
        return [(0, "=", 1)]

    @api.model_create_multi
    def create(self, vals_list):
        self._check_key_account_fields(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_key_account_fields([vals])
        partners = self
        if "key_account_member_ids" in vals:
            # the shares are checked once all team lines are written
            # (_check_key_account_member_shares), not line by line
            partners = self.with_context(key_account_member_batch=True)
        result = super(ResPartner, partners).write(vals)
        if SCORE_INPUT_FIELDS.intersection(vals):
            self.filtered("is_key_account")._key_account_mark_stale()
        return result

    @api.constrains("key_account_member_ids")
    def _check_key_account_member_shares(self):
        """The shares of an account's team sum to 1 (per company)."""
        self.env["key.account.member"]._check_account_shares(self)

    def _key_account_mark_stale(self):
        """Flag these accounts' score as out of date (one statement): an input
        of the score changed; the next computation clears the flag."""
        if not self:
            return
        self.env.execute_query(
            SQL(
                "UPDATE res_partner SET key_account_score_stale = TRUE "
                "WHERE id = ANY(%s) AND key_account_score_stale IS NOT TRUE "
                "AND key_account_score_date IS NOT NULL",
                self.ids,
            )
        )
        self.invalidate_recordset(["key_account_score_stale"])

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _key_account_action(self, xmlid):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_view_key_account_reviews(self):
        return self._key_account_action(
            "key_account_performance.action_key_account_review"
        )

    def action_view_key_account_actions(self):
        return self._key_account_action(
            "key_account_performance.action_key_account_improvement_action"
        )

    def action_view_key_account_warnings(self):
        return self._key_account_action(
            "key_account_performance.action_key_account_warning"
        )

    def action_view_key_account_values(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_kpi_value"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        # grouped by the company's review period (a quarter reads "Q4 2024", not "October 2024")
        period_type = self.env.company.key_account_period_type or "quarter"
        action["context"] = {"group_by": ["date_from:%s" % period_type]}
        return action

    @api.model
    def action_compute_key_account_kpis_mine(self):
        """Compute KPIs now for every key account of the current company the
        user manages: a KAM their own, a key-account manager their team's and
        the unassigned ones, an administrator all (the menu *Compute KPIs of
        My Accounts*)."""
        domain = self._key_account_managed_domain()
        # sudo: finding the accounts of the caller's scope (the domain above)
        accounts = (
            self.sudo()
            .search(
                [
                    ("is_key_account", "=", True),
                    ("company_id", "in", [self.env.company.id, False]),
                ]
                + domain
            )
            .with_env(self.env)
        )
        if not accounts:
            raise UserError(
                self.env._(
                    "You manage no key account in %(company)s.",
                    company=self.env.company.name,
                )
            )
        return accounts.action_compute_key_account_kpis()

    def action_compute_key_account_kpis(self):
        """Compute the running and the last closed period for these accounts."""
        company = self.env.company
        today = fields.Date.context_today(self)
        Value = self.env["key.account.kpi.value"]
        period_type = company.key_account_period_type
        counts = []
        for date_from, date_to in (
            kpi_math.last_closed_period(today, period_type),
            kpi_math.period_bounds(today, period_type),
        ):
            Value.compute_for_period(date_from, date_to, self.commercial_partner_id.ids)
            # what the KPI value list shows for the period: computed and manual
            count = Value.search_count(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("company_id", "=", company.id),
                    ("date_from", "=", date_from),
                    ("date_to", "=", date_to),
                ]
            )
            counts.append(
                (kpi_math.period_label(period_type, date_from, date_to), count)
            )
        accounts = self.commercial_partner_id
        accounts.invalidate_recordset()
        message = self.env._(
            "%(accounts)s: %(closed_count)s KPI values for %(closed)s (closed) and "
            "%(running_count)s for %(running)s (running, period to date).",
            accounts=", ".join(accounts[:3].mapped("display_name"))
            + ("…" if len(accounts) > 3 else ""),
            closed_count=counts[0][1],
            closed=counts[0][0],
            running_count=counts[1][1],
            running=counts[1][0],
        )
        if len(accounts) == 1 and accounts.key_account_grade:
            message += " " + self.env._(
                "Score %(score)s / 100, grade %(grade)s.",
                score=int(kpi_math.round_half_up(accounts.key_account_score)),
                grade=accounts.key_account_grade,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("KPIs computed"),
                "message": message,
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------
    # Why the score moved
    # ------------------------------------------------------------------
    def key_account_score_breakdown(self, date_from, date_to):
        """Per KPI of the account's template with a value: what it adds to the score.

        Public, callable over RPC (dates as ``YYYY-MM-DD`` strings). Returns a
        list of dicts, biggest movers first, with the keys ``kpi_code``,
        ``value``, ``score``, ``weight``, ``points``, ``previous_points``,
        ``delta_points`` and the extras ``kpi_id``, ``kpi_name``,
        ``value_id``, ``unit``, ``previous_value``, ``has_previous``.
        ``points`` add up to the account score of the period (the weighted
        mean of the KPI scores) and ``delta_points`` to the change against the
        previous period of the same length (the trend; 0 when either period
        has no score). A KPI that had a value in the previous period but has
        none now is listed too, with ``value`` False and 0 points, so that the
        changes still add up. Contacts answer for their company. Missing
        values are False, as in ``read()``: XML-RPC cannot carry None.
        """
        self.ensure_one()
        date_from, date_to = self.env["key.account.kpi.value"]._parse_period(
            date_from, date_to
        )
        self._check_key_account_visible()
        partner = self.commercial_partner_id
        rows = self._key_account_breakdown_data({(partner.id, date_from, date_to)}).get(
            (partner.id, date_from, date_to), []
        )
        return [
            {key: False if item is None else item for key, item in row.items()}
            for row in rows
        ]

    @api.model
    def _key_account_breakdown_data(self, periods):
        """{(partner id, date_from, date_to): [rows]} for a set of such triples.

        One read of the KPI values of every period and its previous one, one
        template resolution: the number of queries does not depend on the
        number of accounts, periods or KPIs.
        """
        company = self.env.company
        bounds = {}
        for pid, date_from, date_to in periods:
            bounds[pid, date_from, date_to] = kpi_math.previous_period(
                date_from, date_to
            )
        wanted = {(date_from, date_to) for _pid, date_from, date_to in periods}
        wanted |= set(bounds.values())
        period_domain = []
        for date_from, date_to in wanted:
            period_domain = (
                (["|"] if period_domain else [])
                + period_domain
                + ["&", ("date_from", "=", date_from), ("date_to", "=", date_to)]
            )
        partner_ids = list({pid for pid, _f, _t in periods})
        # the current company's figures (a shared partner has one set per company)
        values = self.env["key.account.kpi.value"].search_fetch(
            [
                ("partner_id", "in", partner_ids),
                ("company_id", "=", self.env.company.id),
            ]
            + period_domain,
            ["partner_id", "kpi_id", "date_from", "date_to", "value", "score"],
        )
        by_period = {}
        for record in values:
            by_period.setdefault(
                (record.partner_id.id, record.date_from, record.date_to), {}
            )[record.kpi_id.id] = record
        Template = self.env["key.account.kpi.template"]
        partners = self.browse(partner_ids)
        template_of = {
            pid: template.id
            for pid, template in Template._resolve_for_partners(
                partners, company
            ).items()
        }
        bands = Template.browse(
            list(set(filter(None, template_of.values())))
        )._kpi_bands()
        kpis = (
            self.env["key.account.kpi"]
            .sudo()
            .browse({kpi_id for band in bands.values() for kpi_id in band})
        )
        kpis.fetch(["code", "name", "unit"])
        result = {}
        for key, (prev_from, prev_to) in bounds.items():
            pid, date_from, date_to = key
            band = bands.get(template_of.get(pid)) or {}
            current = {
                kpi_id: record
                for kpi_id, record in by_period.get(
                    (pid, date_from, date_to), {}
                ).items()
                if kpi_id in band
            }
            previous = {
                kpi_id: record
                for kpi_id, record in by_period.get(
                    (pid, prev_from, prev_to), {}
                ).items()
                if kpi_id in band
            }
            points = kpi_math.score_breakdown(
                {
                    kpi_id: (record.score, band[kpi_id][2])
                    for kpi_id, record in current.items()
                },
                {
                    kpi_id: (record.score, band[kpi_id][2])
                    for kpi_id, record in previous.items()
                },
            )
            has_previous = bool(current) and bool(previous)
            rows = []
            for kpi_id, (now, before, delta) in points.items():
                kpi = kpis.browse(kpi_id)
                record = current.get(kpi_id)
                old = previous.get(kpi_id)
                rows.append(
                    {
                        "kpi_id": kpi_id,
                        "kpi_code": kpi.code,
                        "kpi_name": kpi.name,
                        "value_id": record.id if record else None,
                        "value": record.value if record else None,
                        "unit": kpi.unit or "",
                        "score": record.score if record else None,
                        "weight": band[kpi_id][2],
                        "points": now,
                        "previous_value": old.value if old else None,
                        "previous_points": before,
                        "delta_points": delta,
                        "has_previous": has_previous,
                    }
                )
            rows.sort(
                key=lambda row: (
                    -abs(row["delta_points"]),
                    -row["points"],
                    row["kpi_code"] or "",
                )
            )
            result[key] = rows
        return result

    # ------------------------------------------------------------------
    # Customer value and auto-tiering
    # ------------------------------------------------------------------
    @api.model
    def _cron_key_account_customer_value(self):
        # sudo: the scheduled action computes every company's customers
        for company in self.env["res.company"].sudo().search([("active", "=", True)]):
            self.sudo().with_company(company).compute_key_account_value()  # sudo: same
        return True

    def _compute_key_account_customer_value(self, company=None, today=None):
        """Former entry point, kept for callers: see compute_key_account_value."""
        company = company or self.env.company
        return self.with_company(company).compute_key_account_value(as_of=today)

    @api.model
    def compute_key_account_value(self, as_of=None, horizon_days=None):
        """Recompute CLV, RFM, churn risk, predictions and auto-tiers.

        Public, callable over RPC. The current company's customers are seen as
        on ``as_of`` (``YYYY-MM-DD`` or a date; default today): only orders
        and invoices up to that day count. Predictions cover the next
        ``horizon_days`` (default: the length of the company's review period).
        The model is fitted on this history and back-tested one horizon
        earlier (a ``key.account.value.model`` record). Every customer with a
        confirmed order gets ``key_account_buy_probability`` and
        ``key_account_expected_orders``. Values are written in bulk SQL: the
        number of queries does not depend on the number of customers.
        Returns a dict of plain data (``partners``, ``model_id``, ``method``,
        ``as_of``, ``horizon_days``, backtest figures; ``backtest_auc`` False when undefined).
        """
        if not (
            self.env.su
            or self.env.user._is_superuser()
            or self.env.user.has_group(KAM_GROUP)
        ):
            raise AccessError(
                self.env._("Only key-account users can recompute customer value.")
            )
        # managers and the scheduled job: the whole company, any day and
        # horizon; a KAM refreshes their own accounts as of today, over the
        # review period, without auto-tiering (a tier is a manager's change)
        own_ids = None
        if not (
            self.env.su
            or self.env.user._is_superuser()
            or self.env.user.has_group(KAM_MANAGER_GROUP)
        ):
            today = fields.Date.context_today(self)
            if (as_of and str(as_of)[:10] != fields.Date.to_string(today)) or (
                horizon_days
            ):
                raise AccessError(
                    self.env._(
                        "A key account manager can only refresh the customer value of their own "
                        "accounts as of today, over the review period: other dates and "
                        "horizons are for key-account managers."
                    )
                )
            # sudo: the accounts the KAM manages, whatever the partner rules
            own_ids = (
                self.sudo()
                .search([("key_account_manager_id", "=", self.env.uid)])
                .commercial_partner_id.ids
            )
        company = self.env.company
        Value = self.env["key.account.kpi.value"]
        as_of = (
            Value._parse_date(as_of, "as_of")
            if as_of
            else fields.Date.context_today(self)
        )
        if horizon_days:
            try:
                horizon = int(horizon_days)
            except (TypeError, ValueError):
                raise ValidationError(
                    self.env._(
                        "horizon_days must be a whole number of days, got %(value)r.",
                        value=horizon_days,
                    )
                ) from None
        else:
            horizon = kpi_math.period_days(
                *kpi_math.period_bounds(
                    as_of, company.key_account_period_type or "quarter"
                )
            )
        if horizon <= 0:
            raise UserError(
                self.env._("The prediction horizon must be at least one day.")
            )
        if not kpi_math.period_in_range(as_of, as_of) or horizon > 3660:
            raise UserError(
                self.env._(
                    "Customer value is computed as of a date between %(min)s and %(max)s, for a "
                    "horizon of at most 3660 days (got %(as_of)s and %(horizon)s days).",
                    min=kpi_math.PERIOD_MIN_DATE,
                    max=kpi_math.PERIOD_MAX_DATE,
                    as_of=as_of,
                    horizon=horizon,
                )
            )
        data = self._key_account_value_gather(company, as_of)
        orders = data["orders"]
        day = as_of.toordinal()
        prediction = customer_value.predict(orders, day, horizon)
        backtest = customer_value.backtest(orders, day, horizon)
        # sudo: the fit record is written for every key-account user who recomputes (read-only to them)
        model = (
            self.env["key.account.value.model"]
            .sudo()
            .create(
                {
                    "company_id": company.id,
                    "as_of": as_of,
                    "horizon_days": horizon,
                    "cutoff_date": datetime.date.fromordinal(int(backtest["cutoff"])),
                    "n_customers": int(prediction["known"].sum()),
                    "method": prediction["method"],
                    "training_window": prediction["window"],
                    "n_train": prediction["n_train"],
                    "backtest_customers": backtest["n_customers"],
                    "backtest_method": backtest["method"],
                    "auc": backtest["auc"] or 0.0,
                    "has_auc": backtest["auc"] is not None,
                    "predicted_orders": backtest["predicted_orders"],
                    "actual_orders": backtest["actual_orders"],
                }
            )
        )
        written = self._key_account_value_write(
            company, as_of, horizon, data, prediction, only_ids=own_ids
        )
        if own_ids is None:
            self._key_account_auto_tier(company, data["partner_ids"], data["money"])
        return {
            "partners": written,
            "as_of": fields.Date.to_string(as_of),
            "horizon_days": horizon,
            "method": prediction["method"],
            "model_id": model.id,
            "backtest_auc": backtest["auc"] if backtest["auc"] is not None else False,
            "backtest_predicted_orders": backtest["predicted_orders"],
            "backtest_actual_orders": backtest["actual_orders"],
        }

    @api.model
    def _key_account_value_gather(self, company, as_of):
        """Orders (one row per confirmed order) and money per customer, up to as_of.

        Money (historical CLV, trailing 12 months) comes from posted customer
        invoices net of refunds, untaxed, in company currency; from confirmed
        orders when the company does not invoice in Odoo (setting) or has not
        posted any customer invoice yet.
        """
        self.env["sale.order"].flush_model(
            [
                "partner_id",
                "amount_untaxed",
                "currency_rate",
                "date_order",
                "state",
                "company_id",
                "margin",
            ]
        )
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        tz = kpi_math.company_tz(company)
        rows = self.env.execute_query(
            SQL(
                """
            SELECT p.commercial_partner_id,
                   ((o.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date - DATE '0001-01-01') + 1,
                   (o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1.0))::float8,
                   (COALESCE(o.margin, 0) / COALESCE(NULLIF(o.currency_rate, 0), 1.0))::float8
              FROM sale_order o
              JOIN res_partner p ON p.id = o.partner_id
             WHERE o.state = 'sale' AND o.company_id = %(company)s
               AND (o.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date <= %(as_of)s
        """,
                tz=tz,
                company=company.id,
                as_of=as_of,
            )
        )
        if rows:
            pids, days, amounts, margins = (np.array(col) for col in zip(*rows))
        else:
            pids = days = np.zeros(0, dtype=np.int64)
            amounts = margins = np.zeros(0)
        partner_ids, index = np.unique(pids.astype(np.int64), return_inverse=True)
        orders = customer_value.Orders(
            index, days, amounts, margins, n_customers=len(partner_ids)
        )
        start_12m = kpi_math.trailing_12_months(as_of)[0]
        money = None
        source = "orders"
        if company.key_account_invoicing:
            self.env["account.move"].flush_model(
                [
                    "commercial_partner_id",
                    "amount_untaxed_signed",
                    "state",
                    "move_type",
                    "company_id",
                    "invoice_date",
                ]
            )
            invoiced = self.env.execute_query(
                SQL(
                    """
                SELECT m.commercial_partner_id,
                       SUM(m.amount_untaxed_signed),
                       SUM(CASE WHEN m.invoice_date >= %(start)s THEN m.amount_untaxed_signed ELSE 0 END)
                  FROM account_move m
                 WHERE m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')
                   AND m.company_id = %(company)s AND m.invoice_date <= %(as_of)s
              GROUP BY m.commercial_partner_id
            """,
                    start=start_12m,
                    company=company.id,
                    as_of=as_of,
                )
            )
            if invoiced:
                money = {
                    pid: (float(total or 0.0), float(last12 or 0.0))
                    for pid, total, last12 in invoiced
                }
                source = "invoices"
        if money is None:
            start_day = start_12m.toordinal()
            total = np.bincount(
                orders.customer, weights=orders.amount, minlength=orders.n_customers
            )
            recent = np.bincount(
                orders.customer,
                weights=np.where(orders.day >= start_day, orders.amount, 0.0),
                minlength=orders.n_customers,
            )
            money = {
                int(pid): (float(total[i]), float(recent[i]))
                for i, pid in enumerate(partner_ids)
            }
        return {
            "orders": orders,
            "partner_ids": [int(pid) for pid in partner_ids],
            "money": money,
            "money_source": source,
        }

    @api.model
    def _key_account_value_write(
        self, company, as_of, horizon, data, prediction, only_ids=None
    ):
        """Write the customer value of every customer in a few bulk statements
        (of the customers ``only_ids`` only, when given)."""
        partner_ids = data["partner_ids"]
        money = data["money"]
        stats = prediction["stats"]
        probability = prediction["probability"]
        expected = prediction["expected"]
        threshold = company.key_account_churn_threshold
        window = prediction["window"] or horizon
        clv_of = {pid: values[0] for pid, values in money.items()}
        r_scores = kpi_math.quintile_scores(
            {pid: -float(stats["recency"][i]) for i, pid in enumerate(partner_ids)}
        )
        f_scores = kpi_math.quintile_scores(
            {pid: float(stats["orders"][i]) for i, pid in enumerate(partner_ids)}
        )
        m_scores = kpi_math.quintile_scores(
            {pid: clv_of.get(pid, 0.0) for pid in partner_ids}
        )
        n_orders = np.maximum(stats["orders"], 1.0)
        margin_per_order = (
            np.where(stats["margin"] != 0, stats["margin"], stats["amount"]) / n_orders
        )
        clv_predictive = customer_value.discounted_value(
            expected,
            margin_per_order,
            horizon,
            (company.key_account_discount_rate or 0.0) / 100.0,
        )
        columns = {
            name: []
            for name in (
                "id",
                "clv",
                "rev12",
                "last",
                "prob",
                "exp",
                "pclv",
                "risk",
                "reason",
                "rfm",
                "segment",
            )
        }
        # the reason is a translated field: written in every installed language,
        # read in the reader's (not in the language of whoever computed)
        in_lang = self._key_account_in_languages()
        for i, pid in enumerate(partner_ids):
            clv, rev12 = money.get(pid, (0.0, 0.0))
            r, f, m = r_scores[pid], f_scores[pid], m_scores[pid]
            risk = bool(1.0 - probability[i] > threshold)
            columns["id"].append(pid)
            columns["clv"].append(clv)
            columns["rev12"].append(rev12)
            columns["last"].append(datetime.date.fromordinal(int(stats["last"][i])))
            columns["prob"].append(round(float(probability[i]), 4))
            columns["exp"].append(round(float(expected[i]), 2))
            columns["pclv"].append(round(float(clv_predictive[i]), 2))
            columns["risk"].append(risk)
            columns["reason"].append(
                self._key_account_translations(
                    in_lang,
                    lambda partner, i=i: partner._key_account_churn_reason(
                        stats, i, window, horizon, probability[i]
                    ),
                )
                if risk
                else None
            )
            columns["rfm"].append("%s%s%s" % (r, f, m))
            columns["segment"].append(kpi_math.rfm_segment(r, f, m))
        self.env["res.partner"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET key_account_clv = v.clv, key_account_revenue_12m = v.rev12,
                   key_account_last_order_date = v.last, key_account_buy_probability = v.prob,
                   key_account_expected_orders = v.exp, key_account_clv_predictive = v.pclv,
                   key_account_churn_risk = v.risk, key_account_churn_reason = v.reason,
                   key_account_rfm_score = v.rfm, key_account_rfm_segment = v.segment,
                   key_account_value_date = %(as_of)s, key_account_value_horizon = %(horizon)s
              FROM unnest(%(id)s::int[], %(clv)s::numeric[], %(rev12)s::numeric[], %(last)s::date[],
                          %(prob)s::float8[], %(exp)s::float8[], %(pclv)s::numeric[], %(risk)s::bool[],
                          %(reason)s::jsonb[], %(rfm)s::varchar[], %(segment)s::varchar[])
                   AS v(id, clv, rev12, last, prob, exp, pclv, risk, reason, rfm, segment)
             WHERE p.id = v.id
               AND (%(only)s::int[] IS NULL OR p.id = ANY(%(only)s::int[]))
        """,
                as_of=as_of,
                horizon=horizon,
                only=only_ids,
                **columns,
            )
        )
        # customers without an order up to as_of (yet, or any more): no prediction;
        # a key account without orders is at risk
        invoiced_only = [pid for pid in money if pid not in set(partner_ids)]
        self.env.cr.execute(
            SQL(
                """
            WITH inv AS (
                SELECT * FROM unnest(%(inv_ids)s::int[], %(inv_clv)s::numeric[], %(inv_rev)s::numeric[])
                    AS inv(id, clv, rev12))
            UPDATE res_partner p
               SET key_account_buy_probability = 0, key_account_expected_orders = 0,
                   key_account_clv_predictive = 0, key_account_last_order_date = NULL,
                   key_account_rfm_score = NULL, key_account_rfm_segment = NULL,
                   key_account_clv = COALESCE(inv.clv, 0), key_account_revenue_12m = COALESCE(inv.rev12, 0),
                   key_account_churn_risk = COALESCE(p.is_key_account, FALSE),
                   key_account_churn_reason = CASE WHEN p.is_key_account THEN %(reason)s::jsonb END,
                   key_account_value_date = %(as_of)s, key_account_value_horizon = %(horizon)s
              FROM res_partner q
              LEFT JOIN inv ON inv.id = q.id
             WHERE q.id = p.id
               AND p.id = p.commercial_partner_id
               AND (p.company_id = %(company)s OR p.company_id IS NULL)
               AND p.id != ALL(%(ids)s::int[])
               AND (p.key_account_value_date IS NOT NULL OR p.is_key_account OR p.id = ANY(%(inv_ids)s::int[]))
               AND (%(only)s::int[] IS NULL OR p.id = ANY(%(only)s::int[]))
        """,
                only=only_ids,
                reason=self._key_account_translations(
                    in_lang,
                    lambda partner: partner.env._(
                        "No confirmed order up to %(date)s.", date=as_of
                    ),
                ),
                as_of=as_of,
                horizon=horizon,
                company=company.id,
                ids=partner_ids,
                inv_ids=invoiced_only,
                inv_clv=[money[pid][0] for pid in invoiced_only],
                inv_rev=[money[pid][1] for pid in invoiced_only],
            )
        )
        self.env["res.partner"].invalidate_model(
            [
                "key_account_clv",
                "key_account_revenue_12m",
                "key_account_last_order_date",
                "key_account_buy_probability",
                "key_account_expected_orders",
                "key_account_clv_predictive",
                "key_account_churn_risk",
                "key_account_churn_reason",
                "key_account_rfm_score",
                "key_account_rfm_segment",
                "key_account_value_date",
                "key_account_value_horizon",
            ]
        )
        if only_ids is not None:
            return len(set(partner_ids) & set(only_ids))
        return len(partner_ids)

    def _key_account_in_languages(self):
        """This model in each installed language (en_US, the fallback of
        translated fields, always among them): ``{code: recordset}``."""
        codes = dict.fromkeys(
            ["en_US"] + [code for code, _name in self.env["res.lang"].get_installed()]
        )
        return {code: self.with_context(lang=code) for code in codes}

    @api.model
    def _key_account_translations(self, in_lang, render):
        """The value of a translated field as its column stores it (JSON, one
        text per language): ``render(records in that language)`` for each
        language of :meth:`_key_account_in_languages`."""
        return json.dumps(
            {lang: render(records) for lang, records in in_lang.items()},
            ensure_ascii=False,
        )

    def _key_account_churn_reason(self, stats, i, window, horizon, probability):
        """Why an account is at risk, in one short sentence (user's language)."""
        parts = []
        recency = int(stats["recency"][i])
        mean_gap = stats["mean_gap"][i]
        if stats["orders"][i] <= 1:
            parts.append(self.env._("a single order, %(days)s days ago", days=recency))
        elif stats["occasions"][i] <= 1:
            parts.append(
                self.env._(
                    "%(orders)s orders, all on one day, %(days)s days ago",
                    orders=int(stats["orders"][i]),
                    days=recency,
                )
            )
        elif np.isfinite(mean_gap) and recency > mean_gap:
            parts.append(
                self.env._(
                    "no order for %(days)s days, %(ratio)s× its usual interval of %(gap)s days",
                    days=recency,
                    ratio=round(recency / mean_gap, 1),
                    gap=int(round(mean_gap)),
                )
            )
        if stats["previous"][i] > stats["recent"][i]:
            parts.append(
                self.env._(
                    "%(recent)s orders in the last %(window)s days against %(previous)s in the %(window)s days before",
                    recent=int(stats["recent"][i]),
                    previous=int(stats["previous"][i]),
                    window=window,
                )
            )
        parts.append(
            self.env._(
                "%(pct)s%% chance of an order in the next %(days)s days",
                pct=int(round(probability * 100)),
                days=horizon,
            )
        )
        # the punctuation is the language's own (Chinese: "；" and "。")
        text = parts[0]
        for part in parts[1:]:
            text = self.env._("%(reason)s; %(more)s", reason=text, more=part)
        return self.env._("%(reason)s.", reason=text[:1].upper() + text[1:])

    @api.model
    def _key_account_auto_tier(self, company, partner_ids, money):
        """Assign auto-tiers (first tier by sequence whose threshold is reached:
        trailing-12-month revenue, CLV or predicted CLV, the predictions just
        written) to unlocked companies and key accounts; one write per tier."""
        tiers = (
            self.env["key.account.tier"]
            .search(
                [("auto_tier", "=", True), ("company_id", "in", [company.id, False])]
            )
            .sorted(lambda tier: (tier.sequence, tier.id))
        )
        if not tiers or not partner_ids:
            return
        candidates = self.env.execute_query(
            SQL(
                """
            SELECT id, key_account_tier_id, COALESCE(key_account_clv_predictive, 0)
              FROM res_partner
             WHERE id = ANY(%(ids)s::int[]) AND NOT COALESCE(key_account_tier_locked, FALSE)
               AND (is_company OR is_key_account) AND active
        """,
                ids=list(partner_ids),
            )
        )
        changes = {}
        for pid, current, predicted in candidates:
            clv, rev12 = money.get(pid, (0.0, 0.0))
            for tier in tiers:
                if (
                    (tier.auto_min_revenue and rev12 >= tier.auto_min_revenue)
                    or (tier.auto_min_clv and clv >= tier.auto_min_clv)
                    or (
                        tier.auto_min_clv_predictive
                        and float(predicted) >= tier.auto_min_clv_predictive
                    )
                ):
                    if current != tier.id:
                        changes.setdefault(tier.id, []).append(pid)
                    break
        for tier_id, pids in changes.items():
            self.browse(pids)._key_account_engine_write(
                {"key_account_tier_id": tier_id}
            )

    # ------------------------------------------------------------------
    # Surveys (NPS / CSAT of the account's contacts)
    # ------------------------------------------------------------------
    def _key_account_survey_contacts(self):
        """The account's contacts that can receive an invitation (with an email)."""
        accounts = self.commercial_partner_id
        contacts = accounts | accounts.child_ids.filtered(
            lambda c: c.active and c.type in ("contact", "invoice", "other")
        )
        return contacts.filtered("email")

    def action_key_account_send_survey(self, survey="nps"):
        """Open Odoo's survey invitation for the account's contacts."""
        survey = self.env.ref(
            "key_account_performance.survey_%s"
            % ("csat" if survey == "csat" else "nps")
        )
        contacts = self._key_account_survey_contacts()
        if not contacts:
            raise UserError(
                self.env._(
                    "None of the contacts of %(account)s has an email address.",
                    account=", ".join(
                        self.commercial_partner_id.mapped("display_name")
                    ),
                )
            )
        action = survey.action_send_survey()
        action["context"] = dict(
            action["context"], default_partner_ids=[Command.set(contacts.ids)]
        )
        return action

    def action_key_account_send_csat(self):
        return self.action_key_account_send_survey("csat")

    def _compute_key_account_survey(self):
        surveys = (
            self.env.ref(
                "key_account_performance.survey_nps", raise_if_not_found=False
            ),
            self.env.ref(
                "key_account_performance.survey_csat", raise_if_not_found=False
            ),
        )
        surveys = self.env["survey.survey"].union(*filter(None, surveys))
        accounts = self.commercial_partner_id
        inputs = self.env["survey.user_input"].search(
            [
                ("survey_id", "in", surveys.ids),
                ("state", "=", "done"),
                ("partner_id.commercial_partner_id", "in", accounts.ids),
            ],
            order="create_date desc, id desc",
        )
        nps_question = self.env.ref(
            "key_account_performance.survey_nps_question", raise_if_not_found=False
        )
        by_account = {}
        quarters = {}
        for answer in inputs:
            account = answer.partner_id.commercial_partner_id.id
            by_account.setdefault(account, self.env["survey.user_input"])
            if len(by_account[account]) < 5:
                by_account[account] |= answer
            for line in answer.user_input_line_ids:
                if (
                    nps_question
                    and line.question_id == nps_question
                    and not line.skipped
                ):
                    quarter = kpi_math.period_bounds(
                        answer.create_date.date(), "quarter"
                    )[0]
                    counts = quarters.setdefault(account, {}).setdefault(quarter, {})
                    counts[line.value_scale] = counts.get(line.value_scale, 0) + 1
        for partner in self:
            account = partner.commercial_partner_id.id
            partner.key_account_survey_input_ids = by_account.get(
                account, self.env["survey.user_input"]
            )
            trend = sorted(quarters.get(account, {}).items())[-4:]
            partner.key_account_nps_trend = (
                " → ".join(
                    "Q%s %s: %s"
                    % (
                        (quarter.month - 1) // 3 + 1,
                        quarter.year,
                        int(round(kpi_math.nps_from_counts(counts))),
                    )
                    for quarter, counts in trend
                )
                or False
            )
