from odoo import api, fields, models


class KeyAccountAppraisal(models.Model):
    _inherit = "key.account.appraisal"

    training_suggestion_ids = fields.Many2many(
        "key.account.appraisal.development",
        string="Training Suggestions",
        compute="_compute_training_lines",
        help="The weakest KPIs that have eLearning courses mapped to them.",
    )
    training_done_ids = fields.Many2many(
        "key.account.appraisal.development",
        string="Training Completed",
        compute="_compute_training_lines",
        help="Last period's weak KPIs with a mapped course the person completed within "
        "this period, and whether the KPI moved.",
    )

    @api.depends("development_ids", "follow_up_ids")
    def _compute_training_lines(self):
        # one batch over every development line of these appraisals
        (self.development_ids | self.follow_up_ids).mapped("training_completed_ids")
        for appraisal in self:
            appraisal.training_suggestion_ids = appraisal.development_ids.filtered(
                "training_course_ids"
            )
            appraisal.training_done_ids = appraisal.follow_up_ids.filtered(
                "training_completed_ids"
            )
