from odoo import fields, models

from odoo.addons.key_account_performance.tools import kpi_math


class SlideChannelPartner(models.Model):
    _inherit = "slide.channel.partner"

    # eLearning keeps whether a course is completed, not when: the appraisal
    # needs the date to tell whether the course was done within its period
    key_account_completed_date = fields.Date(
        string="Completed On",
        readonly=True,
        copy=False,
        help="The day the attendee completed the course (cleared if the course is no "
        "longer completed).",
    )

    def _post_completion_update_hook(self, completed=True):
        result = super()._post_completion_update_hook(completed=completed)
        # sudo: a date the addon records when eLearning completes the course,
        # whoever's progress completed it; the company's day, as every date
        # the appraisal compares with its periods (not the attendee's time
        # zone)
        self.sudo().key_account_completed_date = (
            kpi_math.company_today(self.env.company) if completed else False
        )
        return result
