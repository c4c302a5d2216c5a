from odoo import fields, models, tools
from odoo.tools import SQL


class KeyAccountRetentionCohort(models.Model):
    """Retention by cohort: one row per customer and quarter since its first order.

    Rows = quarter of the first confirmed order (the cohort), columns = quarters
    since (0, 1, 2, ...), measure = share of the cohort that ordered in that
    quarter (average of ``retention``, 100 when the customer ordered, else 0).
    """

    _name = "key.account.retention.cohort"
    _description = "Key Account Retention Cohort"
    _auto = False
    _order = "cohort_date, quarter_offset"

    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    cohort_date = fields.Date(string="Cohort (First Order)", readonly=True)
    period_date = fields.Date(string="Quarter", readonly=True)
    quarter_offset = fields.Integer(
        string="Quarters Since First Order", readonly=True, aggregator=False
    )
    retention = fields.Float(string="Still Buying (%)", readonly=True, aggregator="avg")
    customer_count = fields.Integer(string="Customers", readonly=True, aggregator="sum")
    tier_id = fields.Many2one("key.account.tier", readonly=True)
    segment_id = fields.Many2one(
        "key.account.segment", string="Account Type", readonly=True
    )
    user_id = fields.Many2one("res.users", string="Key Account Manager", readonly=True)
    rfm_segment = fields.Selection(
        selection=lambda self: (
            self.env["res.partner"]._fields["key_account_rfm_segment"].selection
        ),
        string="RFM Segment",
        readonly=True,
    )
    churn_risk = fields.Boolean(readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
            CREATE OR REPLACE VIEW %s AS (
                WITH quarters AS (
                    SELECT p.commercial_partner_id AS partner_id, o.company_id,
                           date_trunc('quarter', o.date_order)::date AS quarter
                      FROM sale_order o
                      JOIN res_partner p ON p.id = o.partner_id
                     WHERE o.state = 'sale'
                  GROUP BY 1, 2, 3
                ), cohorts AS (
                    SELECT partner_id, company_id, MIN(quarter) AS cohort
                      FROM quarters GROUP BY 1, 2
                )
                SELECT row_number() OVER (ORDER BY c.partner_id, c.company_id, s.quarter) AS id,
                       c.partner_id, c.company_id, c.cohort AS cohort_date,
                       s.quarter::date AS period_date,
                       ((EXTRACT(year FROM s.quarter) - EXTRACT(year FROM c.cohort)) * 4
                        + EXTRACT(quarter FROM s.quarter) - EXTRACT(quarter FROM c.cohort))::int
                           AS quarter_offset,
                       CASE WHEN q.partner_id IS NULL THEN 0.0 ELSE 100.0 END AS retention,
                       1 AS customer_count,
                       rp.key_account_tier_id AS tier_id,
                       rp.key_account_segment_id AS segment_id,
                       rp.key_account_manager_id AS user_id,
                       -- the figures of the cohort's company (company-dependent columns)
                       rp.key_account_rfm_segment->>c.company_id::text AS rfm_segment,
                       COALESCE((rp.key_account_churn_risk->>c.company_id::text)::bool, FALSE)
                           AS churn_risk
                  FROM cohorts c
                  CROSS JOIN LATERAL generate_series(
                      c.cohort, date_trunc('quarter', now())::date, interval '3 months') AS s(quarter)
                  LEFT JOIN quarters q ON q.partner_id = c.partner_id AND q.company_id = c.company_id
                                      AND q.quarter = s.quarter::date
                  JOIN res_partner rp ON rp.id = c.partner_id
            )
        """,
                SQL.identifier(self._table),
            )
        )
