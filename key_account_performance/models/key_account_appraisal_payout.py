from odoo import api, fields, models

from ..tools import payout_curve

PAYOUT_FIELDS = frozenset({"payout_target", "payout_percent", "payout_amount"})


class KeyAccountAppraisal(models.Model):
    """The payout of an appraisal: the person's variable-pay target
    (``key.account.pay.target``) × the company's payout curve at the
    appraisal's score (tools/payout_curve.py), worked out with the score by
    ``compute_appraisals`` and frozen with it."""

    _inherit = "key.account.appraisal"  # pylint: disable=consider-merging-classes-inherited

    currency_id = fields.Many2one(related="company_id.currency_id")
    payout_target = fields.Monetary(
        string="Variable-Pay Target",
        readonly=True,
        help="The person's variable-pay target when the appraisal was computed "
        "(Appraisals > Variable-Pay Targets).",
    )
    payout_percent = fields.Float(
        string="Payout (%)",
        readonly=True,
        aggregator="avg",
        help="The company's payout curve at the score (Settings > Appraisal payout).",
    )
    payout_amount = fields.Monetary(
        string="Payout",
        readonly=True,
        help="Variable-pay target × payout (%).",
    )

    def _derived_fields(self):
        return super()._derived_fields() | PAYOUT_FIELDS

    @api.model
    def _payout_facts(self, company, user_ids):
        """What the payout of the people ``user_ids`` needs: the company's
        curve and {user id: variable-pay target} (one query)."""
        rows = (
            self.env["key.account.pay.target"]
            .sudo()
            .search_read(
                [("company_id", "=", company.id), ("user_id", "in", list(user_ids))],
                ["user_id", "amount"],
                load=None,
            )
        )
        return {
            "curve": company._key_account_payout_curve(),
            "pay_targets": {row["user_id"]: row["amount"] for row in rows},
        }

    @api.model
    def _payout_values(self, user_id, vals, facts):
        """The payout fields of one person's appraisal values ``vals``."""
        target = facts["pay_targets"].get(user_id, 0.0)
        percent = (
            payout_curve.payout_percent(vals["score"], facts["curve"])
            if vals.get("grade")
            else 0.0
        )
        return {
            "payout_target": target,
            "payout_percent": percent,
            "payout_amount": target * percent / 100.0,
        }
