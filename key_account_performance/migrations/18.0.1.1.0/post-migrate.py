"""18.0.1.0.0 -> 18.0.1.1.0: fill the new score history from the stored KPI values.

18.0.1.1.0 adds ``key.account.score.history`` (one row per account and
period), which the engine writes with every computation. After the update the
table is empty, so an upgraded database would show no history for the periods
it already computed. This script scores every stored period once, from the KPI
values already in the database, with the engine's own functions: the same rows
a database that ran 18.0.1.1.0 all along would hold. No value is
recomputed, no partner score changes, no early warning or chatter message is
posted.

18.0.1.1.0 also records who decided a review (``decider_ids``,
``rejected_by_id``): whoever approved or rejected a review keeps read access
to it. For reviews decided before the update, the approver comes from
``approved_by_id`` and the rejecter from the chatter: the author of the last
message that tracked or carries the review's rejection reason.
"""

import logging

from odoo import SUPERUSER_ID, api

from odoo.addons.key_account_performance.engine.run import KpiRun

_logger = logging.getLogger(__name__)


def _fill_deciders(cr):
    cr.execute("""
        INSERT INTO key_account_review_decider_rel (review_id, user_id)
        SELECT id, approved_by_id FROM key_account_review WHERE approved_by_id IS NOT NULL
        ON CONFLICT DO NOTHING
    """)
    approved = cr.rowcount
    # the rejecter: the author of the last message that tracked the review's
    # rejection reason, or that carries it (18.0.1.0.0 posts "Review
    # rejected" with the reason, as the rejecter)
    cr.execute("""
        WITH candidate AS (
            SELECT m.res_id AS review_id, u.id AS user_id, m.id AS message_id
              FROM mail_message m
              JOIN mail_tracking_value t ON t.mail_message_id = m.id
              JOIN ir_model_fields f ON f.id = t.field_id
              JOIN res_users u ON u.partner_id = m.author_id
             WHERE m.model = 'key.account.review'
               AND f.model = 'key.account.review' AND f.name = 'reject_reason'
               AND COALESCE(NULLIF(t.new_value_text, ''), t.new_value_char, '') != ''
            UNION ALL
            SELECT r.id, u.id, m.id
              FROM key_account_review r
              JOIN mail_message m ON m.model = 'key.account.review' AND m.res_id = r.id
              JOIN res_users u ON u.partner_id = m.author_id
             WHERE COALESCE(r.reject_reason, '') != ''
               -- the reason as markupsafe escaped it into the message
               AND strpos(m.body, replace(replace(replace(replace(replace(
                       r.reject_reason, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                       '"', '&#34;'), '''', '&#39;')) > 0
        ), last AS (
            SELECT DISTINCT ON (review_id) review_id, user_id
              FROM candidate
             ORDER BY review_id, message_id DESC, user_id
        ), upd AS (
            UPDATE key_account_review r SET rejected_by_id = last.user_id
              FROM last
             WHERE r.id = last.review_id AND r.rejected_by_id IS NULL
             RETURNING r.id, last.user_id
        )
        INSERT INTO key_account_review_decider_rel (review_id, user_id)
        SELECT id, user_id FROM upd
        ON CONFLICT DO NOTHING
    """)
    _logger.info(
        "key_account_performance: deciders recorded for %s approved and %s rejected reviews",
        approved,
        cr.rowcount,
    )


def migrate(cr, version):
    if not version:
        return
    _fill_deciders(cr)
    env = api.Environment(cr, SUPERUSER_ID, {})
    engine = env["key.account.kpi.engine"]
    cr.execute("""
        SELECT company_id, date_from, date_to, array_agg(DISTINCT partner_id)
          FROM key_account_kpi_value
         GROUP BY company_id, date_from, date_to
         ORDER BY company_id, date_from, date_to
    """)
    periods = cr.fetchall()
    for company_id, date_from, date_to, partner_ids in periods:
        company = env["res.company"].browse(company_id)
        # the engine's run, scored from the values stored: its history only
        # (no gathering, no values written, no account updated, no warning)
        run = KpiRun(engine, company, date_from, date_to, partner_ids)
        if not run.load():
            continue
        run.current = run._stored_scores(date_from, date_to)
        run._score_accounts()
        run.record_history(next_period=False)
    _logger.info(
        "key_account_performance: score history filled for %s periods", len(periods)
    )
