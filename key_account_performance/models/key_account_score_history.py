from odoo import api, fields, models

from ..sql import summary as sql_summary


class KeyAccountScoreHistory(models.Model):
    """One account's score, grade and trend for one period.

    Written by the KPI engine in the same batch as the KPI values (one row per
    account and period, replaced on recomputation); read by the score-history
    pivot and graph views and by the cockpit. Never edited by hand, so its
    rows carry no user (create_uid / write_uid empty, as the engine's KPI
    values; write_date tells when a row last changed).
    """

    _name = "key.account.score.history"
    _inherit = ["key.account.engine.record"]
    _description = "Key Account Score History"
    _order = "date_from desc, partner_id"
    _rec_name = "partner_id"

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
    date_from = fields.Date(required=True, readonly=True)
    date_to = fields.Date(required=True, readonly=True)
    period_label = fields.Char(string="Period", readonly=True)
    score = fields.Float(
        aggregator="avg",
        readonly=True,
        help="Weighted score 0-100 of the KPIs of the account's template that have a value.",
    )
    grade = fields.Char(readonly=True)
    previous_score = fields.Float(aggregator="avg", readonly=True)
    has_previous = fields.Boolean(
        string="Has Previous Period",
        readonly=True,
        help="The previous period has a score, so the trend means something.",
    )
    trend = fields.Float(
        aggregator="avg", readonly=True, help="Score minus the previous period's score."
    )
    is_running = fields.Boolean(
        string="Running Period",
        readonly=True,
        help="The period was not over when computed: period-to-date figures.",
    )
    # snapshot of the account's classification when the score was computed
    tier_id = fields.Many2one("key.account.tier", readonly=True, index=True)
    segment_id = fields.Many2one(
        "key.account.segment", string="Account Type", readonly=True
    )
    user_id = fields.Many2one(
        "res.users", string="Key Account Manager", readonly=True, index=True
    )
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)

    _sql_constraints = [
        (
            "partner_period_unique",
            "UNIQUE(partner_id, date_from, date_to, company_id)",
            "There is already a score for this account and period.",
        ),
    ]

    @api.depends("partner_id", "period_label")
    def _compute_display_name(self):
        for row in self:
            row.display_name = (
                f"{row.partner_id.display_name} · {row.period_label or ''}"
            )

    @api.model
    def _read_group(
        self,
        domain,
        groupby=(),
        aggregates=(),
        having=(),
        offset=0,
        limit=None,
        order=None,
    ):
        """Answered from the summed rows (``key.account.score.summary``)
        when they give exactly the same figures under the same record
        rules: the reports' groupings by period, tier, manager, ... read a
        few thousand rows instead of every account's."""
        rows = self.env["key.account.score.summary"]._answer(
            self, domain, groupby, aggregates, having, offset, limit, order
        )
        if rows is not None:
            return rows
        return super()._read_group(
            domain, groupby, aggregates, having, offset, limit, order
        )

    @api.model_create_multi
    def create(self, vals_list):
        """Rows created through the ORM (by the addon's own code: anyone
        else is refused) are added to the summary."""
        records = super().create(vals_list)
        records.flush_recordset()
        self.env["key.account.score.summary"]._add(
            1, sql_summary.rows_with_ids(records.ids)
        )
        return records

    def write(self, vals):
        """Rows changed through the ORM (by the addon's own code) move in the
        summary; in a savepoint, so that a write refused leaves it as it was."""
        if not self:
            return super().write(vals)
        with self.env["key.account.score.summary"]._changing(
            sql_summary.rows_with_ids(self.ids), self
        ):
            return super().write(vals)

    def unlink(self):
        """The rows deleted leave the summary with them (in a savepoint: a
        deletion refused leaves it as it was)."""
        if not self:
            return super().unlink()
        with self.env["key.account.score.summary"]._changing(
            sql_summary.rows_with_ids(self.ids), self, moved=False
        ):
            return super().unlink()
