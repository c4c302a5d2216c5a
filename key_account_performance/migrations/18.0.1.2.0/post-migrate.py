"""18.0.1.1.0 -> 18.0.1.2.0: the KPI value's KAM and tier are read through the account.

``key.account.kpi.value.user_id`` and ``tier_id`` were stored copies of the
account's key account manager and tier (related fields, store=True). They
are no longer stored: a stored copy meant two more foreign keys checked for
every value the engine writes, and every value of an account rewritten when
its KAM or tier changed. Odoo leaves a column behind when a field stops
being stored, with its foreign key: this script drops both columns. The
fields keep their names and meaning (the account's current KAM and tier, as
the stored copies always were); nothing else changes.

The value's own indexes on ``partner_id`` and ``company_id`` go too (the
fields have no index now, and Odoo keeps an index it no longer expects): the
unique index on (partner_id, kpi_id, date_from, date_to) starts with
``partner_id`` and serves the same lookups; values are never looked up by
company alone.

Computed values are written with no user from this version on (create_uid /
write_uid empty, see the model); the values already stored keep theirs.
"""

import logging

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    cr.execute("""
        ALTER TABLE key_account_kpi_value
            DROP COLUMN IF EXISTS user_id,
            DROP COLUMN IF EXISTS tier_id
    """)
    cr.execute("""
        DROP INDEX IF EXISTS key_account_kpi_value__partner_id_index,
                             key_account_kpi_value__company_id_index
    """)
    _logger.info(
        "key_account_kpi_value: dropped the stored KAM and tier copies "
        "and the partner_id and company_id indexes"
    )
