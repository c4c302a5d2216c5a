"""18.0.1.0.0 -> 18.0.1.1.0: fill the new score history from the stored KPI values.

18.0.1.1.0 adds ``key.account.score.history`` (one row per account and
period), which the engine writes with every computation. After the update the
table is empty, so an upgraded database would show no history for the periods
it already computed. This script scores every stored period once, from the KPI
values already in the database, with the engine's own functions: the same rows
a database that ran 18.0.1.1.0 all along would hold. It reads and writes
nothing else: no value is recomputed, no partner score changes, no early
warning or chatter message is posted.
"""

import logging

from odoo import SUPERUSER_ID, api

from odoo.addons.key_account_performance.tools import kpi_math

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    engine = env["key.account.kpi.engine"]
    templates = env["key.account.kpi.template"]
    cr.execute("""
        SELECT company_id, date_from, date_to, array_agg(DISTINCT partner_id)
          FROM key_account_kpi_value
         GROUP BY company_id, date_from, date_to
         ORDER BY company_id, date_from, date_to
    """)
    periods = cr.fetchall()
    for company_id, date_from, date_to, partner_ids in periods:
        company = env["res.company"].browse(company_id)
        partners = engine._read_partners(partner_ids)
        # the first and last steps of the engine's _run(), without gathering,
        # writing values or early warnings
        template_of = templates._resolve_for_rows(
            {
                pid: (info["template_id"], info["tier_id"], info["segment_id"])
                for pid, info in partners.items()
            },
            company,
        )
        bands = templates.browse(
            list(set(filter(None, template_of.values())))
        )._kpi_bands()
        scores = engine._account_scores(
            engine._stored_scores(partner_ids, date_from, date_to), template_of, bands
        )
        prev_from, prev_to = kpi_math.previous_period(date_from, date_to)
        previous = engine._account_scores(
            engine._stored_scores(partner_ids, prev_from, prev_to), template_of, bands
        )
        engine._write_score_history(
            partners,
            scores,
            previous,
            env["key.account.grade"]._get_bands(company),
            date_from,
            date_to,
            engine._today(company),
            company,
        )
    _logger.info(
        "key_account_performance: score history filled for %s periods", len(periods)
    )
