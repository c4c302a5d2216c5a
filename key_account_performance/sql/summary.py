"""Statements of the score-history summary (``key.account.score.summary``).

The summary holds signed sums of score-history rows grouped by every column
a report can group or filter the history by, plus the account's *current*
key account manager (whom the record rules follow). A change of history
rows is recorded as deltas: the rows' contribution before it (sign -1) and
after it (sign +1); the engine's statements record only the rows they
changed, in the same statement (``insert_changes`` after a WITH clause).
Deltas are only ever inserted, never updated, so concurrent transactions
never write the same summary row; ``compact`` folds a period's rows into
one per group and ``rebuild`` recomputes them from the history itself
(which also repairs any drift).
"""

from odoo.tools import SQL

# the dimensions of the coarse rows: a few rows per manager, tier and
# period, which answer the reports as they open (by tier, period, manager,
# team)
COARSE = (
    "company_id",
    "date_from",
    "date_to",
    "period_label",
    "is_running",
    "tier_id",
    "user_id",
    "team_id",
)
# the history columns the summary groups by (same names on both models):
# the detailed rows add the account type, the grade and whether a previous
# period exists (the coarse rows sum over them, NULL there)
DIMENSIONS = (*COARSE, "segment_id", "grade", "has_previous")
# the history's measures: a count of values and their sum for each
MEASURES = ("score", "previous_score", "trend")
# the summary's own columns besides the dimensions
COUNTS = (
    "row_count",
    *(f"{name}_{kind}" for name in MEASURES for kind in ("count", "sum")),
)
_COLUMNS = SQL(", ").join(
    SQL.identifier(name)
    for name in (*DIMENSIONS, "account_manager_id", "detailed", *COUNTS)
)


def _partners(lock_partners):
    """The accounts' managers: every partner, or these ones locked (FOR
    SHARE) while read, so that a concurrent change of their key account
    manager fails one of the two transactions instead of recording a stale
    manager."""
    if lock_partners is None:
        return SQL("res_partner")
    return SQL(
        "(SELECT id, key_account_manager_id FROM res_partner "
        "WHERE id = ANY(%s) FOR SHARE)",
        list(lock_partners),
    )


def insert_changes(changes, lock_partners=None):
    """Insert the contribution of ``changes`` (an SQL query of history rows,
    ``h.*``, each with a ``sign``: -1 for a row as it was, +1 as it is now),
    grouped: detailed rows (every dimension) and coarse rows (``COARSE``;
    the other dimensions NULL). May follow a WITH clause that defines what
    ``changes`` reads (the statement that changes the history, RETURNING
    its rows)."""
    dimensions = SQL(", ").join(SQL.identifier("h", name) for name in DIMENSIONS)
    coarse = SQL(", ").join(SQL.identifier("h", name) for name in COARSE)
    finer = SQL(", ").join(
        SQL.identifier("h", name) for name in DIMENSIONS if name not in COARSE
    )
    measures = [SQL("SUM(h.sign)")]
    for name in MEASURES:
        column = SQL.identifier("h", name)
        measures += [
            SQL("SUM(h.sign * (%s IS NOT NULL)::int)", column),
            SQL("SUM(h.sign * COALESCE(%s, 0))", column),
        ]
    return SQL(
        """
        INSERT INTO key_account_score_summary (%(columns)s)
        SELECT %(dimensions)s, p.key_account_manager_id,
               GROUPING(%(finer)s) = 0, %(measures)s
          FROM (%(changes)s) h
          JOIN %(partners)s p ON p.id = h.partner_id
         GROUP BY GROUPING SETS (
             (%(dimensions)s, p.key_account_manager_id),
             (%(coarse)s, p.key_account_manager_id))
        """,
        columns=_COLUMNS,
        dimensions=dimensions,
        coarse=coarse,
        finer=finer,
        measures=SQL(", ").join(measures),
        changes=changes,
        partners=_partners(lock_partners),
    )


def add_delta(sign, where):
    """Insert the contribution (times ``sign``: -1 before a change, +1 after
    it) of the history rows ``where`` (an SQL condition on alias h)."""
    return insert_changes(
        SQL(
            "SELECT %s AS sign, h.* FROM key_account_score_history h WHERE %s",
            sign,
            where,
        )
    )


# the changes of a statement ``up`` (RETURNING the history rows it wrote)
# whose rows read before it are ``old``: the old version of each row it
# changed out, the new one in (an inserted row has no old version)
REWRITTEN = SQL(
    "SELECT -1 AS sign, old.* FROM old JOIN up ON up.id = old.id "
    "UNION ALL SELECT 1 AS sign, up.* FROM up"
)
# the rows a statement ``gone`` deleted (RETURNING them)
DELETED = SQL("SELECT -1 AS sign, gone.* FROM gone")


def rows_of_partners(partner_ids):
    """Condition: every history row of these accounts."""
    return SQL("h.partner_id = ANY(%s)", list(partner_ids))


def rows_with_ids(history_ids):
    """Condition: these history rows."""
    return SQL("h.id = ANY(%s)", list(history_ids))


def _period_filter(period, alias=None):
    if period is None:
        return SQL("TRUE")
    company_id, date_from, date_to = period
    return SQL(
        "%s = %s AND %s = %s AND %s = %s",
        SQL.identifier(alias, "company_id") if alias else SQL("company_id"),
        company_id,
        SQL.identifier(alias, "date_from") if alias else SQL("date_from"),
        date_from,
        SQL.identifier(alias, "date_to") if alias else SQL("date_to"),
        date_to,
    )


def compact(period=None):
    """Fold the summary rows of a period (of every period: None) into one
    row per group, dropping the groups whose deltas cancel out."""
    sums = SQL(", ").join(SQL("SUM(%s)", SQL.identifier(name)) for name in COUNTS)
    groups = SQL(", ").join(
        SQL.identifier(name) for name in (*DIMENSIONS, "account_manager_id", "detailed")
    )
    return SQL(
        """
        WITH gone AS (
            DELETE FROM key_account_score_summary WHERE %(filter)s RETURNING *
        )
        INSERT INTO key_account_score_summary (%(columns)s)
        SELECT %(groups)s, %(sums)s FROM gone
         GROUP BY %(groups)s
        HAVING SUM(row_count) <> 0
        """,
        filter=_period_filter(period),
        columns=_COLUMNS,
        groups=groups,
        sums=sums,
    )


def clear(period=None):
    """Drop the summary rows of a period (of every period: None)."""
    return SQL("DELETE FROM key_account_score_summary WHERE %s", _period_filter(period))


def fill(period=None):
    """The summary rows of a period (of every period: None), from the history."""
    return add_delta(1, _period_filter(period, "h"))
