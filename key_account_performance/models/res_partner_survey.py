"""Satisfaction of the account: NPS / CSAT survey invitations to its
contacts and the answers they gave."""

from odoo import Command, fields, models
from odoo.exceptions import UserError

from ..tools import kpi_math
from .res_partner import KAM_GROUP


# one concern of the account per file (see res_partner.py)
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Surveys (NPS / CSAT of the account's contacts)
    # ------------------------------------------------------------------
    key_account_survey_input_ids = fields.Many2many(
        "survey.user_input",
        groups=KAM_GROUP,
        string="Latest Survey Answers",
        compute="_compute_key_account_survey",
    )
    key_account_nps_trend = fields.Char(
        groups=KAM_GROUP,
        string="NPS Trend",
        compute="_compute_key_account_survey",
        help="NPS of the account's contacts per quarter, oldest first (last four quarters with answers).",
    )

    def _key_account_survey_contacts(self):
        """The account's contacts that can receive an invitation (with an email)."""
        accounts = self.commercial_partner_id
        contacts = accounts | accounts.child_ids.filtered(
            lambda c: c.active and c.type in ("contact", "invoice", "other")
        )
        return contacts.filtered("email")

    def action_key_account_send_survey(self, survey="nps"):
        """Open Odoo's survey invitation for the account's contacts."""
        survey = self.env.ref(
            "key_account_performance.survey_%s"
            % ("csat" if survey == "csat" else "nps")
        )
        contacts = self._key_account_survey_contacts()
        if not contacts:
            raise UserError(
                self.env._(
                    "None of the contacts of %(account)s has an email address.",
                    account=", ".join(
                        self.commercial_partner_id.mapped("display_name")
                    ),
                )
            )
        action = survey.action_send_survey()
        action["context"] = dict(
            action["context"], default_partner_ids=[Command.set(contacts.ids)]
        )
        return action

    def action_key_account_send_csat(self):
        return self.action_key_account_send_survey("csat")

    def _compute_key_account_survey(self):
        surveys = self.env["survey.survey"].browse(
            [
                survey_id
                for survey_id in (
                    self._key_account_xmlid_to_id("key_account_performance.survey_nps"),
                    self._key_account_xmlid_to_id(
                        "key_account_performance.survey_csat"
                    ),
                )
                if survey_id
            ]
        )
        accounts = self.commercial_partner_id
        inputs = self._key_account_readable(
            "survey.user_input",
            [
                ("survey_id", "in", surveys.ids),
                ("state", "=", "done"),
                ("partner_id.commercial_partner_id", "in", accounts.ids),
            ],
            ["partner_id", "create_date"],
            order="create_date desc, id desc",
        )
        nps_question = self.env["survey.question"].browse(
            self._key_account_xmlid_to_id("key_account_performance.survey_nps_question")
        )
        by_account = {}
        quarters = {}
        for answer in inputs:
            account = answer.partner_id.commercial_partner_id.id
            by_account.setdefault(account, self.env["survey.user_input"])
            if len(by_account[account]) < 5:
                by_account[account] |= answer
            for line in answer.user_input_line_ids:
                if (
                    nps_question
                    and line.question_id == nps_question
                    and not line.skipped
                ):
                    quarter = kpi_math.period_bounds(
                        answer.create_date.date(), "quarter"
                    )[0]
                    counts = quarters.setdefault(account, {}).setdefault(quarter, {})
                    counts[line.value_scale] = counts.get(line.value_scale, 0) + 1
        for partner in self:
            account = partner.commercial_partner_id.id
            partner.key_account_survey_input_ids = by_account.get(
                account, self.env["survey.user_input"]
            )
            trend = sorted(quarters.get(account, {}).items())[-4:]
            partner.key_account_nps_trend = (
                " → ".join(
                    "Q%s %s: %s"
                    % (
                        (quarter.month - 1) // 3 + 1,
                        quarter.year,
                        int(round(kpi_math.nps_from_counts(counts))),
                    )
                    for quarter, counts in trend
                )
                or False
            )
