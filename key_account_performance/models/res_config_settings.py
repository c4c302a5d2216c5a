from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    key_account_period_type = fields.Selection(
        related="company_id.key_account_period_type", readonly=False)
    key_account_score_drop_step = fields.Float(
        related="company_id.key_account_score_drop_step", readonly=False)
