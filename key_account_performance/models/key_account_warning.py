from odoo import fields, models

from .guard import internal


class KeyAccountWarning(models.Model):
    """One early warning said about one account: what crossed, when, with its
    figures. Written by the engine's early-warning step only (one INSERT per
    computation, a unique key per company, account and warning, so that
    recomputing says nothing twice); read by those who may read the
    account's key-account figures (the same record rules as the KPI values).
    The account's chatter and its to-do activity carry no figures: the
    partner's chatter and activities are open to every internal user."""

    _name = "key.account.warning"
    _inherit = ["key.account.engine.record"]
    _description = "Key Account Early Warning Record"
    _order = "create_date desc, id desc"
    _rec_name = "message"

    partner_id = fields.Many2one(
        "res.partner",
        string="Account",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True
    )
    key = fields.Char(
        required=True,
        readonly=True,
        help="What was said (kind, KPI, period): said once per company and account.",
    )
    kind = fields.Selection(
        [
            ("threshold", "KPI beyond threshold"),
            ("grade", "Grade drop"),
            ("score", "Score fall"),
        ],
        required=True,
        readonly=True,
    )
    kpi_id = fields.Many2one(
        "key.account.kpi", string="KPI", readonly=True, ondelete="set null"
    )
    date_from = fields.Date(string="Period Start", readonly=True)
    date_to = fields.Date(string="Period End", readonly=True)
    message = fields.Text(readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="Key Account Manager",
        readonly=True,
        help="The account's key account manager when the warning was raised.",
    )

    state = fields.Selection(
        [("open", "Open"), ("resolved", "Resolved")],
        string="Status",
        default="open",
        required=True,
        readonly=True,
        index=True,
        help="An open warning is not raised again for the same cause (the same "
        "KPI beyond its threshold, a grade drop, a score fall) on the same "
        "account. It is resolved when the cause recovers in a later "
        "computation, or by hand.",
    )
    resolution = fields.Selection(
        [("recovered", "Recovered"), ("closed", "Closed by hand")],
        readonly=True,
    )
    date_resolved = fields.Date(string="Resolved on", readonly=True)
    resolved_by_id = fields.Many2one("res.users", string="Resolved by", readonly=True)

    _sql_constraints = [
        (
            "company_partner_key_unique",
            "UNIQUE(company_id, partner_id, key)",
            "An early warning is raised once per company and account.",
        ),
    ]

    def action_resolve(self):
        """Close open warnings by hand (the KAM called the customer, the
        cause is understood). Whoever may read a warning may close it: the
        KAM of the account and the managers of the team; the record rules
        decide. The next warning of the same cause is raised again."""
        self.check_access("read")
        todo = self.filtered(lambda warning: warning.state == "open")
        if todo:
            # sudo: the reader was checked above; the status is the addon's field
            internal(todo).sudo().write(
                {
                    "state": "resolved",
                    "resolution": "closed",
                    "date_resolved": fields.Date.context_today(self),
                    "resolved_by_id": self.env.uid,
                }
            )
        return True
