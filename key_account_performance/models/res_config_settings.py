from odoo import api, fields, models
from odoo.exceptions import AccessError


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    key_account_period_type = fields.Selection(
        related="company_id.key_account_period_type", readonly=False
    )
    key_account_score_drop_step = fields.Float(
        related="company_id.key_account_score_drop_step", readonly=False
    )
    key_account_appraisal_long_term_weight = fields.Float(
        related="company_id.key_account_appraisal_long_term_weight", readonly=False
    )
    key_account_default_template_id = fields.Many2one(
        "key.account.kpi.template",
        string="Default KPI Template",
        compute="_compute_key_account_default_template_id",
        inverse="_inverse_key_account_default_template_id",
        domain="[('company_id', 'in', [company_id, False])]",
        help="Used for key accounts whose tier and account type match no template and whose "
        "tier has no default template.",
    )
    key_account_tier_count = fields.Integer(compute="_compute_key_account_counts")
    key_account_grade_count = fields.Integer(compute="_compute_key_account_counts")
    key_account_template_count = fields.Integer(compute="_compute_key_account_counts")

    @api.depends("company_id")
    def _compute_key_account_default_template_id(self):
        Template = self.env["key.account.kpi.template"]
        for settings in self:
            templates = Template.search(
                [
                    ("is_company_default", "=", True),
                    ("company_id", "in", [settings.company_id.id, False]),
                ]
            )
            own = templates.filtered(lambda t: t.company_id == settings.company_id)
            settings.key_account_default_template_id = (own or templates)[:1]

    def _inverse_key_account_default_template_id(self):
        Template = self.env["key.account.kpi.template"]
        for settings in self:
            chosen = settings.key_account_default_template_id
            # the company's own default wins over a shared one; one default per scope
            scope = [settings.company_id.id] + (
                [False] if chosen and not chosen.company_id else []
            )
            current = Template.search(
                [("is_company_default", "=", True), ("company_id", "in", scope)]
            )
            (current - chosen).write({"is_company_default": False})
            if chosen and not chosen.is_company_default:
                chosen.is_company_default = True

    @api.depends("company_id")
    def _compute_key_account_counts(self):
        domain = [("company_id", "in", [self.env.company.id, False])]
        tiers = self.env["key.account.tier"].search_count(domain)
        grades = self.env["key.account.grade"].search_count(domain)
        templates = self.env["key.account.kpi.template"].search_count(domain)
        for settings in self:
            settings.key_account_tier_count = tiers
            settings.key_account_grade_count = grades
            settings.key_account_template_count = templates

    def action_key_account_set_home(self):
        """Open the Key Accounts app at login for its users who have no home action."""
        if not self.env.su and not self.env.user.has_group(
            "key_account_performance.group_key_account_admin"
        ):
            raise AccessError(
                self.env._(
                    "Only key-account administrators can set the home action of the "
                    "key-account users."
                )
            )
        action = self.env.ref("key_account_performance.action_key_account_partner")
        users = self.env.ref(
            "key_account_performance.group_key_account_user"
        ).users.filtered(lambda user: not user.share and not user.action_id)
        # sudo: settings are for administrators; only the home action is written
        users.sudo().write({"action_id": action.id})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Home action set"),
                "message": self.env._(
                    "%(count)s users now open the Key Accounts app when they log in.",
                    count=len(users),
                ),
                "type": "success",
                "sticky": False,
            },
        }

    # customer value
    key_account_churn_threshold = fields.Float(
        related="company_id.key_account_churn_threshold", readonly=False
    )
    key_account_invoicing = fields.Boolean(
        related="company_id.key_account_invoicing", readonly=False
    )
    key_account_discount_rate = fields.Float(
        related="company_id.key_account_discount_rate", readonly=False
    )
    key_account_value_backtest = fields.Char(
        string="Latest Backtest", compute="_compute_key_account_value_backtest"
    )

    @api.depends("company_id")
    def _compute_key_account_value_backtest(self):
        for settings in self:
            model = self.env["key.account.value.model"].search(
                [("company_id", "=", settings.company_id.id)], limit=1
            )
            if not model:
                settings.key_account_value_backtest = self.env._("No model fitted yet.")
                continue
            settings.key_account_value_backtest = self.env._(
                "Fitted %(fit)s on the history up to %(as_of)s for %(days)s days. Backtest: "
                "the same model fitted on the orders up to %(cutoff)s and checked against "
                "the orders that came after. It told the customers who ordered again from "
                "the others with an AUC of %(auc)s (0.5 is chance, 1 is perfect), and "
                "predicted %(predicted)s orders where %(actual)s came (%(error)s).",
                fit=fields.Datetime.to_string(model.fit_date)[:16],
                as_of=model.as_of,
                days=model.horizon_days,
                cutoff=model.cutoff_date,
                auc=("%.3f" % model.auc) if model.has_auc else "–",
                predicted=round(model.predicted_orders),
                actual=round(model.actual_orders),
                error=("%+.1f %%" % model.error_pct) if model.actual_orders else "–",
            )
