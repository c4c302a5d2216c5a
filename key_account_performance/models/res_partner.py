import datetime

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import kpi_math

KAM_GROUP = "key_account_performance.group_key_account_user"
KAM_MANAGER_GROUP = "key_account_performance.group_key_account_manager"
# written by the engine only (in SQL, or through _key_account_engine_write):
# a direct write or create is refused, for every user
KEY_ACCOUNT_ENGINE_FIELDS = frozenset({
    "key_account_score", "key_account_grade", "key_account_trend", "key_account_score_date",
    "key_account_clv", "key_account_clv_predictive", "key_account_revenue_12m",
    "key_account_last_order_date", "key_account_rfm_score", "key_account_rfm_segment",
    "key_account_churn_risk", "key_account_buy_probability", "key_account_expected_orders",
    "key_account_churn_reason", "key_account_value_date", "key_account_value_horizon",
})
# who manages an account and how it is measured: key-account managers only
KEY_ACCOUNT_MANAGER_FIELDS = frozenset({
    "key_account_tier_id", "key_account_manager_id", "key_account_template_id",
})
# context value of the engine's writes: an object no RPC client can send
_ENGINE_WRITE = object()


class ResPartner(models.Model):
    _inherit = "res.partner"

    # ------------------------------------------------------------------
    # Key account identity
    # ------------------------------------------------------------------
    key_account_tier_id = fields.Many2one(
        "key.account.tier", string="Key Account Tier", tracking=True, index="btree_not_null")
    is_key_account = fields.Boolean(
        compute="_compute_is_key_account", store=True, index=True, string="Is Key Account")
    key_account_manager_id = fields.Many2one(
        "res.users", string="Key Account Manager", tracking=True, index="btree_not_null")
    key_account_segment_id = fields.Many2one(
        "key.account.segment", string="Account Type", tracking=True)
    key_account_template_id = fields.Many2one(
        "key.account.kpi.template", string="KPI Template",
        help="Leave empty to use the template of the tier and segment.")
    key_account_tier_locked = fields.Boolean(
        string="Lock Tier", help="Auto-tiering never changes a locked tier.")
    key_account_goal = fields.Html(
        string="Goals and Expectations",
        help="What the company and the account expect of the relationship.")

    # ------------------------------------------------------------------
    # Scores (latest fully closed period)
    # ------------------------------------------------------------------
    key_account_score = fields.Float(
        string="Key Account Score", readonly=True, copy=False, groups=KAM_GROUP, aggregator="avg",
        help="Weighted score 0-100 of the latest fully closed period.")
    key_account_grade = fields.Char(string="Grade", readonly=True, copy=False, groups=KAM_GROUP)
    key_account_trend = fields.Float(
        string="Trend", readonly=True, copy=False, groups=KAM_GROUP, help="Score minus the previous period's score.")
    key_account_score_date = fields.Date(
        string="Score Period End", readonly=True, copy=False, groups=KAM_GROUP,
        help="Last day of the period the score shows.")
    key_account_value_count = fields.Integer(compute="_compute_key_account_value_count")
    key_account_review_count = fields.Integer(compute="_compute_key_account_review_count")
    key_account_action_count = fields.Integer(compute="_compute_key_account_review_count")

    # ------------------------------------------------------------------
    # Customer value
    # ------------------------------------------------------------------
    key_account_clv = fields.Monetary(
        string="Historical CLV", readonly=True, copy=False, groups=KAM_GROUP, currency_field="key_account_currency_id",
        help="Untaxed revenue of all confirmed orders, in company currency.")
    key_account_clv_predictive = fields.Monetary(
        string="Predictive CLV", readonly=True, copy=False, groups=KAM_GROUP, currency_field="key_account_currency_id",
        help="Expected margin over the expected lifetime, discounted at 10% a year.")
    key_account_revenue_12m = fields.Monetary(
        string="Trailing 12-Month Revenue", readonly=True, copy=False, groups=KAM_GROUP,
        currency_field="key_account_currency_id")
    key_account_last_order_date = fields.Date(string="Last Order", readonly=True, copy=False, groups=KAM_GROUP)
    key_account_rfm_score = fields.Char(string="RFM Score", readonly=True, copy=False, groups=KAM_GROUP)
    key_account_rfm_segment = fields.Selection([
        ("champion", "Champion"),
        ("loyal", "Loyal"),
        ("promising", "Promising"),
        ("needs_attention", "Needs attention"),
        ("at_risk", "At risk"),
        ("hibernating", "Hibernating"),
    ], string="RFM Segment", readonly=True, copy=False, groups=KAM_GROUP)
    key_account_churn_risk = fields.Boolean(
        string="Churn Risk", readonly=True, copy=False, groups=KAM_GROUP,
        help="No order for longer than twice the account's usual interval (at least 90 days).")
    key_account_currency_id = fields.Many2one(
        "res.currency", compute="_compute_key_account_currency_id")

    @api.depends("key_account_tier_id")
    def _compute_is_key_account(self):
        for partner in self:
            partner.is_key_account = bool(partner.key_account_tier_id)

    @api.depends_context("company")
    def _compute_key_account_currency_id(self):
        self.key_account_currency_id = self.env.company.currency_id

    def _compute_key_account_value_count(self):
        counts = dict(self.env["key.account.kpi.value"]._read_group(
            [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]))
        for partner in self:
            partner.key_account_value_count = counts.get(partner, 0)

    def _compute_key_account_review_count(self):
        reviews = dict(self.env["key.account.review"]._read_group(
            [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]))
        actions = dict(self.env["key.account.improvement.action"]._read_group(
            [("partner_id", "in", self.ids), ("state", "in", ("todo", "in_progress"))],
            ["partner_id"], ["__count"]))
        for partner in self:
            partner.key_account_review_count = reviews.get(partner, 0)
            partner.key_account_action_count = actions.get(partner, 0)

    # ------------------------------------------------------------------
    # ORM: engine-only fields, manager-only fields
    # ------------------------------------------------------------------
    def _key_account_engine_write(self, vals):
        """The engine's way to write KEY_ACCOUNT_ENGINE_FIELDS (and auto-tiers)."""
        return self.with_context(key_account_engine_write=_ENGINE_WRITE).write(vals)

    def _check_key_account_fields(self, vals_list):
        if self.env.context.get("key_account_engine_write") is _ENGINE_WRITE or self.env.su:
            return
        for vals in vals_list:
            engine = KEY_ACCOUNT_ENGINE_FIELDS.intersection(vals)
            if not self:
                engine = {name for name in engine if vals[name]}  # empty on create is the default
            if engine:
                raise UserError(self.env._(
                    "%(fields)s are computed by the key-account engine and cannot be written "
                    "directly: recompute them (Compute KPIs now, or compute_for_period / "
                    "compute_key_account_value over RPC).",
                    fields=", ".join(sorted(self._fields[name].string for name in engine
                                            if name in self._fields) or sorted(engine))))
            managed = KEY_ACCOUNT_MANAGER_FIELDS.intersection(vals)
            if self:
                # only real changes count (a form saving the same value is fine)
                managed = {name for name in managed if any(
                    partner[name].id != (vals[name] or False) for partner in self)}
            else:
                managed = {name for name in managed if vals[name]}
            if managed and not self.env.user.has_group(KAM_MANAGER_GROUP):
                raise UserError(self.env._(
                    "Only key-account managers can change the tier, the key account manager or "
                    "the KPI template of an account (%(fields)s).",
                    fields=", ".join(sorted(self._fields[name].string for name in managed))))

    @api.model_create_multi
    def create(self, vals_list):
        self._check_key_account_fields(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._check_key_account_fields([vals])
        return super().write(vals)

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
        return self._key_account_action("key_account_performance.action_key_account_review")

    def action_view_key_account_actions(self):
        return self._key_account_action("key_account_performance.action_key_account_improvement_action")

    def action_view_key_account_values(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_kpi_value")
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"search_default_group_period": 1}
        return action

    def action_compute_key_account_kpis(self):
        """Compute the running and the last closed period for these accounts."""
        company = self.env.company
        today = fields.Date.context_today(self)
        Value = self.env["key.account.kpi.value"]
        for date_from, date_to in (
                kpi_math.last_closed_period(today, company.key_account_period_type),
                kpi_math.period_bounds(today, company.key_account_period_type)):
            Value.compute_for_period(date_from, date_to, self.commercial_partner_id.ids)
        return True

    # ------------------------------------------------------------------
    # Customer value and auto-tiering
    # ------------------------------------------------------------------
    @api.model
    def _key_account_order_stats(self, partner_ids, date_to, company):
        """Per commercial partner: revenue to date, trailing 12 months, order
        count, first and last order date — one grouped statement."""
        start_12m = kpi_math.trailing_12_months(date_to)[0]
        self.env["sale.order"].flush_model(
            ["partner_id", "amount_untaxed", "currency_rate", "date_order", "state", "company_id"])
        rows = self.env.execute_query(SQL("""
            SELECT p.commercial_partner_id,
                   SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1.0)),
                   SUM(CASE WHEN o.date_order >= %(start)s
                            THEN o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1.0)
                            ELSE 0 END),
                   COUNT(*), MIN(o.date_order), MAX(o.date_order),
                   SUM(COALESCE(o.margin, 0) / COALESCE(NULLIF(o.currency_rate, 0), 1.0))
              FROM sale_order o
              JOIN res_partner p ON p.id = o.partner_id
             WHERE o.state = 'sale' AND o.company_id = %(company)s
               AND o.date_order < %(end)s
               AND p.commercial_partner_id IN %(partners)s
          GROUP BY p.commercial_partner_id
        """, start=start_12m, end=date_to + datetime.timedelta(days=1), company=company.id,
            partners=tuple(partner_ids) or (0,)))
        return {row[0]: row[1:] for row in rows}

    @api.model
    def _cron_key_account_customer_value(self):
        for company in self.env["res.company"].sudo().search([]):
            self.sudo().with_company(company)._compute_key_account_customer_value(company)
        return True

    def _compute_key_account_customer_value(self, company=None, today=None):
        """CLV, trailing revenue, RFM and churn risk of key accounts; auto-tiering."""
        company = company or self.env.company
        today = today or fields.Date.context_today(self)
        partners = self or self.search([
            ("is_key_account", "=", True), ("company_id", "in", [company.id, False])])
        candidates = partners
        auto_tiers = self.env["key.account.tier"].search(
            [("auto_tier", "=", True), ("company_id", "in", [company.id, False])])
        if auto_tiers and not self:
            # customers that may earn a tier: anyone with a confirmed order
            candidates |= self.search([
                ("sale_order_ids.state", "=", "sale"), ("is_company", "=", True),
                ("key_account_tier_locked", "=", False)])
        stats = self._key_account_order_stats(candidates.ids, today, company)
        recency = {}
        frequency = {}
        monetary = {}
        for pid, (clv, _rev12, count, _first, last, _margin) in stats.items():
            recency[pid] = -(today - last.date()).days
            frequency[pid] = count
            monetary[pid] = clv or 0.0
        r_scores = kpi_math.quintile_scores(recency)
        f_scores = kpi_math.quintile_scores(frequency)
        m_scores = kpi_math.quintile_scores(monetary)
        tiers_by_rank = auto_tiers.sorted(lambda t: (t.sequence, t.id))
        for partner in candidates:
            data = stats.get(partner.id)
            vals = {}
            if data:
                clv, rev12, count, first, last, margin = data
                years = max((today - first.date()).days / 365.25, 1.0 / 12)
                interval_days = (last - first).days / (count - 1) if count > 1 else 90
                churn_risk = (today - last.date()).days > max(90, 2 * interval_days)
                margin_pct = (margin / clv * 100.0) if clv else None
                lifetime = kpi_math.expected_lifetime_years(50.0 if churn_risk else 10.0)
                vals = {
                    "key_account_clv": clv or 0.0,
                    "key_account_revenue_12m": rev12 or 0.0,
                    "key_account_last_order_date": last.date(),
                    "key_account_churn_risk": churn_risk,
                    "key_account_clv_predictive": kpi_math.predictive_clv(
                        (clv or 0.0) / count, count / years, margin_pct, lifetime) or 0.0,
                    "key_account_rfm_score": "%s%s%s" % (
                        r_scores[partner.id], f_scores[partner.id], m_scores[partner.id]),
                    "key_account_rfm_segment": kpi_math.rfm_segment(
                        r_scores[partner.id], f_scores[partner.id], m_scores[partner.id]),
                }
                if not partner.key_account_tier_locked:
                    for tier in tiers_by_rank:
                        if (tier.auto_min_revenue and rev12 >= tier.auto_min_revenue) or (
                                tier.auto_min_clv and clv >= tier.auto_min_clv):
                            if partner.key_account_tier_id != tier:
                                vals["key_account_tier_id"] = tier.id
                            break
            elif partner.is_key_account:
                vals = {"key_account_churn_risk": True, "key_account_clv": 0.0,
                        "key_account_revenue_12m": 0.0}
            if vals and partner.is_key_account or "key_account_tier_id" in vals:
                partner._key_account_engine_write(vals)
        return True
