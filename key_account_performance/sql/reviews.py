"""Bulk generation of the reviews of a cycle: the reviews in one statement,
their lines in another, whatever the number of accounts."""

from odoo.tools import SQL

from . import pg_array

# columns of a generated review, in the order of its rows
REVIEW_COLUMNS = ("p", "u", "a", "t", "tv", "pr", "n", "s", "g", "al")
# text columns: passed as lists, quoted by psycopg2
TEXT_COLUMNS = ("n", "g")


def insert_reviews(cycle, company_id, stamp, rows):
    """Insert the draft reviews of a cycle, returning (id, partner_id).

    ``rows``: tuples in the order of REVIEW_COLUMNS (partner, KAM, approver,
    template, template version, previous review, name, score, grade, alert
    count); ``stamp``: (user id, now) of the creation."""
    uid, now = stamp
    columns = list(zip(*rows)) if rows else [[]] * len(REVIEW_COLUMNS)
    arrays = {
        key: list(column) if key in TEXT_COLUMNS else pg_array(column)
        for key, column in zip(REVIEW_COLUMNS, columns)
    }
    return SQL(
        """
        INSERT INTO key_account_review (
            cycle_id, company_id, date_from, date_to, state,
            partner_id, user_id, approver_id, template_id, template_version,
            previous_review_id, name, score, grade, alert_count, partner_name,
            create_uid, create_date, write_uid, write_date)
        SELECT %(cycle)s, %(company)s, %(date_from)s, %(date_to)s, 'draft',
               x.p, x.u, x.a, x.t, x.tv, x.pr, x.n, x.s, x.g, x.al,
               (SELECT complete_name FROM res_partner WHERE id = x.p),
               %(uid)s, %(now)s, %(uid)s, %(now)s
          FROM unnest(%(p)s::int[], %(u)s::int[], %(a)s::int[], %(t)s::int[],
                      %(tv)s::int[], %(pr)s::int[], %(n)s::varchar[],
                      %(s)s::float8[], %(g)s::varchar[], %(al)s::int[])
               AS x(p, u, a, t, tv, pr, n, s, g, al)
        RETURNING id, partner_id
        """,
        cycle=cycle.id,
        company=company_id,
        date_from=cycle.date_from,
        date_to=cycle.date_to,
        uid=uid,
        now=now,
        **arrays,
    )


def insert_review_lines(stamp, columns):
    """Insert review lines; ``columns``: {column: array literal} of review_id,
    partner_id, company_id, date_from, date_to, sequence, kpi_id, is_manual,
    direction, value, has_value, target, threshold, weight, score, status,
    kpi_value_id."""
    uid, now = stamp
    return SQL(
        """
        INSERT INTO key_account_review_line (
            review_id, partner_id, company_id, date_from, date_to,
            sequence, kpi_id, is_manual, direction, value, has_value,
            target, threshold, weight, score, status, kpi_value_id,
            create_uid, create_date, write_uid, write_date)
        SELECT x.*, %(uid)s, %(now)s, %(uid)s, %(now)s
          FROM unnest(%(review_id)s::int[], %(partner_id)s::int[], %(company_id)s::int[],
                      %(date_from)s::date[], %(date_to)s::date[], %(sequence)s::int[],
                      %(kpi_id)s::int[], %(is_manual)s::bool[], %(direction)s::varchar[],
                      %(value)s::float8[], %(has_value)s::bool[], %(target)s::float8[],
                      %(threshold)s::float8[], %(weight)s::float8[], %(score)s::float8[],
                      %(status)s::varchar[], %(kpi_value_id)s::int[]) AS x
        """,
        uid=uid,
        now=now,
        **columns,
    )
