"""The figures of each customer, from the predictions of
``customer_value.predict`` (no Odoo here): historical and predictive CLV,
RFM score and segment, churn risk and the figures that explain it."""

import datetime
import json

import numpy as np

from . import kpi_math
from .customer_value import discounted_value

# the figures of one customer, in the order the columns are written
COLUMNS = (
    "id",
    "clv",
    "rev12",
    "last",
    "prob",
    "exp",
    "pclv",
    "risk",
    "reason",
    "rfm",
    "segment",
)


def customer_figures(
    partner_ids, money, prediction, horizon, churn_threshold, discount_rate
):
    """{column: [one value per customer of ``partner_ids``]} (see COLUMNS).

    ``money`` is {partner id: (historical CLV, trailing-12-month revenue)},
    ``prediction`` what ``customer_value.predict`` returned for the same
    customers (in the same order), ``churn_threshold`` the chance of no
    order (0-1) above which a customer is at risk, ``discount_rate`` the
    yearly rate (0-1) of the predictive CLV. RFM scores are the quintiles
    of recency, number of orders and historical CLV among these customers;
    ``reason`` is the JSON of :func:`churn_reason_data` for a customer at
    risk, else None.
    """
    stats = prediction["stats"]
    probability = prediction["probability"]
    expected = prediction["expected"]
    window = prediction["window"] or horizon
    clv_of = {pid: values[0] for pid, values in money.items()}
    r_scores = kpi_math.quintile_scores(
        {pid: -float(stats["recency"][i]) for i, pid in enumerate(partner_ids)}
    )
    f_scores = kpi_math.quintile_scores(
        {pid: float(stats["orders"][i]) for i, pid in enumerate(partner_ids)}
    )
    m_scores = kpi_math.quintile_scores(
        {pid: clv_of.get(pid, 0.0) for pid in partner_ids}
    )
    n_orders = np.maximum(stats["orders"], 1.0)
    margin_per_order = (
        np.where(stats["margin"] != 0, stats["margin"], stats["amount"]) / n_orders
    )
    clv_predictive = discounted_value(
        expected, margin_per_order, horizon, discount_rate
    )
    columns = {name: [] for name in COLUMNS}
    for i, pid in enumerate(partner_ids):
        clv, rev12 = money.get(pid, (0.0, 0.0))
        r, f, m = r_scores[pid], f_scores[pid], m_scores[pid]
        risk = bool(1.0 - probability[i] > churn_threshold)
        columns["id"].append(pid)
        columns["clv"].append(clv)
        columns["rev12"].append(rev12)
        columns["last"].append(datetime.date.fromordinal(int(stats["last"][i])))
        columns["prob"].append(round(float(probability[i]), 4))
        columns["exp"].append(round(float(expected[i]), 2))
        columns["pclv"].append(round(float(clv_predictive[i]), 2))
        columns["risk"].append(risk)
        # the reason's figures: the sentence is made in the reader's language
        columns["reason"].append(
            json.dumps(churn_reason_data(stats, i, window, horizon, probability[i]))
            if risk
            else None
        )
        columns["rfm"].append("%s%s%s" % (r, f, m))
        columns["segment"].append(kpi_math.rfm_segment(r, f, m))
    return columns


def churn_reason_data(stats, i, window, horizon, probability):
    """The figures that explain why customer ``i`` is at risk, as plain data
    (stored per company; the sentence is written in the reader's language):
    ``orders``, ``occasions`` (days with an order), ``recency`` (days since
    the last order), ``mean_gap`` (days between orders, None with a single
    order day), ``recent`` / ``previous`` (orders in the last ``window`` days
    and in the ``window`` days before), ``pct`` (chance of an order in the
    horizon, percent) and ``horizon`` (days)."""
    mean_gap = float(stats["mean_gap"][i])
    return {
        "code": "pattern",
        "orders": int(stats["orders"][i]),
        "occasions": int(stats["occasions"][i]),
        "recency": int(stats["recency"][i]),
        "mean_gap": mean_gap if np.isfinite(mean_gap) else None,
        "recent": int(stats["recent"][i]),
        "previous": int(stats["previous"][i]),
        "window": int(window),
        "pct": int(round(float(probability) * 100)),
        "horizon": int(horizon),
    }
