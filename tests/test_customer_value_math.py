"""Pure functions of the customer-value model (tools/customer_value.py), no database.

The module is loaded from its file so that importing the addon package (which
imports Odoo) is not needed.
"""

import importlib.util
import pathlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

PATH = (
    pathlib.Path(__file__).resolve().parent.parent
    / "key_account_performance"
    / "tools"
    / "customer_value.py"
)
spec = importlib.util.spec_from_file_location("customer_value", PATH)
cv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cv)


def test_discounted_value_hand_computed():
    # 4 orders x 250 margin over a year at 10%: discounted at the half-year point
    assert abs(cv.discounted_value(4.0, 250.0, 365.25, 0.1) - 1000.0 / 1.1**0.5) < 1e-9
    assert cv.discounted_value(3.0, 100.0, 90, 0.0) == 300.0


def test_features_rhythm_and_cut_off():
    # customer 0 orders on days 100, 110, 120; customer 1 on day 50 and on day 200 (after the cut)
    orders = cv.Orders([0, 0, 0, 1, 1], [100, 110, 120, 50, 200], [10, 10, 10, 5, 5])
    known, X, stats = cv.order_features(orders, 150, 30)
    assert known.tolist() == [True, True]
    assert stats["orders"].tolist() == [3, 1]  # the order after the cut-off is unseen
    assert stats["recency"].tolist() == [30, 100]
    assert stats["mean_gap"][0] == 10
    assert stats["rhythm"][0] == 3.0  # 30 days late against a 10-day rhythm
    assert np.isnan(stats["mean_gap"][1])
    assert np.isfinite(X).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 400)), min_size=1, max_size=80
    ),
    st.integers(1, 200),
)
def test_rhythm_estimate_bounded(rows, horizon):
    customers, days = zip(*rows)
    orders = cv.Orders(customers, days, n_customers=10)
    known, _X, stats = cv.order_features(orders, 400, horizon)
    probability, expected = cv.rhythm_estimate(stats, horizon)
    assert ((probability >= 0) & (probability <= 1)).all()
    assert (expected >= 0).all()


def test_model_separates_stoppers_and_backtest():
    rng = np.random.default_rng(0)
    customers, days = [], []
    for c in range(200):
        gap = 10 + c % 20
        stop = 700 if c % 2 == 0 else 450 + c % 50
        day = int(rng.integers(0, gap))
        while day <= stop:
            customers.append(c)
            days.append(day)
            day += gap + int(rng.integers(-2, 3))
    orders = cv.Orders(customers, days, n_customers=200)
    result = cv.predict(orders, 600, 60)
    assert result["method"] == cv.METHOD_MODEL
    p = result["probability"]
    assert ((p >= 0) & (p <= 1)).all() and (result["expected"] >= 0).all()
    assert p[0::2].min() > p[1::2].max() - 0.5  # stoppers (odd) well below
    assert p[0::2].mean() > 0.8 > 0.2 > p[1::2].mean()
    backtest = cv.backtest(orders, 600, 60)
    assert backtest["auc"] > 0.9
    # the backtest is trained while half the customers were stopping (a regime shift),
    # so its total is only roughly right; it must be stored, not perfect
    assert (
        abs(backtest["predicted_orders"] - backtest["actual_orders"])
        < 0.35 * backtest["actual_orders"]
    )
    # a short history (one horizon is more than the history): a shorter window, stretched
    short = cv.predict(orders, 100, 90)
    assert short["method"] in (cv.METHOD_MODEL_SHORT, cv.METHOD_RHYTHM)


def test_occasions_and_orders_per_occasion_hand_computed():
    # customer 0: two orders on day 10 (5 + 7) and one on day 20; customer 1: one on day 15;
    # customer 2: two on day 30, after the cut-off of 25
    orders = cv.Orders(
        [0, 0, 0, 1, 2, 2],
        [10, 20, 10, 15, 30, 30],
        [5, 3, 7, 4, 1, 1],
        [1, 1, 2, 1, 0, 0],
    )
    occasions = orders.occasions()
    assert occasions.customer.tolist() == [0, 0, 1, 2]
    assert occasions.day.tolist() == [10, 20, 15, 30]
    assert occasions.amount.tolist() == [12, 3, 4, 2]
    assert occasions.margin.tolist() == [3, 1, 1, 0]
    # orders with one order per customer and day are their own occasions
    single = cv.Orders([0, 0, 1], [1, 2, 1])
    assert single.occasions() is single
    # up to day 25: 4 orders on 3 occasions, a ratio of 4/3; one occasion of prior weight
    ratio = cv.orders_per_occasion(orders, occasions, 25)
    assert np.allclose(ratio[:2], [(3 + 4 / 3) / 3, (1 + 4 / 3) / 2])
    assert np.isclose(
        ratio[2], 4 / 3
    )  # nothing up to the cut-off: the population's ratio
    assert cv.orders_per_occasion(single, single, 5).tolist() == [1.0, 1.0]


def _rhythm_history(n_customers=120, seed=3):
    rng = np.random.default_rng(seed)
    customers, days = [], []
    for c in range(n_customers):
        gap = 8 + c % 25
        stop = 700 if c % 3 else 300 + c % 200
        day = int(rng.integers(0, gap))
        while day <= stop:
            customers.append(c)
            days.append(day)
            day += gap + int(rng.integers(-3, 4))
    return np.array(customers), np.array(days)


def test_orders_on_one_day_are_one_occasion():
    """Every order placed twice on its day: the same chance to buy, twice the orders."""
    customers, days = _rhythm_history()
    once = cv.predict(cv.Orders(customers, days), 600, 90)
    twice = cv.predict(
        cv.Orders(np.tile(customers, 2), np.tile(days, 2), n_customers=120), 600, 90
    )
    assert once["method"] == twice["method"] == cv.METHOD_MODEL
    assert np.allclose(twice["probability"], once["probability"])
    assert np.allclose(twice["expected"], 2 * once["expected"])
    assert (twice["stats"]["orders"] == 2 * once["stats"]["orders"]).all()
    assert (twice["stats"]["occasions"] == once["stats"]["orders"]).all()
    assert (twice["stats"]["recent"] == 2 * once["stats"]["recent"]).all()
    # the customer's rhythm is read between order days, not between an order and its twin
    assert np.allclose(
        twice["stats"]["mean_gap"], once["stats"]["mean_gap"], equal_nan=True
    )
    # one customer alone doubles its orders: the probabilities stay, its expected orders
    # move by its own ratio, the others' only through the population's ratio
    extra = customers == 5
    some = cv.predict(
        cv.Orders(
            np.concatenate([customers, customers[extra]]),
            np.concatenate([days, days[extra]]),
            n_customers=120,
        ),
        600,
        90,
    )
    assert np.allclose(some["probability"], once["probability"])
    n5 = (extra & (days <= 600)).sum()
    population = (len(days[days <= 600]) + n5) / len(days[days <= 600])
    expected_ratio = (2 * n5 + population) / (n5 + 1)
    assert np.isclose(some["expected"][5], once["expected"][5] * expected_ratio)
    # another customer keeps one order a day: shrunk by one occasion towards the population
    n6 = ((customers == 6) & (days <= 600)).sum()
    assert np.isclose(
        some["expected"][6], once["expected"][6] * (n6 + population) / (n6 + 1)
    )
