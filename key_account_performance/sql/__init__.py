"""The addon's raw SQL, one builder per statement kind.

Each builder returns an ``odoo.tools.SQL`` (every value a parameter, every
name an identifier) and runs nothing: the caller flushes what the statement
reads, executes it and invalidates what it wrote. Statements are written in
SQL where one statement does the work of a loop of ORM calls (a value per
account and KPI, a history row per account), so that the number of queries
of a computation does not grow with the number of accounts.

- ``aggregate``: the aggregate of a KPI's source records by commercial
  partner, through a field path (one grouped statement, shared by the KPIs
  of one source);
- ``values``: the accounts read by the engine, the upsert of KPI values, the
  scores stored for a period, the accounts' score fields, the KPIs' last run;
- ``history``: the score history of a period and the next period's trend;
- ``locks``: the advisory locks of a computation;
- ``reviews``: bulk generation of the reviews of a cycle;
- ``templates``: the templates an account can resolve to, with their active
  tiers and account types (the account page resolves its template on every
  read).
"""

import json


def pg_array(values):
    """PostgreSQL array literal of numbers / booleans / identifiers / None.

    Array literals ('{1,2,3}') parse far faster than ARRAY[...] of 100,000s
    of parameters, and JSON's encoder (in C) writes them: its numbers, null,
    true / false and double-quoted strings (identifiers and codes, no control
    characters) are what PostgreSQL's array input reads."""
    return "{%s}" % json.dumps(list(values), ensure_ascii=False)[1:-1]


def columns_of(rows, names):
    """{name: array literal} of the columns of ``rows`` (tuples in the order
    of ``names``); empty arrays when there are no rows."""
    columns = list(zip(*rows)) if rows else [[]] * len(names)
    return dict(zip(names, map(pg_array, columns)))
