from odoo import fields, models


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
        # whoever's progress completed it
        self.sudo().key_account_completed_date = (
            fields.Date.context_today(self) if completed else False
        )
        return result
