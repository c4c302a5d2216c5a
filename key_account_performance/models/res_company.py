from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    key_account_period_type = fields.Selection(
        [
            ("month", "Monthly"),
            ("quarter", "Quarterly"),
            ("year", "Yearly"),
        ],
        string="Key Account Review Periodicity",
        default="quarter",
        required=True,
    )
    key_account_score_drop_step = fields.Float(
        string="Score Drop Warning Step",
        default=10.0,
        help="An account whose score falls by more than this many points between "
        "two periods triggers an early warning.",
    )

    key_account_appraisal_long_term_weight = fields.Float(
        string="Appraisal Long-Term Weight",
        default=0.3,
        help="Weight (0-1) of the long-term part in a person's appraisal score: "
        "score = (1 - weight) x account score + weight x long-term score.",
    )

    # customer value (compute_key_account_value)
    key_account_churn_threshold = fields.Float(
        string="Churn-Risk Level",
        default=0.5,
        help="An account is at churn risk when its predicted chance of placing no order in the "
        "horizon is above this level (0-1).",
    )
    key_account_invoicing = fields.Boolean(
        string="Customer Value from Invoices",
        default=True,
        help="Historical CLV and trailing 12-month revenue from posted customer invoices net of "
        "refunds. Untick when the company does not invoice in Odoo: confirmed orders are used.",
    )
    key_account_discount_rate = fields.Float(
        string="CLV Discount Rate (%/year)",
        default=10.0,
        help="Yearly rate at which the predictive CLV discounts future margin.",
    )
