"""Statements of the score history (one row per account, company and period)."""

from odoo.tools import SQL

from . import summary

# columns of a history row, in the order the engine builds them
HISTORY_COLUMNS = ("p", "s", "g", "ps", "hp", "tr", "ti", "sg", "u", "tm")


def upsert_history(period, arrays, label, running, now, partner_ids):
    """Insert or update the history rows of a period (``arrays``: {column of
    HISTORY_COLUMNS: array literal}); unchanged rows are left alone. The
    rows changed are recorded in the score-history summary by the same
    statement (their managers' partners locked while read)."""
    company_id, date_from, date_to = period
    return SQL(
        """
        WITH old AS (
            SELECT h.* FROM key_account_score_history h
             WHERE h.partner_id = ANY(%(p)s::int[]) AND h.company_id = %(company)s
               AND h.date_from = %(date_from)s AND h.date_to = %(date_to)s
        ), up AS (
        INSERT INTO key_account_score_history AS h (
            partner_id, score, grade, previous_score, has_previous, trend,
            tier_id, segment_id, user_id, team_id,
            company_id, date_from, date_to, period_label, is_running,
            create_uid, create_date, write_uid, write_date)
        SELECT p, s, g, ps, hp, tr, ti, sg, u, tm,
               %(company)s, %(date_from)s, %(date_to)s, %(label)s, %(running)s,
               NULL, %(now)s, NULL, %(now)s
          FROM unnest(%(p)s::int[], %(s)s::float8[], %(g)s::varchar[], %(ps)s::float8[],
                      %(hp)s::bool[], %(tr)s::float8[], %(ti)s::int[], %(sg)s::int[],
                      %(u)s::int[], %(tm)s::int[])
               AS x(p, s, g, ps, hp, tr, ti, sg, u, tm)
        ON CONFLICT (partner_id, date_from, date_to, company_id) DO UPDATE SET
            score = EXCLUDED.score, grade = EXCLUDED.grade,
            previous_score = EXCLUDED.previous_score, has_previous = EXCLUDED.has_previous,
            trend = EXCLUDED.trend, tier_id = EXCLUDED.tier_id,
            segment_id = EXCLUDED.segment_id, user_id = EXCLUDED.user_id,
            team_id = EXCLUDED.team_id, company_id = EXCLUDED.company_id,
            period_label = EXCLUDED.period_label, is_running = EXCLUDED.is_running,
            write_uid = NULL, write_date = EXCLUDED.write_date
        WHERE (h.score, h.grade, h.previous_score, h.has_previous, h.trend, h.tier_id,
               h.segment_id, h.user_id, h.team_id, h.company_id, h.period_label,
               h.is_running)
              IS DISTINCT FROM
              (EXCLUDED.score, EXCLUDED.grade, EXCLUDED.previous_score,
               EXCLUDED.has_previous, EXCLUDED.trend, EXCLUDED.tier_id,
               EXCLUDED.segment_id, EXCLUDED.user_id, EXCLUDED.team_id,
               EXCLUDED.company_id, EXCLUDED.period_label, EXCLUDED.is_running)
        RETURNING h.*
        )
        %(summary)s
        """,
        summary=summary.insert_changes(summary.REWRITTEN, partner_ids),
        company=company_id,
        date_from=date_from,
        date_to=date_to,
        label=label,
        running=running,
        now=now,
        **arrays,
    )


def delete_history(period, partner_ids):
    """Drop the history rows of these accounts in a period (no score any
    more), and their contribution to the score-history summary."""
    company_id, date_from, date_to = period
    return SQL(
        """
        WITH gone AS (
            DELETE FROM key_account_score_history
             WHERE partner_id = ANY(%s) AND company_id = %s
               AND date_from = %s AND date_to = %s
            RETURNING *
        )
        %s
        """,
        list(partner_ids),
        company_id,
        date_from,
        date_to,
        summary.insert_changes(summary.DELETED),
    )


def refresh_next_history(next_period, partner_ids, scores):
    """The history of the next period compares with these ``scores`` (one
    per partner id, None for no score): its previous score and trend; the
    rows changed recorded in the score-history summary."""
    company_id, next_from, next_to = next_period
    return SQL(
        """
        WITH old AS (
            SELECT h.* FROM key_account_score_history h
             WHERE h.partner_id = ANY(%(p)s::int[]) AND h.company_id = %(company)s
               AND h.date_from = %(next_from)s AND h.date_to = %(next_to)s
        ), up AS (
        UPDATE key_account_score_history h
           SET previous_score = x.s, has_previous = x.s IS NOT NULL,
               trend = CASE WHEN x.s IS NULL THEN 0 ELSE h.score - x.s END
          FROM unnest(%(p)s::int[], %(s)s::float8[]) AS x(id, s)
         WHERE h.partner_id = x.id AND h.company_id = %(company)s
           AND h.date_from = %(next_from)s AND h.date_to = %(next_to)s
           AND (h.previous_score, h.has_previous) IS DISTINCT FROM (x.s, x.s IS NOT NULL)
        RETURNING h.*
        )
        %(summary)s
        """,
        summary=summary.insert_changes(summary.REWRITTEN),
        p=list(partner_ids),
        s=list(scores),
        company=company_id,
        next_from=next_from,
        next_to=next_to,
    )


def refresh_next_partner_trend(next_period, partner_ids):
    """The trend shown on the accounts that show the next period follows
    its history row."""
    company_id, next_from, next_to = next_period
    return SQL(
        """
        UPDATE res_partner p
           SET key_account_trend = COALESCE(p.key_account_trend, '{}'::jsonb)
                   || jsonb_build_object(%(c)s, h.trend)
          FROM key_account_score_history h
         WHERE h.partner_id = p.id AND p.id = ANY(%(p)s) AND h.company_id = %(company)s
           AND h.date_from = %(next_from)s AND h.date_to = %(next_to)s
           AND (p.key_account_score_date->>%(c)s)::date = %(next_to)s
           AND p.key_account_trend->%(c)s IS DISTINCT FROM to_jsonb(h.trend)
        """,
        p=list(partner_ids),
        c=str(company_id),
        company=company_id,
        next_from=next_from,
        next_to=next_to,
    )
