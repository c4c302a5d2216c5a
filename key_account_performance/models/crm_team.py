from odoo import fields, models


class CrmTeam(models.Model):
    _inherit = "crm.team"

    key_account_shared = fields.Boolean(
        string="Members Share Key Accounts",
        help="The members of this team see each other's key accounts: scores, KPI values, "
        "history, reviews, improvement actions and early warnings (read only). The team "
        "leader sees them in any case; only an account's own KAM fills its reviews.",
    )
