"""EXPLAIN ANALYZE of the engine's main statements on a bench database.

    ./kap odoo shell -d kap_bench_full --no-http < bench/explain.py

Runs one quarterly computation for all bench accounts while recording its
SQL, rolls it back, then replays the main statements (the shared scan of the
sale orders, the upsert of the values, the score-history upsert, the reads of
the previous period) under ``EXPLAIN (ANALYZE, BUFFERS)``, each rolled back.
The period's values are deleted (and vacuumed) first, so that the plans
are those of a first computation. The output is what bench/README.md shows.
"""

import re

from odoo import sql_db
from odoo.sql_db import Cursor

from odoo.addons.key_account_performance.tools import kpi_math

env = env  # noqa: F821 - provided by odoo-bin shell
cr = env.cr
Q_FROM, Q_TO = kpi_math.last_closed_period(
    __import__("datetime").date.today(), "quarter"
)
PATTERNS = [
    ("shared scan of sale orders", re.compile(r"FROM \"sale_order\"", re.S)),
    (
        "ids of the period's values, before the upsert",
        re.compile(r"SELECT partner_id, kpi_id, id FROM key_account_kpi_value"),
    ),
    ("upsert of the values", re.compile(r"INSERT INTO key_account_kpi_value", re.S)),
    (
        "previous period's values",
        re.compile(r"SELECT partner_id, kpi_id, value, score FROM"),
    ),
    (
        "score history upsert",
        re.compile(r"INSERT INTO key_account_score_history", re.S),
    ),
    (
        "partner scores",
        re.compile(r"UPDATE res_partner p\s+SET key_account_score", re.S),
    ),
]
recorded = {}
original = Cursor.execute


def recording(self, query, params=None, log_exceptions=True):
    text = query.code if hasattr(query, "code") else str(query)
    qparams = query.params if hasattr(query, "code") else params
    for label, pattern in PATTERNS:
        if label not in recorded and pattern.search(text):
            recorded[label] = (text, qparams)
    return original(self, query, params, log_exceptions)


cr.execute(
    "SELECT id FROM res_partner WHERE key_account_tier_id = "
    "(SELECT id FROM key_account_tier WHERE name->>'en_US' = 'Bench') ORDER BY id"
)
ids = [r[0] for r in cr.fetchall()]
# a first computation: the period's values and score history deleted and
# vacuumed away (as the benchmark does), so that the upsert inserts them all
cr.execute(
    "DELETE FROM key_account_kpi_value WHERE date_from = %s AND date_to = %s",
    [Q_FROM, Q_TO],
)
cr.execute(
    "DELETE FROM key_account_score_history WHERE date_from = %s AND date_to = %s",
    [Q_FROM, Q_TO],
)
cr.commit()
with sql_db.db_connect(cr.dbname).cursor() as vacuum_cr:
    vacuum_cr._cnx.autocommit = True
    for table in ("key_account_kpi_value", "key_account_score_history"):
        vacuum_cr.execute("VACUUM (ANALYZE) %s" % table)
Cursor.execute = recording
try:
    env["key.account.kpi.value"].compute_for_period(Q_FROM, Q_TO, ids)
    env.flush_all()
finally:
    Cursor.execute = original
    cr.rollback()

for label, _pattern in PATTERNS:
    if label not in recorded:
        continue
    text, params = recorded[label]
    cr.execute("SAVEPOINT explain")
    cr.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + text, params)
    plan = "\n".join(row[0] for row in cr.fetchall())
    cr.execute("ROLLBACK TO SAVEPOINT explain")
    short = re.sub(
        r"'\{[^']{200,}\}'", "'{…}'", cr.mogrify(text, params).decode()[:3000]
    )
    print(
        "\n### %s (%s accounts)\n\n```sql\n%s\n```\n\n```\n%s\n```"
        % (label, len(ids), short.strip(), plan)
    )
cr.rollback()
