from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    key_account_period_type = fields.Selection([
        ("month", "Monthly"),
        ("quarter", "Quarterly"),
        ("year", "Yearly"),
    ], string="Key Account Review Periodicity", default="quarter", required=True)
    key_account_score_drop_step = fields.Float(
        string="Score Drop Warning Step", default=10.0,
        help="An account whose score falls by more than this many points between "
        "two periods triggers an early warning.")
