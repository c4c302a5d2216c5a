"""Since 18.0.1.10.0 the figures the engine and the customer value write on
every account at every computation (score, grade, trend, period end, CLV,
RFM, churn, ...) have no index: Odoo had given each of these
company-dependent columns an index of "is set", which no search of the
addon needs (the accounts are found by their tier), and any index on a
column keeps PostgreSQL from updating the partner's row in place (a HOT
update), so that every figure written added an entry to each of the
partner table's indexes. Odoo keeps an index a field no longer asks for:
the ones of the addon's company-dependent fields without an index are
dropped here."""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import make_index_name

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    Partner = api.Environment(cr, SUPERUSER_ID, {})["res.partner"]
    names = [
        name
        for name, field in Partner._fields.items()
        if name.startswith("key_account_")
        and field.company_dependent
        and field.store
        and not field.index
    ]
    for name in names:
        cr.execute(
            SQL(
                "DROP INDEX IF EXISTS %s",
                SQL.identifier(make_index_name(Partner._table, name)),
            )
        )
    _logger.info(
        "key_account_performance: the indexes of the partner's figures %s dropped",
        ", ".join(names),
    )
