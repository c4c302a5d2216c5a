"""Second data set for the customer-value model: lifetimes' example_transactions.csv.

Standalone, like ``cdnow_backtest.py`` (same throwaway venv, see its
docstring): 5,000 customers over 2014, one order per line. Each row cuts the
history on a day, predicts the horizon with ``customer_value.predict`` and
scores it on what came after (AUC of "at least one order", total expected
against actual orders). The 273-day rows take the short-history path (91
days of history); the cut day is varied because that path's total moves by
several points with it.

    /root/.cache/key_account_performance/cdnow-venv/bin/python bench/example_backtest.py
"""

import datetime
import importlib.util
import pathlib

import lifetimes.datasets
import numpy as np
from sklearn.metrics import roc_auc_score

MODULE = (
    pathlib.Path(__file__).resolve().parent.parent
    / "key_account_performance"
    / "tools"
    / "customer_value.py"
)
spec = importlib.util.spec_from_file_location("customer_value", MODULE)
cv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cv)

path = pathlib.Path(lifetimes.datasets.__file__).parent / "example_transactions.csv"
rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
day = np.array([datetime.date.fromisoformat(r[0][:10]).toordinal() for r in rows])
ids, customer = np.unique(np.array([int(r[1]) for r in rows]), return_inverse=True)
orders = cv.Orders(customer, day, np.ones(len(day)), n_customers=len(ids))

print("| cut | horizon | customers | actual | AUC | expected | error | method |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for cut_day, horizon in (
    (datetime.date(2014, 3, 31), 273),
    (datetime.date(2014, 4, 1), 273),
    (datetime.date(2014, 4, 2), 273),
    (datetime.date(2014, 4, 1), 91),
    (datetime.date(2014, 7, 1), 91),
    (datetime.date(2014, 7, 1), 182),
    (datetime.date(2014, 9, 30), 91),
):
    cut = cut_day.toordinal()
    result = cv.predict(orders.upto(cut), cut, horizon)
    known = result["known"]
    actual = orders.counts_between(cut, cut + horizon)[known]
    auc = roc_auc_score(actual > 0, result["probability"][known])
    total = result["expected"][known].sum()
    print(
        "| %s | %s d | %s | %s | %.3f | %s | %+.1f%% | %s, window %s d |"
        % (
            cut_day,
            horizon,
            format(int(known.sum()), ","),
            format(int(actual.sum()), ","),
            auc,
            format(round(total), ","),
            100 * (total - actual.sum()) / actual.sum(),
            result["method"],
            result["window"],
        )
    )
