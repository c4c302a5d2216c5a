"""The key account on the partner: who manages it, how it is classified and
measured, its score fields; the guard on the fields the engine and the
key-account managers own; the account's actions.

The other concerns of the account live beside this file:
``res_partner_visibility`` (who sees an account's data),
``res_partner_cockpit`` (the cockpit's flags and counts),
``res_partner_breakdown`` (why the score moved),
``res_partner_customer_value`` and ``res_partner_customer_value_sql``
(CLV, RFM, churn risk, predictions, auto-tiering), ``res_partner_survey``
(NPS / CSAT).
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import kpi_math

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
        "key_account_churn_reason_data",
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
    # The figures the engine writes for every account at every computation
    # (here and the customer value's) are company-dependent and have no index
    # (index=False): Odoo gives a company-dependent field an index of "is
    # set" by default, which no search of the addon needs, and an index on a
    # column stops PostgreSQL from updating the partner's row in place (a
    # HOT update): every score written then adds an entry to each of the
    # partner table's indexes (about fifty with the sales apps).
    key_account_score = fields.Float(
        readonly=True,
        company_dependent=True,
        index=False,
        copy=False,
        groups=KAM_GROUP,
        aggregator="avg",
        help="Weighted score 0-100 of the latest fully closed period.",
    )
    key_account_grade = fields.Char(
        string="Grade",
        readonly=True,
        company_dependent=True,
        index=False,
        copy=False,
        groups=KAM_GROUP,
    )
    key_account_trend = fields.Float(
        string="Trend",
        readonly=True,
        company_dependent=True,
        index=False,
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
        index=False,
        copy=False,
        groups=KAM_GROUP,
        help="Last day of the period the score shows.",
    )
    # counts of records only the addon's groups may read: a plain read() of the
    # partner by a sales or portal user must not touch them
    key_account_value_count = fields.Integer(
        compute="_compute_key_account_value_count", groups=KAM_GROUP
    )
    # the review count with the latest review, the action count with the
    # open actions (res_partner_cockpit.py)
    key_account_review_count = fields.Integer(
        compute="_compute_key_account_reviews", groups=KAM_GROUP
    )
    key_account_action_count = fields.Integer(
        compute="_compute_key_account_actions", groups=KAM_GROUP
    )

    # ------------------------------------------------------------------
    # Classification
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
    key_account_can_classify = fields.Boolean(
        groups=KAM_GROUP,
        string="Can Classify",
        compute="_compute_key_account_can_classify",
        help="The current user is a key-account manager: they may change the tier, account "
        "type, key account manager, KPI template and tier lock.",
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

    def _compute_key_account_value_count(self):
        counts = dict(
            self.env["key.account.kpi.value"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.key_account_value_count = counts.get(partner, 0)

    @api.depends_context("uid")
    def _compute_key_account_can_classify(self):
        self.key_account_can_classify = self.env.user.has_group(KAM_MANAGER_GROUP)

    @api.model
    def _key_account_xmlid_to_id(self, xmlid):
        """The id of the addon's record ``xmlid``, or False: from the
        registry's cache of external ids, without the existence query of
        ``env.ref`` (computes of the account page call it for every read)."""
        return self.env["ir.model.data"]._xmlid_to_res_id(
            xmlid, raise_if_not_found=False
        )

    def _key_account_search_sudo(self, model, domain, field_names, order=None):
        """``search_fetch`` of ``model`` as superuser, with ``field_names``
        and the stored fields the user's read rules of ``model`` look at
        (checking the records found then reads nothing more)."""
        Model = self.env[model].sudo()
        rule = self.env["ir.rule"]._compute_domain(model, "read") or ()
        fields = dict.fromkeys(field_names)
        for leaf in rule:
            if isinstance(leaf, (list, tuple)) and isinstance(leaf[0], str):
                name = leaf[0].split(".", 1)[0]
                if name in Model._fields and Model._fields[name].store:
                    fields.setdefault(name)
        return Model.search_fetch(domain, list(fields), order=order)

    def _key_account_readable(self, model, domain, field_names, order=None):
        """The records of ``model`` matching ``domain`` that the current user
        may read: what ``search_fetch`` in the user's environment returns,
        searched as superuser and then checked on the records found
        (``_filtered_access``: the model's access rights and its record
        rules, as ``read`` checks them). The account page's lists of an
        account's few reviews, actions, KPI values and survey answers then
        pay for the record rules in proportion to what they show, where a
        search compiled every rule into its query at each read of the page."""
        found = self._key_account_search_sudo(model, domain, field_names, order=order)
        return found.with_env(self.env)._filtered_access("read")

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
        today = kpi_math.company_today(company)
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
