from odoo import fields, models


class KeyAccountPayTarget(models.Model):
    """A person's variable-pay target in a company: the amount paid at 100 %
    of the payout curve. The appraisal pays target × curve(score).

    Key-account managers set it; a person reads their own, a team leader
    those of the team's members (record rules)."""

    _name = "key.account.pay.target"
    _description = "Key Account Variable-Pay Target"
    _order = "company_id, user_id"
    _rec_name = "user_id"

    user_id = fields.Many2one(
        "res.users",
        string="Person",
        required=True,
        index=True,
        ondelete="cascade",
        domain=[("share", "=", False)],
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount = fields.Monetary(
        string="Variable-Pay Target",
        required=True,
        help="The variable pay for the appraisal period at 100 % of the payout curve "
        "(an appraisal score at the target score).",
    )
    note = fields.Char()

    _sql_constraints = [
        (
            "user_company_unique",
            "UNIQUE(user_id, company_id)",
            "A person has one variable-pay target per company.",
        ),
        (
            "amount_positive",
            "CHECK(amount >= 0)",
            "A variable-pay target cannot be negative.",
        ),
    ]
