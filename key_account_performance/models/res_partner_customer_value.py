"""Customer value of the account, per company: CLV, RFM, churn risk and why,
predictions of the next orders, and auto-tiering. The statistics are in
``tools/customer_value.py`` (predictions) and ``tools/customer_figures.py``
(each customer's figures); gathering the orders and writing the figures
in bulk SQL are in ``res_partner_customer_value_sql.py``."""

import datetime
import json

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..tools import customer_value, kpi_math
from .res_partner import KAM_GROUP, KAM_MANAGER_GROUP


# one concern of the account per file (see res_partner.py)
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Customer value (one figure per company)
    # ------------------------------------------------------------------
    # One figure per company (company-dependent, a jsonb column {company id:
    # value}): a partner shared between companies has each company's own
    # figures, and reading, searching, grouping and sorting use the current
    # company's. Amounts are floats in the company currency (Odoo has no
    # company-dependent Monetary); the views show them with the monetary
    # widget and key_account_currency_id.
    key_account_clv = fields.Float(
        string="Historical CLV",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
        aggregator="sum",
        help="Posted customer invoices net of refunds, untaxed, in company currency (confirmed "
        "orders when the company does not invoice in Odoo).",
    )
    key_account_clv_predictive = fields.Float(
        string="Predictive CLV",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
        aggregator="sum",
        help="Expected orders in the prediction horizon × the account's average margin per "
        "order, discounted at the company's yearly rate.",
    )
    key_account_revenue_12m = fields.Float(
        string="Trailing 12-Month Revenue",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
        aggregator="sum",
    )
    key_account_last_order_date = fields.Date(
        string="Last Order",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
    )
    key_account_rfm_score = fields.Char(
        string="RFM Score",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
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
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
    )
    key_account_churn_risk = fields.Boolean(
        string="Churn Risk",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
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
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
        aggregator="avg",
        digits=(16, 4),
        help="Chance (0-1) of at least one confirmed order in the prediction horizon.",
    )
    key_account_expected_orders = fields.Float(
        string="Expected Orders",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
        aggregator="sum",
        digits=(16, 2),
        help="Expected number of confirmed orders in the prediction horizon.",
    )
    # why an account is at risk: its figures per company (a JSON document of a
    # reason code and its numbers), the sentence in the reader's language
    key_account_churn_reason_data = fields.Char(
        string="Why at Risk (Figures)",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
        # read with the fields of the page that shows the sentence (a read's
        # first query fetches the stored dependencies of the computed fields
        # it reads only when they are in the default prefetch group), not by
        # a second query of the company-dependent group
        prefetch=True,
    )
    key_account_churn_reason = fields.Char(
        string="Why at Risk",
        compute="_compute_key_account_churn_reason",
        groups=KAM_GROUP,
        help="Recency against the account's own rhythm, falling frequency.",
    )
    key_account_value_date = fields.Date(
        string="Value As Of",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
        help="Day the customer value and the predictions were computed for.",
    )
    key_account_value_horizon = fields.Integer(
        string="Prediction Horizon (days)",
        readonly=True,
        company_dependent=True,
        index=False,  # written at every computation (see key_account_score)
        copy=False,
        groups=KAM_GROUP,
    )

    @api.depends_context("company")
    def _compute_key_account_currency_id(self):
        self.key_account_currency_id = self.env.company.currency_id

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
            today = kpi_math.company_today(self.env.company)
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
            else kpi_math.company_today(self.env.company)
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

    @api.depends("key_account_churn_reason_data")
    @api.depends_context("lang", "company")
    def _compute_key_account_churn_reason(self):
        for partner in self:
            partner.key_account_churn_reason = partner._key_account_churn_reason_text(
                partner.key_account_churn_reason_data
            )

    def _key_account_churn_reason_text(self, data):
        """Why an account is at risk, in one short sentence in the user's
        language, from the figures compute_key_account_value stored
        (``customer_figures.churn_reason_data``, as JSON); False without any."""
        try:
            data = json.loads(data) if data else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return False
        if data.get("code") == "text":
            # a text stored before the figures were (one per language)
            texts = data.get("text") or {}
            return (
                texts.get(self.env.lang or "en_US")
                or texts.get("en_US")
                or next(iter(texts.values()), False)
            )
        if data.get("code") == "no_order":
            return self.env._(
                "No confirmed order up to %(date)s.", date=data.get("date")
            )
        parts = []
        recency = data["recency"]
        if data["orders"] <= 1:
            parts.append(self.env._("a single order, %(days)s days ago", days=recency))
        elif data["occasions"] <= 1:
            parts.append(
                self.env._(
                    "%(orders)s orders, all on one day, %(days)s days ago",
                    orders=data["orders"],
                    days=recency,
                )
            )
        elif data.get("mean_gap") and recency > data["mean_gap"]:
            parts.append(
                self.env._(
                    "no order for %(days)s days, %(ratio)s× its usual interval of %(gap)s days",
                    days=recency,
                    ratio=round(recency / data["mean_gap"], 1),
                    gap=int(round(data["mean_gap"])),
                )
            )
        if data["previous"] > data["recent"]:
            parts.append(
                self.env._(
                    "%(recent)s orders in the last %(window)s days against %(previous)s in the %(window)s days before",
                    recent=data["recent"],
                    previous=data["previous"],
                    window=data["window"],
                )
            )
        parts.append(
            self.env._(
                "%(pct)s%% chance of an order in the next %(days)s days",
                pct=data["pct"],
                days=data["horizon"],
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
        written) to unlocked companies and key accounts; one write per tier.

        A partner's tier is one for every company: a company tiers only its
        own partners, and the partners shared between companies (no company
        of their own) only where the database has one company. In a
        multi-company database a shared partner keeps the tier a manager
        gives it; one company's figures never re-tier it for the others."""
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
            SELECT id, key_account_tier_id,
                   COALESCE((key_account_clv_predictive->>%(company)s)::float8, 0)
              FROM res_partner
             WHERE id = ANY(%(ids)s::int[]) AND NOT COALESCE(key_account_tier_locked, FALSE)
               AND (is_company OR is_key_account) AND active
               AND (company_id = %(company_id)s OR (company_id IS NULL AND %(single)s))
        """,
                ids=list(partner_ids),
                company_id=company.id,
                # sudo: how many companies exist, not what they hold
                single=self.env["res.company"].sudo().search_count([]) == 1,
                # the company's own prediction of a shared partner
                company=str(company.id),
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
