from odoo import fields, models


class KeyAccountKpi(models.Model):
    _inherit = "key.account.kpi"

    training_course_ids = fields.Many2many(
        "slide.channel",
        "key_account_kpi_slide_channel_rel",
        "kpi_id",
        "channel_id",
        string="Training Courses",
        help="eLearning courses that train what this KPI measures: an appraisal proposes "
        "them to a person weak on the KPI, and the next appraisal shows a course "
        "completed next to whether the KPI moved.",
    )
