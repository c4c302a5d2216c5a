from odoo import api, fields, models
from odoo.exceptions import ValidationError


class KeyAccountTier(models.Model):
    _name = "key.account.tier"
    _description = "Key Account Tier"
    _order = "sequence, id"

    # ------------------------------------------------------------------
    # Identity
    # ------------------------------------------------------------------
    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    color = fields.Integer()
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one("res.company", index="btree_not_null")

    # ------------------------------------------------------------------
    # Scoring
    # ------------------------------------------------------------------
    template_id = fields.Many2one(
        "key.account.kpi.template",
        string="Default KPI Template",
        check_company=True,
        help="Template used for accounts of this tier when no template matches "
        "both the tier and the account's segment.",
    )

    appraisal_weight = fields.Float(
        digits=(16, 2),
        help="Weight of this tier's accounts in the appraisal of the people credited on "
        "them (shipped 3 / 2 / 1 from the highest tier down).",
    )

    # ------------------------------------------------------------------
    # Auto-tiering
    # ------------------------------------------------------------------
    auto_tier = fields.Boolean(
        string="Auto-tiering",
        help="Assign this tier automatically to unlocked customers whose trailing "
        "12-month revenue, CLV or predicted CLV reaches the thresholds below.",
    )
    auto_min_revenue = fields.Monetary(
        string="Min. Trailing 12-Month Revenue", currency_field="currency_id"
    )
    auto_min_clv = fields.Monetary(string="Min. CLV", currency_field="currency_id")
    auto_min_clv_predictive = fields.Monetary(
        string="Min. Predicted CLV",
        currency_field="currency_id",
        help="Customers whose predicted CLV (expected orders of the horizon × average "
        "margin per order, discounted) reaches it: a prospect that buys more and more "
        "becomes a key account before its revenue shows it.",
    )
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")

    partner_ids = fields.One2many(
        "res.partner", "key_account_tier_id", string="Accounts"
    )
    partner_count = fields.Integer(compute="_compute_partner_count")

    # ------------------------------------------------------------------
    # ORM: the tiers' active flag and default template are part of the
    # cached template resolution (key.account.kpi.template)
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        tiers = super().create(vals_list)
        self.env["key.account.kpi.template"]._key_account_config_changed()
        return tiers

    def write(self, vals):
        result = super().write(vals)
        if {"active", "template_id"} & set(vals):
            self.env["key.account.kpi.template"]._key_account_config_changed()
        return result

    def unlink(self):
        result = super().unlink()
        self.env["key.account.kpi.template"]._key_account_config_changed()
        return result

    @api.model
    def default_get(self, fields_list):
        # not a field default: a column added by an update stays empty, and
        # the migration gives the shipped tiers their 3 / 2 / 1
        result = super().default_get(fields_list)
        if "appraisal_weight" in fields_list:
            result.setdefault("appraisal_weight", 1.0)
        return result

    @api.constrains("appraisal_weight")
    def _check_appraisal_weight(self):
        for tier in self:
            if tier.appraisal_weight < 0:
                raise ValidationError(
                    self.env._(
                        "Tier %(tier)s: the appraisal weight cannot be negative.",
                        tier=tier.name,
                    )
                )

    @api.depends("company_id")
    @api.depends_context("company")
    def _compute_currency_id(self):
        for tier in self:
            tier.currency_id = (tier.company_id or self.env.company).currency_id

    def _compute_partner_count(self):
        counts = dict(
            self.env["res.partner"]._read_group(
                [("key_account_tier_id", "in", self.ids)],
                ["key_account_tier_id"],
                ["__count"],
            )
        )
        for tier in self:
            tier.partner_count = counts.get(tier, 0)

    def action_view_partners(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_partner"
        )
        action["domain"] = [("key_account_tier_id", "=", self.id)]
        action["context"] = {"default_key_account_tier_id": self.id}
        return action
