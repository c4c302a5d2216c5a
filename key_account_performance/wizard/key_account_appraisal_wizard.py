from odoo import api, fields, models

from ..tools import kpi_math


class KeyAccountAppraisalRejectWizard(models.TransientModel):
    """Asks the team leader or manager why an appraisal goes back."""

    _name = "key.account.appraisal.reject.wizard"
    _description = "Reject Key Account Appraisal"

    appraisal_id = fields.Many2one("key.account.appraisal", required=True)
    reason = fields.Text(required=True, help="Sent back to the appraised person.")

    def action_reject(self):
        self.ensure_one()
        self.appraisal_id.action_reject(reason=self.reason)
        return {"type": "ir.actions.act_window_close"}


class KeyAccountAppraisalComputeWizard(models.TransientModel):
    """Compute (or refresh) the draft appraisals of a period."""

    _name = "key.account.appraisal.compute.wizard"
    _description = "Compute Key Account Appraisals"

    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)

    @api.model
    def default_get(self, fields_list):
        result = super().default_get(fields_list)
        today = kpi_math.company_today(self.env.company)
        period_type = self.env.company.key_account_period_type or "quarter"
        date_from, date_to = kpi_math.last_closed_period(today, period_type)
        result.setdefault("date_from", date_from)
        result.setdefault("date_to", date_to)
        return result

    def action_compute(self):
        self.ensure_one()
        ids = self.env["key.account.appraisal"].compute_appraisals(
            self.date_from, self.date_to
        )
        return self.env["key.account.appraisal"]._action_for_period(
            self.date_from, self.date_to, ids
        )


class KeyAccountAppraisalDecideWizard(models.TransientModel):
    """The team leader or manager upholds or corrects a disputed appraisal,
    with a note the person reads on the dispute (and, for a correction, on
    the version kept)."""

    _name = "key.account.appraisal.decide.wizard"
    _description = "Decide on a Key Account Appraisal Dispute"

    appraisal_id = fields.Many2one("key.account.appraisal", required=True)
    decision = fields.Selection(
        [("upheld", "Uphold"), ("corrected", "Correct")], required=True
    )
    note = fields.Text(help="Why: shown to the appraised person with the decision.")

    def action_decide(self):
        self.ensure_one()
        if self.decision == "upheld":
            self.appraisal_id.action_uphold(note=self.note)
        else:
            self.appraisal_id.action_correct(note=self.note)
        return {"type": "ir.actions.act_window_close"}
