"""Statements of the KPI values and of the accounts' score fields.

The score fields of an account (``key_account_score``, ``_grade``,
``_trend``, ``_score_date``) are company-dependent (one jsonb per column,
keyed by company id): the statements read and write the current company's.
"""

from odoo.tools import SQL

from . import pg_array

# columns of a value row, in the order the engine builds them
VALUE_COLUMNS = ("p", "k", "val", "tgt", "thr", "w", "s", "st", "t", "kc", "ks")


def read_partners(partner_ids, company_id):
    """id, name, manager_id, tier_id, segment_id, template_id, score, grade,
    score_date of these partners, by id."""
    return SQL(
        """
        SELECT id, name, key_account_manager_id AS manager_id,
               key_account_tier_id AS tier_id, key_account_segment_id AS segment_id,
               key_account_template_id AS template_id,
               (key_account_score->>%(company)s)::float8 AS score,
               key_account_grade->>%(company)s AS grade,
               (key_account_score_date->>%(company)s)::date AS score_date
          FROM res_partner WHERE id = ANY(%(ids)s) ORDER BY id
        """,
        company=str(company_id),
        ids=list(partner_ids),
    )


def existing_value_ids(period, partner_ids):
    """(partner_id, kpi_id, id) of the values of these partners in a period
    (``period``: company id, date_from, date_to)."""
    company_id, date_from, date_to = period
    return SQL(
        """
        SELECT partner_id, kpi_id, id FROM key_account_kpi_value
         WHERE partner_id = ANY(%(p)s::int[]) AND company_id = %(company)s
           AND date_from = %(date_from)s AND date_to = %(date_to)s
        """,
        p=pg_array(sorted(set(partner_ids))),
        company=company_id,
        date_from=date_from,
        date_to=date_to,
    )


def upsert_values(period, arrays, now):
    """Insert or update the value rows (``arrays``: {column of VALUE_COLUMNS:
    array literal}) of a period in one statement, returning the ids written.

    Rows left unchanged are not rewritten (no dead tuples, no write_date
    churn). Computed values carry no user (create_uid / write_uid NULL): the
    engine writes them, whoever asked for the run (button, cron, RPC); a
    value corrected by hand through the ORM carries its user. NULL also
    spares PostgreSQL two foreign-key checks per row written."""
    company_id, date_from, date_to = period
    return SQL(
        """
        INSERT INTO key_account_kpi_value AS v (
            partner_id, kpi_id, value, target, threshold, weight, score, status,
            template_id, kpi_code, kpi_sequence,
            date_from, date_to, company_id, is_manual,
            create_uid, create_date, write_uid, write_date)
        SELECT p, k, val, tgt, thr, w, s, st, t, kc, ks,
               %(date_from)s, %(date_to)s, %(company)s, FALSE,
               NULL, %(now)s, NULL, %(now)s
          FROM unnest(%(p)s::int[], %(k)s::int[], %(val)s::float8[],
                      %(tgt)s::float8[], %(thr)s::float8[], %(w)s::float8[],
                      %(s)s::float8[], %(st)s::varchar[], %(t)s::int[],
                      %(kc)s::varchar[], %(ks)s::int[])
               AS x(p, k, val, tgt, thr, w, s, st, t, kc, ks)
        ON CONFLICT (partner_id, kpi_id, date_from, date_to, company_id) DO UPDATE SET
            value = EXCLUDED.value, target = EXCLUDED.target,
            threshold = EXCLUDED.threshold, weight = EXCLUDED.weight,
            score = EXCLUDED.score, status = EXCLUDED.status,
            template_id = EXCLUDED.template_id, kpi_code = EXCLUDED.kpi_code,
            kpi_sequence = EXCLUDED.kpi_sequence, company_id = EXCLUDED.company_id,
            is_manual = FALSE,
            write_uid = NULL, write_date = EXCLUDED.write_date
        WHERE (v.value, v.target, v.threshold, v.weight, v.score, v.status,
               v.template_id, v.kpi_code, v.kpi_sequence, v.company_id, v.is_manual)
              IS DISTINCT FROM
              (EXCLUDED.value, EXCLUDED.target, EXCLUDED.threshold, EXCLUDED.weight,
               EXCLUDED.score, EXCLUDED.status, EXCLUDED.template_id,
               EXCLUDED.kpi_code, EXCLUDED.kpi_sequence, EXCLUDED.company_id, FALSE)
        RETURNING v.id
        """,
        date_from=date_from,
        date_to=date_to,
        company=company_id,
        now=now,
        **arrays,
    )


def delete_values(period, pairs):
    """Drop the values of (kpi id, partner id) ``pairs`` of a period (gone to
    'no data'); one statement even when there are none."""
    company_id, date_from, date_to = period
    kpi_col, partner_col = (list(col) for col in zip(*pairs)) if pairs else ([], [])
    return SQL(
        """
        DELETE FROM key_account_kpi_value v
         USING unnest(%(k)s::int[], %(p)s::int[]) AS x(k, p)
         WHERE v.kpi_id = x.k AND v.partner_id = x.p AND v.company_id = %(company)s
           AND v.date_from = %(date_from)s AND v.date_to = %(date_to)s
        """,
        k=kpi_col,
        p=partner_col,
        company=company_id,
        date_from=date_from,
        date_to=date_to,
    )


def stored_scores(period, partner_ids):
    """(partner_id, kpi_id, value, score) stored for a period."""
    company_id, date_from, date_to = period
    return SQL(
        """
        SELECT partner_id, kpi_id, value, score FROM key_account_kpi_value
         WHERE partner_id = ANY(%s) AND company_id = %s
           AND date_from = %s AND date_to = %s
        """,
        list(partner_ids),
        company_id,
        date_from,
        date_to,
    )


def update_partner_scores(company_id, date_to, rows):
    """Score, grade and trend of the accounts (``rows``: (partner id, score,
    grade, trend)), shown for the period ending ``date_to``; unchanged
    accounts are left alone (no dead tuples on recomputation)."""
    columns = list(zip(*rows))
    return SQL(
        """
        UPDATE res_partner p
           SET key_account_score = COALESCE(p.key_account_score, '{}'::jsonb)
                   || jsonb_build_object(%(c)s, x.s),
               key_account_grade = COALESCE(p.key_account_grade, '{}'::jsonb)
                   || jsonb_build_object(%(c)s, x.g),
               key_account_trend = COALESCE(p.key_account_trend, '{}'::jsonb)
                   || jsonb_build_object(%(c)s, x.t),
               key_account_score_date = COALESCE(p.key_account_score_date, '{}'::jsonb)
                   || jsonb_build_object(%(c)s, %(date_to)s::date),
               key_account_score_stale = FALSE
          FROM unnest(%(p)s::int[], %(s)s::float8[], %(g)s::varchar[], %(t)s::float8[])
               AS x(id, s, g, t)
         WHERE p.id = x.id
           AND ((p.key_account_score->%(c)s, p.key_account_grade->%(c)s,
                 p.key_account_trend->%(c)s, p.key_account_score_date->%(c)s)
                IS DISTINCT FROM (to_jsonb(x.s), to_jsonb(x.g), to_jsonb(x.t),
                                  to_jsonb(%(date_to)s::date))
                OR p.key_account_score_stale)
        """,
        c=str(company_id),
        date_to=date_to,
        p=list(columns[0]),
        s=list(columns[1]),
        g=list(columns[2]),
        t=list(columns[3]),
    )


def record_kpi_success(kpi_ids, now):
    """Last run and success of the KPIs computed."""
    return SQL(
        """
        UPDATE key_account_kpi
           SET last_run = %(now)s, last_success = %(now)s, last_error = NULL
         WHERE id = ANY(%(ids)s)
        """,
        now=now,
        ids=list(kpi_ids),
    )


def record_kpi_errors(failed, now):
    """Last run and error of the KPIs that failed ({kpi id: error})."""
    ids, messages = zip(*failed.items())
    return SQL(
        """
        UPDATE key_account_kpi k SET last_run = %(now)s, last_error = x.e
          FROM unnest(%(ids)s::int[], %(errors)s::text[]) AS x(id, e)
         WHERE k.id = x.id
        """,
        now=now,
        ids=list(ids),
        errors=list(messages),
    )
