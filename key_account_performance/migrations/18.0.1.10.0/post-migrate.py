"""Since 18.0.1.10.0 the figures the engine and the customer value write on
every account at every computation (score, grade, trend, period end, CLV,
RFM, churn, ...) have no index: Odoo had given each of these
company-dependent columns an index of "is set", which no search of the
addon needs (the accounts are found by their tier), and any index on a column keeps PostgreSQL from updating the
partner's row in place (a HOT update), so that every figure written added
an entry to each of the partner table's indexes. Odoo keeps an index a
field no longer asks for: they are dropped here."""

import logging

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

FIELDS = (
    "key_account_score",
    "key_account_grade",
    "key_account_trend",
    "key_account_score_date",
    "key_account_clv",
    "key_account_clv_predictive",
    "key_account_revenue_12m",
    "key_account_last_order_date",
    "key_account_rfm_score",
    "key_account_rfm_segment",
    "key_account_churn_risk",
    "key_account_buy_probability",
    "key_account_expected_orders",
    "key_account_churn_reason_data",
    "key_account_value_date",
    "key_account_value_horizon",
)


def migrate(cr, version):
    if not version:
        return
    for name in FIELDS:
        cr.execute(
            SQL(
                "DROP INDEX IF EXISTS %s",
                SQL.identifier("res_partner__%s_index" % name),
            )
        )
    _logger.info(
        "key_account_performance: the indexes of the partner's computed figures dropped"
    )
