"""Pure arithmetic of the forward-looking customer value (no Odoo here).

The ORM layer hands over one flat list of confirmed orders (customer index,
day number, amount, margin); everything else is numpy / scikit-learn:

* :func:`order_features` — recency, frequency, monetary value, tenure, the
  customer's own rhythm (recency divided by the customer's mean gap between
  orders), regularity and trend, as seen on a cut-off day;
* :func:`predict` — fits a gradient-boosting classifier ("at least one order
  in the horizon") and a Poisson gradient-boosting regressor ("how many
  orders") on the database's own history, cut one horizon (or a shorter
  window when the history is short) before ``as_of``, and applies them on
  ``as_of``; with too little history it falls back to :func:`rhythm_estimate`;
* :func:`backtest` — the same fit with the history cut one horizon earlier,
  scored on what happened after the cut (AUC, predicted vs actual orders);
* :func:`discounted_value` — predictive CLV over the horizon, discounted.

Purchase occasions (:meth:`Orders.occasions`, :func:`orders_per_occasion`)
count a customer's days with an order, not its orders; a short history is
carried to the horizon by each customer's own BG/NBD decay
(:func:`bgnbd_fit`); training cuts roll half a window apart
(:func:`_training_cuts`) and must see ``MIN_KNOWN_SHARE`` of today's
customers. Why, what was tried instead and the measurements:
``docs/customer-value-model.md``.
"""

import numpy as np

MIN_CUSTOMERS = 50  # fewer customers with history than this: no model
MIN_WINDOW_DAYS = 14  # shortest training window tried on a short history
MAX_TRAINING_WINDOWS = 3  # cut-offs stacked into the training set
MIN_KNOWN_SHARE = 0.5  # a training cut sees at least this share of today's customers
FEATURE_NAMES = (
    "orders",
    "recency",
    "tenure",
    "mean_gap",
    "rhythm",
    "repeat_rate",
    "orders_last_window",
    "orders_previous_window",
    "trend",
    "log_mean_amount",
    "gap_cv",
    "last_gap_ratio",
)

METHOD_MODEL = "gradient_boosting"
METHOD_MODEL_SHORT = "gradient_boosting_short"
METHOD_RHYTHM = "rhythm"


class Orders:
    """Confirmed orders as parallel numpy arrays, sorted by customer then day.

    ``customer``: index 0..n_customers-1; ``day``: integer day number (e.g.
    ``date.toordinal()``); ``amount``/``margin``: company currency.
    """

    def __init__(self, customer, day, amount=None, margin=None, n_customers=None):
        customer = np.asarray(customer, dtype=np.int64)
        day = np.asarray(day, dtype=np.int64)
        amount = (
            np.zeros(len(day)) if amount is None else np.asarray(amount, dtype=float)
        )
        margin = (
            np.zeros(len(day)) if margin is None else np.asarray(margin, dtype=float)
        )
        order = np.lexsort((day, customer))
        self.customer = customer[order]
        self.day = day[order]
        self.amount = amount[order]
        self.margin = margin[order]
        self.n_customers = int(
            n_customers
            if n_customers is not None
            else (customer.max() + 1 if len(customer) else 0)
        )

    def upto(self, cutoff):
        """Orders placed on or before ``cutoff`` (a day number)."""
        keep = self.day <= cutoff
        sub = Orders.__new__(Orders)
        sub.customer, sub.day = self.customer[keep], self.day[keep]
        sub.amount, sub.margin = self.amount[keep], self.margin[keep]
        sub.n_customers = self.n_customers
        return sub

    def occasions(self):
        """The purchase occasions: one row per customer and day with an order,
        its amount and margin the sums of that day's orders."""
        new_day = np.ones(len(self.day), dtype=bool)
        new_day[1:] = (self.customer[1:] != self.customer[:-1]) | (
            self.day[1:] != self.day[:-1]
        )
        if new_day.all():
            return self
        group = np.cumsum(new_day) - 1
        sub = Orders.__new__(Orders)
        sub.customer, sub.day = self.customer[new_day], self.day[new_day]
        sub.amount = np.bincount(group, weights=self.amount)
        sub.margin = np.bincount(group, weights=self.margin)
        sub.n_customers = self.n_customers
        return sub

    def counts_between(self, start, end):
        """Orders per customer in (start, end] (day numbers)."""
        keep = (self.day > start) & (self.day <= end)
        return np.bincount(self.customer[keep], minlength=self.n_customers).astype(
            float
        )


# ---------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------


def order_features(orders, cutoff, window):
    """Feature matrix (n_customers x len(FEATURE_NAMES)) as seen on ``cutoff``.

    Returns ``(known, X, stats)``: ``known`` is the boolean mask of customers
    with at least one order up to the cut-off; ``stats`` holds the raw
    recency / mean gap / trend used to explain churn risk.
    """
    past = orders.upto(cutoff)
    n = past.n_customers
    cust, day = past.customer, past.day
    count = np.bincount(cust, minlength=n).astype(float)
    known = count > 0
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, cust, day)
    np.maximum.at(last, cust, day)
    first = np.where(known, first, cutoff).astype(float)
    last = np.where(known, last, cutoff).astype(float)
    recency = cutoff - last
    tenure = cutoff - first
    span = last - first
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_gap = np.where(
            count > 1, np.maximum(span / np.maximum(count - 1, 1), 1.0), np.nan
        )
        rhythm = recency / mean_gap
        repeat_rate = (count - 1) / np.maximum(tenure, 1.0)
    # gaps between consecutive orders of the same customer
    same = np.zeros(len(cust), dtype=bool)
    same[1:] = cust[1:] == cust[:-1]
    gaps = np.zeros(len(cust))
    gaps[1:] = np.diff(day)
    gaps = np.where(same, gaps, 0.0)
    gap_sq = np.bincount(cust, weights=gaps**2, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_var = gap_sq / np.maximum(count - 1, 1) - np.nan_to_num(mean_gap) ** 2
        gap_cv = np.where(
            count > 2, np.sqrt(np.maximum(gap_var, 0.0)) / mean_gap, np.nan
        )
    last_gap = np.full(n, np.nan)
    is_last = np.ones(len(cust), dtype=bool)
    is_last[:-1] = cust[:-1] != cust[1:]
    last_gap[cust[is_last & same]] = gaps[is_last & same]
    with np.errstate(divide="ignore", invalid="ignore"):
        last_gap_ratio = last_gap / mean_gap
    recent = past.counts_between(cutoff - window, cutoff)
    previous = past.counts_between(cutoff - 2 * window, cutoff - window)
    trend = recent - previous
    amount = np.bincount(cust, weights=past.amount, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mean_amount = np.where(
            known, np.log1p(np.maximum(amount / np.maximum(count, 1), 0)), np.nan
        )
    X = np.column_stack(
        [
            count,
            recency,
            tenure,
            mean_gap,
            rhythm,
            repeat_rate,
            recent,
            previous,
            trend,
            log_mean_amount,
            gap_cv,
            last_gap_ratio,
        ]
    )
    # "not defined" (one order, no gap yet) is its own value: -1 (features are >= 0)
    X = np.nan_to_num(X, nan=-1.0, posinf=1e6, neginf=-1.0)
    stats = {
        "orders": count,
        "recency": recency,
        "mean_gap": mean_gap,
        "rhythm": rhythm,
        "recent": recent,
        "previous": previous,
        "first": first,
        "last": last,
        "amount": amount,
        "margin": np.bincount(cust, weights=past.margin, minlength=n),
    }
    return known, X, stats


# ---------------------------------------------------------------------------
# Fallback: the customer's own rhythm
# ---------------------------------------------------------------------------


def rhythm_estimate(stats, horizon):
    """Simple estimate when the history is too small to train a model.

    A customer buying every ``g`` days (mean gap; one-order customers get
    the population's median gap, else the horizon) is expected to place
    ``horizon / g`` orders, damped by how late the customer already is
    against its own rhythm: ``alive = exp(-max(0, recency/g - 1))``.
    Probability of at least one order = ``alive * (1 - exp(-horizon/g))``.
    Always within [0, 1]; expected orders >= 0.
    """
    mean_gap = stats["mean_gap"]
    finite = mean_gap[np.isfinite(mean_gap) & (mean_gap > 0)]
    default_gap = float(np.median(finite)) if len(finite) else float(max(horizon, 1))
    gap = np.where(np.isfinite(mean_gap) & (mean_gap > 0), mean_gap, default_gap)
    gap = np.maximum(gap, 1.0)
    lateness = np.maximum(0.0, stats["recency"] / gap - 1.0)
    alive = np.exp(-lateness)
    rate = horizon / gap
    probability = np.clip(alive * (1.0 - np.exp(-rate)), 0.0, 1.0)
    expected = np.maximum(alive * rate, 0.0)
    return probability, expected


# ---------------------------------------------------------------------------
# BG/NBD: each customer's rate and drop-out, read from its own history
# ---------------------------------------------------------------------------


def _bgnbd_summary(stats, cutoff):
    """(x, t_x, T) from the features of purchase occasions: repeat occasions
    (order days after the first), last - first order day, cutoff - first
    order day."""
    x = np.maximum(stats["orders"] - 1.0, 0.0)
    t_x = stats["last"] - stats["first"]
    T = cutoff - stats["first"]
    return x, t_x, T


def bgnbd_fit(x, t_x, T):
    """BG/NBD parameters (r, alpha, a, b) by maximum likelihood, or None.

    The likelihood is Fader, Hardie & Lee (2005), eq. 6; scipy's L-BFGS-B
    minimises it over the log parameters (bounded). Time is scaled by the mean
    ``T`` and identical (x, t_x, T) rows are counted once, so the fit costs a
    few tenths of a second on 20,000 customers.
    """
    from scipy import optimize, special

    if len(x) < MIN_CUSTOMERS or not (x > 0).any():
        return None
    scale = max(float(np.mean(T)), 1.0)
    rows, weight = np.unique(
        np.column_stack([x, t_x / scale, T / scale]), axis=0, return_counts=True
    )
    xu, txu, Tu = rows.T
    Tu = np.maximum(Tu, 1e-9)
    txu = np.maximum(txu, 0.0)
    repeat = xu > 0

    def nll(theta):
        r, alpha, a, b = np.exp(theta)
        common = special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
        still = (
            special.betaln(a, b + xu)
            - special.betaln(a, b)
            - (r + xu) * np.log(alpha + Tu)
        )
        gone = np.where(
            repeat,
            special.betaln(a + 1.0, np.maximum(b + xu - 1.0, 1e-12))
            - special.betaln(a, b)
            - (r + xu) * np.log(alpha + txu),
            -np.inf,
        )
        return -np.sum(weight * (common + np.logaddexp(still, gone))) / weight.sum()

    with np.errstate(all="ignore"):
        fit = optimize.minimize(
            nll, np.zeros(4), method="L-BFGS-B", bounds=[(-8.0, 8.0)] * 4
        )
    if not np.isfinite(fit.fun):
        return None
    r, alpha, a, b = np.exp(fit.x)
    return float(r), float(alpha * scale), float(a), float(b)


def bgnbd_conditional(params, x, t_x, T, t):
    """BG/NBD given each customer's (x, t_x, T): P(alive), P(>= 1 order in the
    next ``t`` days) and expected orders in them (Fader, Hardie & Lee 2005,
    eq. 10; given alive, drop-out only follows a purchase, so P(none in t |
    alive) = ((alpha + T) / (alpha + T + t)) ** (r + x))."""
    from scipy import special

    r, alpha, a, b = params
    if abs(a - 1.0) < 1e-6:
        a = 1.0 + 1e-6  # eq. 10 divides by a - 1
    with np.errstate(all="ignore"):
        odds = np.where(
            x > 0,
            a
            / np.maximum(b + x - 1.0, 1e-12)
            * ((alpha + T) / (alpha + t_x)) ** (r + x),
            0.0,
        )
        alive = 1.0 / (1.0 + odds)
        quiet = ((alpha + T) / (alpha + T + t)) ** (r + x)
        probability = alive * (1.0 - quiet)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, t / (alpha + T + t))
        expected = alive * (a + b + x - 1.0) / (a - 1.0) * (1.0 - quiet * hyp)
    alive = np.nan_to_num(alive, nan=0.0)
    probability = np.clip(np.nan_to_num(probability, nan=0.0), 0.0, 1.0)
    expected = np.maximum(np.nan_to_num(expected, nan=0.0, posinf=0.0), probability)
    return alive, probability, expected


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------


def _training_cuts(orders, as_of, window, n_windows):
    """Training cut-offs, latest first: ``as_of - k * window`` (k = 1..n_windows),
    plus the cuts half a window between them (rolling origin) where they have
    at least one full window of history behind them."""
    start = int(orders.day.min()) if len(orders.day) else as_of
    cuts = []
    for k in range(2, 2 * n_windows + 1):
        cut = as_of - int(round(k * window / 2))
        if k % 2 == 0 or cut - start >= window:
            cuts.append(cut)
    return cuts


def _training_set(orders, as_of, window, n_windows):
    """Stacked training rows: the features on each cut of :func:`_training_cuts`,
    labelled by the orders in the window after it.

    Rolling origin: besides the disjoint cuts one window apart, cuts half a
    window between them (when at least one window of history lies behind
    them: a younger cut sees only newcomers, whose previous-window features
    are truncated). Label windows shifted by half a window average out the
    calendar (a seasonal peak or trough inside one label window) and fill the
    recency / tenure grid twice as densely; consecutive label windows
    overlap, so the rows are not independent, but the fit is a mean, not a
    test.
    """
    Xs, ys, counts = [], [], []
    for cut in _training_cuts(orders, as_of, window, n_windows):
        known, X, _stats = order_features(orders, cut, window)
        if known.sum() == 0:
            continue
        label = orders.counts_between(cut, cut + window)
        Xs.append(X[known])
        counts.append(label[known])
        ys.append(label[known] > 0)
    if not Xs:
        return None, None, None
    return np.vstack(Xs), np.concatenate(ys), np.concatenate(counts)


def _choose_window(orders, as_of, horizon):
    """The training window: the horizon if the history allows, else shorter."""
    n_now = len(np.unique(orders.upto(as_of).customer))
    divisor = 1
    while True:
        window = int(round(horizon / divisor))
        if window < min(MIN_WINDOW_DAYS, horizon):
            return None
        cut = as_of - window
        past = orders.upto(cut)
        n_known = len(np.unique(past.customer))
        # the training cut must see most of today's customers, or the model
        # learns on a few veterans and is applied to a crowd of newcomers
        if n_known >= max(MIN_CUSTOMERS, MIN_KNOWN_SHARE * n_now):
            label = orders.counts_between(cut, as_of)[np.unique(past.customer)] > 0
            if 0 < label.sum() < len(label):
                return window
        divisor += 1


def predict(orders, as_of, horizon, random_state=0):
    """See :func:`_predict`; scikit-learn's OpenMP pool limited to one thread.

    On a shared two-core server, OpenMP threads competing with Odoo workers and
    PostgreSQL made a fit 10× slower than one thread (measured: 122 s vs 9 s at
    20,000 customers and 1,000,000 orders).
    """
    import sklearn.ensemble  # noqa: F401 - loads OpenMP before the limit is set
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return _predict(orders, as_of, horizon, random_state=random_state)


def orders_per_occasion(orders, occasions, cutoff, prior=1.0):
    """Each customer's orders per purchase occasion (order day) up to ``cutoff``,
    shrunk towards the population's ratio by ``prior`` occasions:
    ``(orders + prior * ratio) / (occasions + prior)``; 1 where nobody ever
    placed two orders on one day."""
    return _shrunk_ratio(
        np.bincount(orders.upto(cutoff).customer, minlength=orders.n_customers),
        np.bincount(occasions.upto(cutoff).customer, minlength=occasions.n_customers),
        prior,
    )


def _shrunk_ratio(n_orders, n_occasions, prior=1.0):
    """:func:`orders_per_occasion` from the counts per customer."""
    if n_occasions.sum() == 0 or n_orders.sum() == n_occasions.sum():
        return np.ones(len(n_orders))
    ratio = n_orders.sum() / n_occasions.sum()
    return (n_orders + prior * ratio) / (n_occasions + prior)


def _predict(orders, as_of, horizon, random_state=0):
    """Buy probability and expected orders in (as_of, as_of + horizon].

    The models see purchase occasions (:meth:`Orders.occasions`: several
    orders of a customer on one day are one occasion, the convention of the
    buy-till-you-die literature); the expected occasions are turned into
    expected orders by the customer's own orders per occasion
    (:func:`orders_per_occasion`). The probability of at least one order is
    that of at least one occasion.

    Returns a dict: ``known`` (mask of customers with an order up to as_of),
    ``probability`` and ``expected`` (arrays over all customers, 0 where
    unknown), ``stats`` (raw features of the occasions, with ``orders``,
    ``recent`` and ``previous`` counting orders and ``occasions`` order
    days), ``method``, ``window`` (training window in days) and ``n_train``
    (training rows).
    """
    occasions = orders.occasions()
    result = _predict_occasions(occasions, as_of, horizon, random_state)
    stats = result["stats"]
    stats["occasions"] = stats["orders"]  # counted up to as_of by order_features
    if occasions is orders:
        return result
    window = result["window"] or max(int(horizon), 1)
    stats["orders"] = np.bincount(
        orders.upto(as_of).customer, minlength=orders.n_customers
    ).astype(float)
    stats["recent"] = orders.counts_between(as_of - window, as_of)
    stats["previous"] = orders.counts_between(as_of - 2 * window, as_of - window)
    known = result["known"]
    ratio = _shrunk_ratio(stats["orders"], stats["occasions"])
    result["expected"][known] *= ratio[known]
    return result


def _predict_occasions(orders, as_of, horizon, random_state=0):
    """:func:`_predict` on purchase occasions (at most one order per customer and day)."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    horizon = max(int(horizon), 1)
    window = _choose_window(orders, as_of, horizon)
    known, X_now, stats = order_features(orders, as_of, window or horizon)
    n = orders.n_customers
    probability = np.zeros(n)
    expected = np.zeros(n)
    result = {
        "known": known,
        "stats": stats,
        "probability": probability,
        "expected": expected,
        "window": window or 0,
        "n_train": 0,
        "method": METHOD_RHYTHM,
    }
    X_train = None
    if window:
        X_train, y_train, c_train = _training_set(
            orders, as_of, window, MAX_TRAINING_WINDOWS
        )
    if X_train is None or len(np.unique(y_train)) < 2 or len(y_train) < MIN_CUSTOMERS:
        p, e = rhythm_estimate(stats, horizon)
        probability[known] = p[known]
        expected[known] = e[known]
        return result
    # small trees, large leaves: a few robust interactions of rhythm and recency
    leaf = int(max(20, min(200, len(y_train) // 50)))
    clf = HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.08,
        max_leaf_nodes=7,
        min_samples_leaf=leaf,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )
    clf.fit(X_train, y_train)
    reg = HistGradientBoostingRegressor(
        loss="poisson",
        max_iter=100,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=min(leaf, 40),
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )
    reg.fit(X_train, c_train)
    p = clf.predict_proba(X_now[known])[:, 1]
    e = np.maximum(reg.predict(X_now[known]), 0.0)
    # the regressor's total follows the training windows' total; keep the
    # classifier consistent with it (E[orders] >= P(at least one order))
    e = np.maximum(e, p)
    if window < horizon:
        # history shorter than two horizons: models of a shorter window,
        # stretched to the horizon by the customer's own rate
        factor = horizon / window
        x, t_x, T = (v[known] for v in _bgnbd_summary(stats, as_of))
        params = bgnbd_fit(x, t_x, T)
        if params is None:
            e = e * factor
            p = 1.0 - (1.0 - p) ** factor
        else:
            _a, p_w, e_w = bgnbd_conditional(params, x, t_x, T, window)
            _a, p_h, e_h = bgnbd_conditional(params, x, t_x, T, horizon)
            with np.errstate(all="ignore"):
                grow = np.where(e_w > 0, e_h / e_w, factor)
                stay = np.where(p_w < 1, (1.0 - p_h) / (1.0 - p_w), 0.0)
            e = e * np.clip(np.nan_to_num(grow, nan=factor), 1.0, factor)
            p = 1.0 - (1.0 - p) * np.clip(np.nan_to_num(stay, nan=0.0), 0.0, 1.0)
        e = np.maximum(e, p)
        result["method"] = METHOD_MODEL_SHORT
    else:
        result["method"] = METHOD_MODEL
    probability[known] = np.clip(p, 0.0, 1.0)
    expected[known] = np.maximum(e, 0.0)
    result["window"] = window
    result["n_train"] = int(len(y_train))
    return result


def backtest(orders, as_of, horizon, random_state=0):
    """Fit with the history cut one horizon before ``as_of``; score on what came.

    Returns a dict with ``cutoff`` (day number), ``n_customers``, ``auc``
    (None with a single class), ``predicted_orders``, ``actual_orders`` and
    ``method``.
    """
    from sklearn.metrics import roc_auc_score

    horizon = max(int(horizon), 1)
    cutoff = as_of - horizon
    result = predict(orders, cutoff, horizon, random_state=random_state)
    known = result["known"]
    actual = orders.counts_between(cutoff, as_of)[known]
    bought = actual > 0
    auc = None
    if 0 < bought.sum() < len(bought):
        auc = float(roc_auc_score(bought, result["probability"][known]))
    return {
        "cutoff": cutoff,
        "n_customers": int(known.sum()),
        "auc": auc,
        "predicted_orders": float(result["expected"][known].sum()),
        "actual_orders": float(actual.sum()),
        "method": result["method"],
    }


# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------


def discounted_value(expected_orders, margin_per_order, horizon_days, yearly_rate=0.1):
    """Expected margin over the horizon, discounted to today.

    The orders are spread evenly over the horizon, so the value is discounted
    at the horizon's midpoint: ``orders * margin / (1 + rate) ** (days / 2 / 365.25)``.
    Works on scalars and numpy arrays.
    """
    years = max(float(horizon_days), 0.0) / 365.25
    factor = 1.0 / (1.0 + yearly_rate) ** (years / 2.0)
    return np.asarray(expected_orders) * np.asarray(margin_per_order) * factor
