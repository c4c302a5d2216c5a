from odoo import api, fields, models

from .key_account_member import MEMBER_ROLES


class KeyAccountRoleKpi(models.Model):
    """A KPI that counts in the appraisal of one role, with its weight there.

    A role with no row here (sales, the KAM's role, as shipped) counts every
    KPI of the account's template with the template's weights: the
    appraisal's account score as DESIGN.md defines it. A role with rows
    (after-sales, technical support, as shipped) counts only those KPIs of
    the account, each with the weight given here instead of the template's:
    the account's score for a person in that role is Σ w·s / Σ w over those
    KPIs that have a score (from the approved review's kept lines, else
    from the KPI values); an account with none of them does not count for
    that person.
    """

    _name = "key.account.role.kpi"
    _description = "Key Account Role KPI"
    _order = "role, sequence, id"

    role = fields.Selection(MEMBER_ROLES, required=True, index=True)
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", required=True, ondelete="cascade"
    )
    weight = fields.Float(
        default=1.0,
        help="The KPI's weight in the appraisal of this role (replaces the template's).",
    )
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        help="Empty: every company. A company's own rows for a role replace the shared ones.",
    )

    _sql_constraints = [
        (
            "role_kpi_company_unique",
            "UNIQUE(role, kpi_id, company_id)",
            "A KPI is listed once per role and company.",
        ),
        ("weight_positive", "CHECK(weight > 0)", "A role's KPI weight is positive."),
    ]

    @api.model
    def _weights(self, company):
        """{role: {kpi id: weight}} for ``company``: its own rows for a role,
        else the shared ones; roles without rows are absent (every KPI with
        the template's weights). One query."""
        rows = self.sudo().search_read(
            [("company_id", "in", [company.id, False])],
            ["role", "kpi_id", "weight", "company_id"],
            load=None,
        )
        own = {row["role"] for row in rows if row["company_id"]}
        result = {}
        for row in rows:
            if bool(row["company_id"]) == (row["role"] in own):
                result.setdefault(row["role"], {})[row["kpi_id"]] = row["weight"]
        return result
