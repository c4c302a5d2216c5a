from odoo import fields, models


class KeyAccountReviewRejectWizard(models.TransientModel):
    """Asks the approver why a review goes back to the KAM."""

    _name = "key.account.review.reject.wizard"
    _description = "Reject Key Account Review"

    review_ids = fields.Many2many("key.account.review", string="Reviews", required=True)
    reason = fields.Text(required=True, help="Sent to the KAM with the review.")

    def action_reject(self):
        self.ensure_one()
        self.review_ids.action_reject(reason=self.reason)
        return {"type": "ir.actions.act_window_close"}
