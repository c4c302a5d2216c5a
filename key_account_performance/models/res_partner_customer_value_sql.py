"""Customer value in bulk SQL: the confirmed orders and posted invoices of
the company's customers up to a day, and the company's figures written
for all of them in a few statements."""

import json

import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import customer_figures, customer_value, kpi_math


# one concern of the account per file (see res_partner.py)
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------
    # Customer value: gathering and writing
    # ------------------------------------------------------------------
    @api.model
    def _key_account_value_gather(self, company, as_of):
        """Orders (one row per confirmed order) and money per customer, up to as_of.

        Money (historical CLV, trailing 12 months) comes from posted customer
        invoices net of refunds, untaxed, in company currency; from confirmed
        orders when the company does not invoice in Odoo (setting) or has not
        posted any customer invoice yet.
        """
        self.env["sale.order"].flush_model(
            [
                "partner_id",
                "amount_untaxed",
                "currency_rate",
                "date_order",
                "state",
                "company_id",
                "margin",
            ]
        )
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        tz = kpi_math.company_tz(company)
        rows = self.env.execute_query(
            SQL(
                """
            SELECT p.commercial_partner_id,
                   ((o.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date - DATE '0001-01-01') + 1,
                   (o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1.0))::float8,
                   (COALESCE(o.margin, 0) / COALESCE(NULLIF(o.currency_rate, 0), 1.0))::float8
              FROM sale_order o
              JOIN res_partner p ON p.id = o.partner_id
             WHERE o.state = 'sale' AND o.company_id = %(company)s
               AND (o.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date <= %(as_of)s
        """,
                tz=tz,
                company=company.id,
                as_of=as_of,
            )
        )
        if rows:
            pids, days, amounts, margins = (np.array(col) for col in zip(*rows))
        else:
            pids = days = np.zeros(0, dtype=np.int64)
            amounts = margins = np.zeros(0)
        partner_ids, index = np.unique(pids.astype(np.int64), return_inverse=True)
        orders = customer_value.Orders(
            index, days, amounts, margins, n_customers=len(partner_ids)
        )
        start_12m = kpi_math.trailing_12_months(as_of)[0]
        money = None
        source = "orders"
        if company.key_account_invoicing:
            self.env["account.move"].flush_model(
                [
                    "commercial_partner_id",
                    "amount_untaxed_signed",
                    "state",
                    "move_type",
                    "company_id",
                    "invoice_date",
                ]
            )
            invoiced = self.env.execute_query(
                SQL(
                    """
                SELECT m.commercial_partner_id,
                       SUM(m.amount_untaxed_signed),
                       SUM(CASE WHEN m.invoice_date >= %(start)s THEN m.amount_untaxed_signed ELSE 0 END)
                  FROM account_move m
                 WHERE m.state = 'posted' AND m.move_type IN ('out_invoice', 'out_refund')
                   AND m.company_id = %(company)s AND m.invoice_date <= %(as_of)s
              GROUP BY m.commercial_partner_id
            """,
                    start=start_12m,
                    company=company.id,
                    as_of=as_of,
                )
            )
            if invoiced:
                money = {
                    pid: (float(total or 0.0), float(last12 or 0.0))
                    for pid, total, last12 in invoiced
                }
                source = "invoices"
        if money is None:
            start_day = start_12m.toordinal()
            total = np.bincount(
                orders.customer, weights=orders.amount, minlength=orders.n_customers
            )
            recent = np.bincount(
                orders.customer,
                weights=np.where(orders.day >= start_day, orders.amount, 0.0),
                minlength=orders.n_customers,
            )
            money = {
                int(pid): (float(total[i]), float(recent[i]))
                for i, pid in enumerate(partner_ids)
            }
        return {
            "orders": orders,
            "partner_ids": [int(pid) for pid in partner_ids],
            "money": money,
            "money_source": source,
        }

    @api.model
    def _key_account_value_write(
        self, company, as_of, horizon, data, prediction, only_ids=None
    ):
        """Write the customer value of every customer in a few bulk statements
        (of the customers ``only_ids`` only, when given), as ``company``'s
        figures: the other companies' figures of a shared partner stay."""
        partner_ids = data["partner_ids"]
        money = data["money"]
        columns = customer_figures.customer_figures(
            partner_ids,
            money,
            prediction,
            horizon,
            company.key_account_churn_threshold,
            (company.key_account_discount_rate or 0.0) / 100.0,
        )
        self.env["res.partner"].flush_model()
        company_key = str(company.id)

        def set_company_values(values):
            """``col = col || {company: value}`` for each (column, SQL value)."""
            return SQL(", ").join(
                SQL(
                    "%(col)s = COALESCE(p.%(col)s, '{}'::jsonb) || jsonb_build_object(%(c)s, %(value)s)",
                    col=SQL.identifier(name),
                    c=company_key,
                    value=value,
                )
                for name, value in values.items()
            )

        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET %(set)s
              FROM unnest(%(id)s::int[], %(clv)s::float8[], %(rev12)s::float8[], %(last)s::date[],
                          %(prob)s::float8[], %(exp)s::float8[], %(pclv)s::float8[], %(risk)s::bool[],
                          %(reason)s::varchar[], %(rfm)s::varchar[], %(segment)s::varchar[])
                   AS v(id, clv, rev12, last, prob, exp, pclv, risk, reason, rfm, segment)
             WHERE p.id = v.id
               AND (%(only)s::int[] IS NULL OR p.id = ANY(%(only)s::int[]))
        """,
                set=set_company_values(
                    {
                        "key_account_clv": SQL("v.clv"),
                        "key_account_revenue_12m": SQL("v.rev12"),
                        "key_account_last_order_date": SQL("v.last"),
                        "key_account_buy_probability": SQL("v.prob"),
                        "key_account_expected_orders": SQL("v.exp"),
                        "key_account_clv_predictive": SQL("v.pclv"),
                        "key_account_churn_risk": SQL("v.risk"),
                        "key_account_churn_reason_data": SQL("v.reason"),
                        "key_account_rfm_score": SQL("v.rfm"),
                        "key_account_rfm_segment": SQL("v.segment"),
                        "key_account_value_date": SQL("%s::date", as_of),
                        "key_account_value_horizon": SQL("%s::int", horizon),
                    }
                ),
                only=only_ids,
                **columns,
            )
        )
        # customers without an order up to as_of (yet, or any more): no prediction;
        # a key account without orders is at risk
        with_orders = set(partner_ids)
        invoiced_only = [pid for pid in money if pid not in with_orders]
        self.env.cr.execute(
            SQL(
                """
            WITH inv AS (
                SELECT * FROM unnest(%(inv_ids)s::int[], %(inv_clv)s::float8[], %(inv_rev)s::float8[])
                    AS inv(id, clv, rev12))
            UPDATE res_partner p
               SET %(set)s
              FROM res_partner q
              LEFT JOIN inv ON inv.id = q.id
             WHERE q.id = p.id
               AND p.id = p.commercial_partner_id
               AND (p.company_id = %(company)s OR p.company_id IS NULL)
               AND p.id != ALL(%(ids)s::int[])
               AND ((p.key_account_value_date->>%(c)s) IS NOT NULL OR p.is_key_account
                    OR p.id = ANY(%(inv_ids)s::int[]))
               AND (%(only)s::int[] IS NULL OR p.id = ANY(%(only)s::int[]))
        """,
                set=set_company_values(
                    {
                        "key_account_buy_probability": SQL("0.0"),
                        "key_account_expected_orders": SQL("0.0"),
                        "key_account_clv_predictive": SQL("0.0"),
                        "key_account_last_order_date": SQL("NULL::date"),
                        "key_account_rfm_score": SQL("NULL::varchar"),
                        "key_account_rfm_segment": SQL("NULL::varchar"),
                        "key_account_clv": SQL("COALESCE(inv.clv, 0.0)"),
                        "key_account_revenue_12m": SQL("COALESCE(inv.rev12, 0.0)"),
                        "key_account_churn_risk": SQL(
                            "COALESCE(p.is_key_account, FALSE)"
                        ),
                        "key_account_churn_reason_data": SQL(
                            "CASE WHEN p.is_key_account THEN %s::varchar END",
                            json.dumps(
                                {
                                    "code": "no_order",
                                    "date": fields.Date.to_string(as_of),
                                }
                            ),
                        ),
                        "key_account_value_date": SQL("%s::date", as_of),
                        "key_account_value_horizon": SQL("%s::int", horizon),
                    }
                ),
                only=only_ids,
                company=company.id,
                c=company_key,
                ids=partner_ids,
                inv_ids=invoiced_only,
                inv_clv=[money[pid][0] for pid in invoiced_only],
                inv_rev=[money[pid][1] for pid in invoiced_only],
            )
        )
        self.env["res.partner"].invalidate_model(
            [
                "key_account_clv",
                "key_account_revenue_12m",
                "key_account_last_order_date",
                "key_account_buy_probability",
                "key_account_expected_orders",
                "key_account_clv_predictive",
                "key_account_churn_risk",
                "key_account_churn_reason_data",
                "key_account_churn_reason",
                "key_account_rfm_score",
                "key_account_rfm_segment",
                "key_account_value_date",
                "key_account_value_horizon",
            ]
        )
        if only_ids is not None:
            return len(set(partner_ids) & set(only_ids))
        return len(partner_ids)
