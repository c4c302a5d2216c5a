from odoo import fields, models
from odoo.exceptions import AccessError

from .res_partner import KAM_GROUP


class DigestDigest(models.Model):
    """Key-account KPIs of Odoo's periodic digest e-mail, the way Odoo's own
    apps offer theirs (crm's ``digest.py``): a ``kpi_…`` toggle per figure
    and its ``kpi_…_value`` computed for the digest's user and company.

    The digest computes each value with ``with_user(recipient)``: a KAM reads
    the figures of the accounts they see (record rules), a manager those of
    the team. The score, the accounts at risk and the reviews waiting are
    the state at sending time (the same in the digest's three columns); the
    overdue actions count what was overdue at the end of each column's
    timeframe, so the column against its previous timeframe says whether the
    backlog grows.
    """

    _inherit = "digest.digest"

    kpi_key_account_score = fields.Boolean(string="Key Accounts: Average Score")
    kpi_key_account_score_value = fields.Float(
        compute="_compute_kpi_key_account_score_value"
    )
    kpi_key_account_at_risk = fields.Boolean(string="Key Accounts at Risk")
    kpi_key_account_at_risk_value = fields.Integer(
        compute="_compute_kpi_key_account_at_risk_value"
    )
    kpi_key_account_review_to_approve = fields.Boolean(
        string="Key Account Reviews to Approve"
    )
    kpi_key_account_review_to_approve_value = fields.Integer(
        compute="_compute_kpi_key_account_review_to_approve_value"
    )
    kpi_key_account_action_overdue = fields.Boolean(
        string="Overdue Improvement Actions"
    )
    kpi_key_account_action_overdue_value = fields.Integer(
        compute="_compute_kpi_key_account_action_overdue_value"
    )

    def _key_account_check_reader(self):
        if not self.env.user.has_group(KAM_GROUP):
            raise AccessError(
                self.env._("Do not have access, skip this data for user's digest email")
            )

    def _compute_kpi_key_account_score_value(self):
        self._key_account_check_reader()
        # one grouped query for the scored key accounts of the current company
        [(average,)] = self.env["res.partner"]._read_group(
            [("is_key_account", "=", True), ("key_account_grade", "!=", False)],
            aggregates=["key_account_score:avg"],
        )
        for digest in self:
            digest.kpi_key_account_score_value = average or 0.0

    def _compute_kpi_key_account_at_risk_value(self):
        self._key_account_check_reader()
        count = self.env["res.partner"].search_count(
            [("key_account_at_risk", "=", True)]
        )
        for digest in self:
            digest.kpi_key_account_at_risk_value = count

    def _compute_kpi_key_account_review_to_approve_value(self):
        self._key_account_check_reader()
        _start, _end, companies = self._get_kpi_compute_parameters()
        count = self.env["key.account.review"].search_count(
            [("state", "=", "submitted"), ("company_id", "in", companies.ids)]
        )
        for digest in self:
            digest.kpi_key_account_review_to_approve_value = count

    def _compute_kpi_key_account_action_overdue_value(self):
        self._key_account_check_reader()
        _start, end, companies = self._get_kpi_compute_parameters()
        count = self.env["key.account.improvement.action"].search_count(
            [
                ("state", "in", ("todo", "in_progress")),
                ("date_deadline", "<", fields.Date.to_date(end)),
                ("company_id", "in", companies.ids),
            ]
        )
        for digest in self:
            digest.kpi_key_account_action_overdue_value = count

    def _compute_kpis_actions(self, company, user):
        res = super()._compute_kpis_actions(company, user)
        menu = (
            "?menu_id=%s"
            % self.env.ref("key_account_performance.menu_key_account_root").id
        )
        prefix = "key_account_performance."
        res["kpi_key_account_score"] = prefix + "action_key_account_partner" + menu
        res["kpi_key_account_at_risk"] = prefix + "action_key_account_partner" + menu
        res["kpi_key_account_review_to_approve"] = (
            prefix + "action_key_account_review_to_approve" + menu
        )
        res["kpi_key_account_action_overdue"] = (
            prefix + "action_key_account_improvement_action" + menu
        )
        return res
