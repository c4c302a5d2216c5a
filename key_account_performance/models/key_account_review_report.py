"""The review's scorecard (PDF), its e-mail to the customer and the
satisfaction survey sent from a review."""

from odoo import api, models

from ..tools import kpi_math


class KeyAccountReviewReport(models.Model):
    _inherit = "key.account.review"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Report and customer e-mail
    # ------------------------------------------------------------------
    def action_print_scorecard(self):
        return self.env.ref(
            "key_account_performance.action_report_key_account_review"
        ).report_action(self)

    def action_send_to_customer(self):
        """Open the mail composer with the scorecard attached (向客户汇报进展情况)."""
        self.ensure_one()
        template = self.env.ref(
            "key_account_performance.mail_template_key_account_review",
            raise_if_not_found=False,
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Send Scorecard"),
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_template_id": template.id if template else False,
                "default_composition_mode": "comment",
                "default_email_layout_xmlid": "mail.mail_notification_light",
                "force_email": True,
            },
        }

    def action_view_actions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "key_account_performance.action_key_account_improvement_action"
        )
        action["domain"] = [("review_id", "=", self.id)]
        action["context"] = {
            "default_review_id": self.id,
            "default_partner_id": self.partner_id.id,
        }
        return action

    def _scorecard_actions(self):
        """(open actions of the account, actions of the previous review) for
        the scorecard: those its reader may read, with the reader's rights (a
        scorecard never lists an action its reader could not open)."""
        self.ensure_one()
        self.check_access("read")
        Action = self.env["key.account.improvement.action"]
        open_actions = Action.search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("company_id", "=", self.company_id.id),
                ("state", "in", ("todo", "in_progress")),
            ]
        )
        previous = (
            Action.search(
                [
                    ("review_id", "=", self.previous_review_id.id),
                    ("state", "!=", "cancelled"),
                ]
            )
            if self.previous_review_id
            else Action
        )
        return open_actions, previous

    @api.model
    def _format_number(self, value):
        """Scorecard figures: thousands separators, decimals only for small
        numbers, rounded half up (the rule of every surface, kpi_math)."""
        return kpi_math.format_number(value)

    @api.model
    def _format_score(self, score):
        """A score of the scorecard: 72.5 reads 73, as on the screens."""
        return kpi_math.format_score(score)

    def _get_report_base_filename(self):
        self.ensure_one()
        return self.env._("Scorecard %(name)s", name=self.name)

    # ------------------------------------------------------------------
    # Satisfaction survey (customer value)
    # ------------------------------------------------------------------
    def action_send_survey(self):
        """Invite the account's contacts to the shipped NPS survey."""
        self.ensure_one()
        return self.partner_id.action_key_account_send_survey("nps")
