import io

import xlsxwriter

from odoo import models
from odoo.exceptions import AccessError

from .key_account_appraisal import (
    MANAGER_GROUP,
)


class KeyAccountAppraisal(models.Model):
    """The incentives export: the appraisals as an xlsx workbook."""

    _inherit = "key.account.appraisal"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Incentives export
    # ------------------------------------------------------------------
    def action_export_incentives(self):
        """Key-account managers: the appraisals (the selected ones, else those
        of the list's search: ``active_domain``) as an xlsx workbook, one row
        per appraisal (person, team, period, score, grade, incentive rate,
        accounts, status, variable-pay target, payout), downloaded from an attachment."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only key-account managers export the incentives.")
            )
        appraisals = self or self.search(self.env.context.get("active_domain") or [])
        content = appraisals._incentives_xlsx()
        labels = set(appraisals.mapped("period_label"))
        name = "incentives_%s.xlsx" % (
            labels.pop().replace(" ", "_") if len(labels) == 1 else "appraisals"
        )
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "raw": content,
                "res_model": self._name,
                "mimetype": "application/vnd.openxmlformats-officedocument."
                "spreadsheetml.sheet",
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": "/web/content/%s?download=true" % attachment.id,
            "target": "self",
        }

    def _incentives_header(self):
        _ = self.env._
        return [
            _("Person"),
            _("Sales Team"),
            _("Period"),
            _("Score"),
            _("Grade"),
            _("Incentive Rate (%)"),
            _("Accounts"),
            _("Account Names"),
            _("Status"),
            _("Variable-Pay Target"),
            _("Payout (%)"),
            _("Payout"),
            _("Currency"),
        ]

    def _incentives_rows(self):
        states = dict(self._fields["state"]._description_selection(self.env))
        return [
            [
                appraisal.user_id.name,
                appraisal.team_id.name or "",
                appraisal.period_label or "",
                round(appraisal.score, 2),
                appraisal.grade or "",
                appraisal.incentive_rate,
                appraisal.account_count,
                ", ".join(appraisal.line_ids.partner_id.mapped("display_name")),
                states[appraisal.state],
                appraisal.payout_target,
                round(appraisal.payout_percent, 2),
                appraisal.currency_id.round(appraisal.payout_amount),
                appraisal.currency_id.name or "",
            ]
            for appraisal in self
        ]

    def _incentives_xlsx(self):
        """The workbook's bytes: a header row, then one row per appraisal."""
        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = workbook.add_worksheet(self.env._("Incentives"))
        bold = workbook.add_format({"bold": True})
        header = self._incentives_header()
        sheet.write_row(0, 0, header, bold)
        for row, values in enumerate(self._incentives_rows(), 1):
            sheet.write_row(row, 0, values)
        sheet.set_column(0, 2, 24)
        sheet.set_column(3, 6, 12)
        sheet.set_column(7, 7, 60)
        sheet.set_column(8, 12, 14)
        sheet.freeze_panes(1, 0)
        workbook.close()
        return buffer.getvalue()
