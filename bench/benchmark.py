"""Benchmark of the batched KPI engine (run inside `odoo-bin shell`, see README).

    ./kap bench                  # 2,000 accounts, 100,000 orders (a few minutes)
    ./kap bench --full           # 20,000 accounts, 1,000,000 orders (DESIGN target)

It builds a database of key accounts and confirmed sale orders over 24 months
(cloned in SQL from one ORM-made account and order, so every column is valid),
then times, for one closed quarter and a 10-KPI template:

1. the engine: ``key.account.kpi.value.compute_for_period`` for all accounts
   (gathering, scoring, upserting the values, scoring the accounts);
2. the per-partner ORM loop (the gamification non-batch way: one grouped read
   per partner and KPI), on a sample of accounts, extrapolated to all;
3. the floor: one hand-written SQL GROUP BY computing the same aggregates.

It prints the figures; it asserts nothing (speed targets are not tests).
"""
import datetime
import os
import random
import time

from odoo import Command
from odoo.tools import SQL

from odoo.addons.key_account_performance.tools import kpi_math

N_PARTNERS = int(os.environ.get("KAP_BENCH_PARTNERS", "2000"))
N_ORDERS = int(os.environ.get("KAP_BENCH_ORDERS", "100000"))
LOOP_SAMPLE = int(os.environ.get("KAP_BENCH_LOOP_SAMPLE", "200"))
CODES = ["revenue", "order_count", "revenue_growth", "margin_amount", "gross_margin",
         "active_months", "repeat_purchase_rate", "retention", "churn", "clv"]

env = env  # noqa: F821 - provided by odoo-bin shell
cr = env.cr
today = datetime.date.today()
Q_FROM, Q_TO = kpi_math.last_closed_period(today, "quarter")
START = kpi_math.add_months(Q_TO.replace(day=1), -23)


def log(message):
    print("[bench] %s" % message, flush=True)


def columns(table, exclude):
    cr.execute("""SELECT column_name FROM information_schema.columns
                  WHERE table_name = %s ORDER BY ordinal_position""", [table])
    return [c for (c,) in cr.fetchall() if c not in exclude]


def build():
    tier = env["key.account.tier"].search([("name", "=", "Bench")])
    if tier and env["res.partner"].search_count([("key_account_tier_id", "=", tier.id)]) >= N_PARTNERS:
        log("reusing the bench data already in this database")
        return tier
    log("building %s accounts and %s confirmed orders over 24 months" % (N_PARTNERS, N_ORDERS))
    kpis = env["key.account.kpi"].search([("code", "in", CODES), ("company_id", "=", False)])
    template = env["key.account.kpi.template"].create({
        "name": "Bench template",
        "line_ids": [Command.create({"kpi_id": kpi.id}) for kpi in kpis],
    })
    tier = env["key.account.tier"].create({"name": "Bench", "template_id": template.id})
    product = env["product.product"].create({
        "name": "Bench product", "list_price": 100.0, "standard_price": 60.0, "type": "service"})
    seed = env["res.partner"].create({"name": "Bench seed", "is_company": True,
                                      "key_account_tier_id": tier.id})
    order = env["sale.order"].create({
        "partner_id": seed.id,
        "order_line": [Command.create({"product_id": product.id, "price_unit": 100.0})]})
    order.action_confirm()
    env.flush_all()

    pcols = columns("res_partner", {"id", "name", "complete_name", "commercial_partner_id"})
    cr.execute(SQL("""
        INSERT INTO res_partner (name, complete_name, %(cols)s)
        SELECT 'Bench account ' || g, 'Bench account ' || g, %(cols)s
          FROM res_partner, generate_series(1, %(n)s) g WHERE res_partner.id = %(seed)s
    """, cols=SQL(", ").join(SQL.identifier(c) for c in pcols), n=N_PARTNERS - 1, seed=seed.id))
    cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE key_account_tier_id = %s",
               [tier.id])
    cr.execute("SELECT id FROM res_partner WHERE key_account_tier_id = %s ORDER BY id", [tier.id])
    partner_ids = [r[0] for r in cr.fetchall()]

    ocols = columns("sale_order", {"id", "name", "partner_id", "partner_invoice_id",
                                   "partner_shipping_id", "date_order", "amount_untaxed",
                                   "amount_total", "margin", "margin_percent"})
    span = (Q_TO - START).days + 1
    rng = random.Random(7)
    # each account gets a size: a few large accounts, many small ones
    weights = [rng.paretovariate(1.5) for _ in partner_ids]
    cr.execute("CREATE TEMP TABLE bench_p (idx int, pid int, w float8)")
    cr.execute("INSERT INTO bench_p SELECT i - 1, p, w FROM unnest(%s::int[], %s::float8[]) "
               "WITH ORDINALITY AS x(p, w, i)", [partner_ids, weights])
    cr.execute(SQL("""
        INSERT INTO sale_order (name, partner_id, partner_invoice_id, partner_shipping_id,
                                date_order, amount_untaxed, amount_total, margin, margin_percent,
                                %(cols)s)
        SELECT 'BENCH/' || g, p.pid, p.pid, p.pid,
               %(start)s::timestamp + (random() * %(span)s) * interval '1 day',
               a.amount, a.amount, a.amount * 0.3, 0.3, %(cols_o)s
          FROM generate_series(1, %(n)s) g
          JOIN bench_p p ON p.idx = mod(g::bigint * 7919, %(np)s)
          CROSS JOIN LATERAL (SELECT round((50 + random() * 950 * LEAST(p.w, 20))::numeric, 2)
                                     AS amount) a,
               sale_order o
         WHERE o.id = %(seed)s
    """, cols=SQL(", ").join(SQL.identifier(c) for c in ocols),
        cols_o=SQL(", ").join(SQL.identifier("o", c) for c in ocols),
        start=START, span=span, n=N_ORDERS, np=len(partner_ids), seed=order.id))
    cr.execute("ANALYZE sale_order; ANALYZE res_partner")
    cr.commit()
    env.invalidate_all()
    return tier


def time_engine(partner_ids):
    Value = env["key.account.kpi.value"]
    env.invalidate_all()
    before = cr.sql_log_count
    started = time.perf_counter()
    ids = Value.compute_for_period(Q_FROM, Q_TO, partner_ids)
    env.flush_all()
    elapsed = time.perf_counter() - started
    return elapsed, cr.sql_log_count - before, len(ids)


def time_gather(partner_ids):
    """The engine's data gathering alone (no scoring, no writes)."""
    kpis = env["key.account.kpi"].search([("code", "in", CODES), ("company_id", "=", False)])
    env.invalidate_all()
    started = time.perf_counter()
    memo = {}
    for kpi in kpis:
        kpi._engine_values(partner_ids, Q_FROM, Q_TO, memo, env.company)
    return time.perf_counter() - started


def time_loop(sample_ids):
    """The gamification non-batch way: per partner, grouped reads of each KPI
    source, then each value written through the ORM (search, then write or
    create)."""
    SaleOrder = env["sale.order"]
    Value = env["key.account.kpi.value"]
    kpis = {k.code: k for k in env["key.account.kpi"].search(
        [("code", "in", CODES), ("company_id", "=", False)])}
    prev_from, prev_to = kpi_math.previous_period(Q_FROM, Q_TO)
    started = time.perf_counter()
    for pid in sample_ids:
        base = [("state", "=", "sale"), ("partner_id.commercial_partner_id", "=", pid)]
        period = [("date_order", ">=", Q_FROM), ("date_order", "<", Q_TO + datetime.timedelta(days=1))]
        prev = [("date_order", ">=", prev_from), ("date_order", "<", Q_FROM)]
        revenue, count, margin = SaleOrder._read_group(
            base + period, [], ["amount_untaxed:sum", "__count", "margin:sum"])[0]
        months = len(SaleOrder._read_group(base + period, ["date_order:month"], ["__count"]))
        revenue_prev = SaleOrder._read_group(base + prev, [], ["amount_untaxed:sum"])[0][0]
        clv = SaleOrder._read_group(
            base + [("date_order", "<", Q_TO + datetime.timedelta(days=1))], [], ["amount_untaxed:sum"])[0][0]
        retention = (min(revenue, revenue_prev) * 100.0 / revenue_prev) if revenue_prev else None
        figures = {
            "revenue": revenue, "order_count": count, "margin_amount": margin,
            "active_months": months, "clv": clv,
            "revenue_growth": kpi_math.growth(revenue, revenue_prev),
            "gross_margin": kpi_math.ratio(margin, revenue),
            "repeat_purchase_rate": kpi_math.ratio(months, 3),
            "retention": retention,
            "churn": 100.0 - retention if retention is not None else None,
        }
        for code, value in figures.items():
            if value is None:
                continue
            kpi = kpis[code]
            existing = Value.search([("partner_id", "=", pid), ("kpi_id", "=", kpi.id),
                                     ("date_from", "=", Q_FROM), ("date_to", "=", Q_TO)])
            vals = {"value": value, "target": kpi.target, "threshold": kpi.threshold}
            if existing:
                existing.write(vals)
            else:
                Value.create(dict(vals, partner_id=pid, kpi_id=kpi.id,
                                  date_from=Q_FROM, date_to=Q_TO))
    env.flush_all()
    return time.perf_counter() - started


def time_floor():
    prev_from, _prev_to = kpi_math.previous_period(Q_FROM, Q_TO)
    end = Q_TO + datetime.timedelta(days=1)
    started = time.perf_counter()
    cr.execute("""
        SELECT p.commercial_partner_id,
               SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1))
                   FILTER (WHERE o.date_order >= %(f)s),
               COUNT(*) FILTER (WHERE o.date_order >= %(f)s),
               SUM(o.margin / COALESCE(NULLIF(o.currency_rate, 0), 1))
                   FILTER (WHERE o.date_order >= %(f)s),
               COUNT(DISTINCT date_trunc('month', o.date_order)) FILTER (WHERE o.date_order >= %(f)s),
               SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1))
                   FILTER (WHERE o.date_order >= %(pf)s AND o.date_order < %(f)s),
               SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1))
          FROM sale_order o JOIN res_partner p ON p.id = o.partner_id
         WHERE o.state = 'sale' AND o.date_order < %(e)s
      GROUP BY p.commercial_partner_id
    """, {"f": Q_FROM, "pf": prev_from, "e": end})
    rows = cr.fetchall()
    return time.perf_counter() - started, len(rows)


tier = build()
cr.execute("SELECT id FROM res_partner WHERE key_account_tier_id = %s ORDER BY id", [tier.id])
all_ids = [r[0] for r in cr.fetchall()]
cr.execute("SELECT COUNT(*) FROM sale_order WHERE state = 'sale'")
n_orders = cr.fetchone()[0]
log("period %s..%s, %s accounts, %s confirmed orders, %s KPIs" % (
    Q_FROM, Q_TO, len(all_ids), n_orders, len(CODES)))

time_engine(all_ids[:50])  # warm caches
cr.execute("DELETE FROM key_account_kpi_value WHERE date_from = %s AND date_to = %s", [Q_FROM, Q_TO])
engine_s, engine_queries, n_values = time_engine(all_ids)
engine_again_s, _q, _n = time_engine(all_ids)
gather_s = time_gather(all_ids)
small_s, small_queries, _n = time_engine(all_ids[:100])
cr.execute("DELETE FROM key_account_kpi_value WHERE date_from = %s AND date_to = %s", [Q_FROM, Q_TO])
sample = all_ids[:LOOP_SAMPLE]
loop_sample_s = time_loop(sample)
loop_s = loop_sample_s * len(all_ids) / len(sample)
floor_s, floor_rows = time_floor()
cr.rollback()

print()
print("%-52s %12s" % ("measure", "value"))
print("%-52s %12.2f" % ("engine: compute_for_period, all accounts (s)", engine_s))
print("%-52s %12.2f" % ("engine: same again, values unchanged (s)", engine_again_s))
print("%-52s %12.2f" % ("engine: data gathering only, no writes (s)", gather_s))
print("%-52s %12d" % ("engine: SQL queries, all accounts", engine_queries))
print("%-52s %12d" % ("engine: SQL queries, 100 accounts", small_queries))
print("%-52s %12d" % ("engine: values written", n_values))
print("%-52s %12.2f" % ("per-partner ORM loop, %d accounts (s)" % len(sample), loop_sample_s))
print("%-52s %12.2f" % ("per-partner ORM loop, extrapolated to all (s)", loop_s))
print("%-52s %12.2f" % ("floor: one hand-written GROUP BY (s)", floor_s))
print("%-52s %12.1fx" % ("engine speed-up over the loop (goal >= 50x)", loop_s / engine_s))
print("%-52s %12.1fx" % ("engine / floor, whole computation", engine_s / floor_s))
print("%-52s %12.1fx" % ("engine gathering / floor (goal <= 3x)", gather_s / floor_s))
print("%-52s %12s" % ("target: <= 60 s for 20,000 accounts / 1M orders",
                      "met" if engine_s <= 60 else "NOT met"))
