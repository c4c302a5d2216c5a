"""Backtest of the customer-value model on the CDNOW data, against BG/NBD.

Standalone: no Odoo, no database. The addon's model is the pure numpy /
scikit-learn module ``key_account_performance/tools/customer_value.py``,
loaded by file path (its only top-level import is numpy; scikit-learn and
threadpoolctl are imported inside ``predict``), so nothing of Odoo is
imported. The data is ``CDNOW_master.txt`` as shipped in the ``lifetimes``
package (23,570 customers, first purchases January-March 1997, lines up to
1998-06-30); the baseline is ``lifetimes.BetaGeoFitter``. Neither the data
nor the venv belongs in the repository.

Setup (a throwaway venv, outside the repository)::

    python3 -m venv /root/.cache/key_account_performance/cdnow-venv
    /root/.cache/key_account_performance/cdnow-venv/bin/pip install \
        numpy==2.4.6 scipy==1.17.1 scikit-learn==1.9.1 threadpoolctl pandas \
        lifetimes==0.11.3

Run (from the repository root; about a minute on two cores)::

    /root/.cache/key_account_performance/cdnow-venv/bin/python bench/cdnow_backtest.py
    # each CDNOW line an order instead (not the BG/NBD convention; for comparison):
    /root/.cache/key_account_performance/cdnow-venv/bin/python bench/cdnow_backtest.py --per-line

It prints a markdown table. For each cut date and horizon:

* **orders**: CDNOW has several lines per customer and day; a customer-day
  is one order (as in the BG/NBD studies of this data set: Fader, Hardie &
  Lee 2005 count "transactions" per day), its amount the sum of the lines.
  With ``--per-line`` each line is an order; the model itself then reads the
  lines of a day as one purchase occasion and scales its expected occasions
  by each customer's lines per occasion, so only the totals differ;
* **ours**: ``customer_value.predict(orders up to the cut, cut, horizon)``,
  exactly as ``res.partner.compute_key_account_value`` calls it (day numbers
  are ``date.toordinal()``, one row per order), cross-checked against
  ``customer_value.backtest(orders up to cut + horizon, cut + horizon,
  horizon)``, which is what the addon stores as its backtest;
* **BG/NBD**: ``BetaGeoFitter`` fitted on the same orders up to the cut, in
  days: frequency = repeat orders (customer-days after the first), recency
  = last - first order day, T = cut - first order day; expected orders in
  the horizon = ``conditional_expected_number_of_purchases_up_to_time``;
  P(at least one order in the horizon) = P(alive) x (1 - ((alpha + T) /
  (alpha + T + t)) ** (r + x)) (given alive, the rate is Gamma(r + x,
  alpha + T) and no drop-out happens before the next purchase);
* **scores**: AUC of "at least one order in (cut, cut + horizon]"
  (``sklearn.metrics.roc_auc_score``) of each model's probability (and, for
  BG/NBD, of its expected orders as the score), and the total expected
  orders against the actual ones (percent error). Every customer with an
  order up to the cut is scored.

The data ends on 1998-06-30: a horizon that runs past it (1997-12-31 + 182
days ends on 1998-07-01) is scored on the days there are, and flagged.
"""

import datetime
import importlib.util
import os
import pathlib
import platform
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULE_PATH = ROOT / "key_account_performance" / "tools" / "customer_value.py"

# (cut date, horizon in days); the README claims figures for the first two
# and the overshoot of the last two
CASES = (
    (datetime.date(1997, 9, 30), 91),
    (datetime.date(1997, 9, 30), 273),
    (datetime.date(1997, 12, 31), 91),
    (datetime.date(1997, 12, 31), 182),
    (datetime.date(1998, 3, 31), 91),
)


def load_customer_value():
    """The addon's module, by file path: no package, no Odoo."""
    spec = importlib.util.spec_from_file_location("customer_value", MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_cdnow(per_line=False):
    """(customer index, day number, amount) per customer-day of CDNOW_master.txt.

    With ``per_line``, every line of the file is an order instead.
    """
    import lifetimes.datasets

    path = pathlib.Path(lifetimes.datasets.__file__).parent / "CDNOW_master.txt"
    raw = np.loadtxt(path, skiprows=1, dtype=str)
    customer_id = raw[:, 0].astype(np.int64)
    days = np.array(
        [datetime.datetime.strptime(d, "%Y%m%d").date().toordinal() for d in raw[:, 1]],
        dtype=np.int64,
    )
    dollars = raw[:, 3].astype(float)
    _ids, customer = np.unique(customer_id, return_inverse=True)
    if per_line:
        return {
            "path": path,
            "lines": len(raw),
            "n_customers": len(_ids),
            "customer": customer,
            "day": days,
            "amount": dollars,
        }
    # one order per customer and day, its amount the sum of the day's lines
    key = customer.astype(np.int64) * 10**7 + days
    keys, inverse = np.unique(key, return_inverse=True)
    amount = np.bincount(inverse, weights=dollars)
    return {
        "path": path,
        "lines": len(raw),
        "n_customers": len(_ids),
        "customer": keys // 10**7,
        "day": keys % 10**7,
        "amount": amount,
    }


def bgnbd(orders, cut, horizon):
    """BG/NBD fitted on the orders up to ``cut``; (probability, expected, params)."""
    from lifetimes import BetaGeoFitter

    past = orders.upto(cut)
    n = orders.n_customers
    count = np.bincount(past.customer, minlength=n)
    known = count > 0
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, past.customer, past.day)
    np.maximum.at(last, past.customer, past.day)
    x = (count - 1)[known].astype(float)
    t_x = (last - first)[known].astype(float)
    T = (cut - first)[known].astype(float)
    fitter = BetaGeoFitter(penalizer_coef=0.0)
    fitter.fit(x, t_x, T)
    r, alpha = fitter.params_["r"], fitter.params_["alpha"]
    expected = np.asarray(
        fitter.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T)
    )
    alive = np.asarray(fitter.conditional_probability_alive(x, t_x, T))
    probability = alive * (1.0 - ((alpha + T) / (alpha + T + horizon)) ** (r + x))
    return known, probability, expected, dict(fitter.params_)


def pct(predicted, actual):
    return 100.0 * (predicted - actual) / actual


def main():
    from sklearn.metrics import roc_auc_score

    per_line = "--per-line" in sys.argv[1:]
    cv = load_customer_value()
    assert "odoo" not in sys.modules, "customer_value imported Odoo"
    data = load_cdnow(per_line)
    orders = cv.Orders(
        data["customer"], data["day"], data["amount"], n_customers=data["n_customers"]
    )
    print(
        f"CDNOW_master.txt ({data['path']}): {data['lines']} lines, "
        f"{data['n_customers']} customers, {len(orders.day)} orders, "
        f"{datetime.date.fromordinal(int(orders.day.min()))} .. "
        f"{datetime.date.fromordinal(int(orders.day.max()))}",
        file=sys.stderr,
    )
    rows = []
    last_day = int(orders.day.max())
    for cut_date, horizon in CASES:
        cut = cut_date.toordinal()
        end = cut + horizon
        observed = min(end, last_day) - cut
        start = time.perf_counter()
        result = cv.predict(orders.upto(cut), cut, horizon)
        fit_s = time.perf_counter() - start
        known = result["known"]
        actual = orders.counts_between(cut, end)[known]
        bought = actual > 0
        ours_auc = roc_auc_score(bought, result["probability"][known])
        ours_total = result["expected"][known].sum()
        # the addon's stored backtest, as of cut + horizon: the same numbers
        check = cv.backtest(orders.upto(end), end, horizon)
        assert check["cutoff"] == cut and check["n_customers"] == known.sum()
        assert abs(check["auc"] - ours_auc) < 1e-9, (check["auc"], ours_auc)
        assert abs(check["predicted_orders"] - ours_total) < 1e-6 * max(ours_total, 1)
        assert check["actual_orders"] == actual.sum()
        start = time.perf_counter()
        b_known, b_prob, b_exp, params = bgnbd(orders, cut, horizon)
        bg_s = time.perf_counter() - start
        assert (b_known == known).all()
        rows.append(
            {
                "cut": cut_date.isoformat(),
                "horizon": f"{horizon} d"
                + ("" if observed == horizon else f" ({observed} d of data)"),
                "customers": int(known.sum()),
                "buyers": int(bought.sum()),
                "actual": int(actual.sum()),
                "ours_auc": ours_auc,
                "ours_total": ours_total,
                "ours_err": pct(ours_total, actual.sum()),
                "method": f"{result['method']}, window {result['window']} d, "
                f"{result['n_train']} rows",
                "bg_auc": roc_auc_score(bought, b_prob),
                "bg_auc_exp": roc_auc_score(bought, b_exp),
                "bg_total": b_exp.sum(),
                "bg_err": pct(b_exp.sum(), actual.sum()),
                "params": params,
                "fit_s": fit_s,
                "bg_s": bg_s,
            }
        )
        print(
            f"{cut_date} +{horizon} d: ours {fit_s:.1f} s, BG/NBD {bg_s:.1f} s "
            "(r={r:.3f} alpha={alpha:.2f} a={a:.3f} b={b:.3f})".format(**params),
            file=sys.stderr,
        )
    print(
        f"CDNOW backtest, {datetime.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; one order = "
        + ("one line of CDNOW_master.txt\n" if per_line else "one customer-day\n")
    )
    print(
        "| cut | horizon | customers | buyers | actual orders "
        "| ours: AUC | ours: expected | ours: error "
        "| BG/NBD: AUC (P≥1) | BG/NBD: AUC (E[orders]) | BG/NBD: expected | BG/NBD: error "
        "| ours: fit |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['cut']} | {r['horizon']} | {r['customers']:,} | {r['buyers']:,} "
            f"| {r['actual']:,} | {r['ours_auc']:.3f} | {r['ours_total']:,.0f} "
            f"| {r['ours_err']:+.1f}% | {r['bg_auc']:.3f} | {r['bg_auc_exp']:.3f} "
            f"| {r['bg_total']:,.0f} | {r['bg_err']:+.1f}% | {r['method']} |"
        )


if __name__ == "__main__":
    main()
