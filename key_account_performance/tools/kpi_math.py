"""Pure arithmetic of the key-account engine.

Nothing here imports Odoo: the company's "today" and time zone, period
boundaries, the KPI score function, grade
bands, NPS / CSAT, growth, RFM quintiles and CLV formulas are plain functions
over plain values, so they can be tested (property-based) without a database.
The ORM layer gathers data in grouped queries and calls these functions.
"""

import calendar
import datetime
import decimal
import math

import pytz

PERIOD_TYPES = ("month", "quarter", "year")

DEFAULT_GRADE_BANDS = (("A", 85.0), ("B", 70.0), ("C", 50.0), ("D", 0.0))


# ---------------------------------------------------------------------------
# Periods (inclusive dates, calendar months / quarters / years)
# ---------------------------------------------------------------------------


def period_bounds(day, period_type):
    """Return (date_from, date_to) of the calendar period containing ``day``."""
    if period_type == "month":
        start = day.replace(day=1)
        end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    elif period_type == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = datetime.date(day.year, first_month, 1)
        last_month = first_month + 2
        end = datetime.date(
            day.year, last_month, calendar.monthrange(day.year, last_month)[1]
        )
    elif period_type == "year":
        start = datetime.date(day.year, 1, 1)
        end = datetime.date(day.year, 12, 31)
    else:
        raise ValueError("Unknown period type %r" % (period_type,))
    return start, end


def last_closed_period(today, period_type):
    """The latest calendar period that ended strictly before ``today``."""
    start, _end = period_bounds(today, period_type)
    return period_bounds(start - datetime.timedelta(days=1), period_type)


def add_months(day, months):
    """``day`` moved by ``months`` calendar months, clamped to the month's end."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _is_month_aligned(date_from, date_to):
    return date_from.day == 1 and (date_to + datetime.timedelta(days=1)).day == 1


def month_span(date_from, date_to):
    """Number of calendar months touched by the inclusive period."""
    return (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1


def previous_period(date_from, date_to):
    """The period of the same length just before ``date_from``.

    Whole calendar months shift by whole months (Q2 -> Q1, March -> February);
    any other span shifts by its number of days.
    """
    if _is_month_aligned(date_from, date_to):
        months = month_span(date_from, date_to)
        start = add_months(date_from, -months)
        return start, date_from - datetime.timedelta(days=1)
    days = (date_to - date_from).days + 1
    return date_from - datetime.timedelta(days=days), date_from - datetime.timedelta(
        days=1
    )


def same_period_last_year(date_from, date_to):
    start = add_months(date_from, -12)
    if _is_month_aligned(date_from, date_to):
        end = add_months(date_to.replace(day=1), -12)
        end = end.replace(day=calendar.monthrange(end.year, end.month)[1])
    else:
        end = add_months(date_to, -12)
    return start, end


def trailing_12_months(date_to):
    """The 12 months ending on ``date_to`` (inclusive)."""
    return add_months(date_to, -12) + datetime.timedelta(days=1), date_to


def period_days(date_from, date_to):
    return (date_to - date_from).days + 1


def next_period(date_from, date_to):
    """The period of the same length just after ``date_to``.

    The mirror of :func:`previous_period`: whole calendar months shift by
    whole months (Q3 -> Q4), any other span by its number of days.
    """
    if _is_month_aligned(date_from, date_to):
        months = month_span(date_from, date_to)
        start = add_months(date_from, months)
        return start, add_months(date_from, 2 * months) - datetime.timedelta(days=1)
    days = (date_to - date_from).days + 1
    return date_to + datetime.timedelta(days=1), date_to + datetime.timedelta(days=days)


def period_type_of(date_from, date_to):
    """'month', 'quarter' or 'year' when the dates are exactly such a calendar
    period, else None."""
    for period_type in PERIOD_TYPES:
        if period_bounds(date_from, period_type) == (date_from, date_to):
            return period_type
    return None


def period_label(period_type, date_from, date_to):
    """'2026 Q3', '2026-10', '2026', or the dates of an irregular period.

    ``period_type`` None: the calendar period the dates are exactly, if any.
    """
    if period_type is None:
        period_type = period_type_of(date_from, date_to)
    if period_type and (date_from, date_to) == period_bounds(date_from, period_type):
        if period_type == "month":
            return "%04d-%02d" % (date_from.year, date_from.month)
        if period_type == "year":
            return "%04d" % date_from.year
        return "%04d Q%d" % (date_from.year, (date_from.month - 1) // 3 + 1)
    return "%s – %s" % (date_from, date_to)


# the engine looks one year back (growth, same period last year) and one
# period ahead: dates outside these bounds are refused, not overflowed
PERIOD_MIN_DATE = datetime.date(1900, 1, 1)
PERIOD_MAX_DATE = datetime.date(2999, 12, 31)


def period_in_range(date_from, date_to):
    """True when both dates lie in [PERIOD_MIN_DATE, PERIOD_MAX_DATE]."""
    return (
        PERIOD_MIN_DATE <= date_from <= PERIOD_MAX_DATE
        and PERIOD_MIN_DATE <= date_to <= PERIOD_MAX_DATE
    )


def elapsed_span(date_from, date_to, today):
    """Like-for-like windows of a running period.

    Returns (days elapsed, (start, end) of the same elapsed span at the start
    of the previous period, fraction of the period elapsed), or None when the
    period is not running on ``today`` (closed, or not started).
    """
    if not date_from <= today <= date_to:
        return None
    elapsed = (today - date_from).days + 1
    prev_from, prev_to = previous_period(date_from, date_to)
    ref_to = min(prev_from + datetime.timedelta(days=elapsed - 1), prev_to)
    return elapsed, (prev_from, ref_to), elapsed / period_days(date_from, date_to)


# ---------------------------------------------------------------------------
# The company's clock: one time zone, one "today" for every period
# ---------------------------------------------------------------------------


def company_tz(company):
    """The time zone of a company's periods and "today": the time zone of
    the company's partner, else UTC. Never the user's: two users of one
    company in different time zones see the same periods, the same "today",
    and the same datetime bounds of a period."""
    return (company and company.partner_id.tz) or "UTC"


def company_today(company, now=None):
    """The company's date now (``now``: a naive UTC datetime, default the
    server's clock, as Odoo's ``fields.Date.context_today`` reads it)."""
    now = now or datetime.datetime.now()
    tz = pytz.timezone(company_tz(company))
    return pytz.utc.localize(now).astimezone(tz).date()


def datetime_bounds(date_from, date_to, tz_name):
    """Naive UTC datetimes of an inclusive period of days in a time zone:
    the first instant of ``date_from`` .. the first instant after ``date_to``."""
    tz = pytz.timezone(tz_name)
    start = tz.localize(datetime.datetime.combine(date_from, datetime.time.min))
    end = tz.localize(
        datetime.datetime.combine(
            date_to + datetime.timedelta(days=1), datetime.time.min
        )
    )
    return (
        start.astimezone(pytz.utc).replace(tzinfo=None),
        end.astimezone(pytz.utc).replace(tzinfo=None),
    )


# ---------------------------------------------------------------------------
# Numbers: finite values, one rounding rule
# ---------------------------------------------------------------------------


def is_finite_number(value):
    """True for an int or float that is neither NaN nor infinite (bools and
    strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def round_half_up(value, digits=0):
    """``value`` rounded to ``digits`` decimals, ties away from zero, as
    written: 72.5 -> 73, 2.675 -> 2.68 (Python's round() gives 72 and 2.67).

    The one rounding rule of every figure the addon prints (PDF scorecard,
    notifications, chatter), the rule of the web client's HALF-UP as well.
    Rounds the shortest decimal that reads back as the float, not its binary
    approximation. Non-finite values are returned unchanged."""
    if value is None or not math.isfinite(value):
        return value
    quantum = decimal.Decimal(1).scaleb(-int(digits))
    rounded = decimal.Decimal(repr(float(value))).quantize(
        quantum, rounding=decimal.ROUND_HALF_UP
    )
    return float(rounded)


def format_rounded(value, digits=0, grouping=False):
    """``value`` as text with ``digits`` decimals, rounded half up."""
    rounded = round_half_up(value, digits)
    text = ("{:,.%df}" if grouping else "{:.%df}") % max(0, int(digits))
    text = text.format(rounded)
    # -0 reads 0
    return (
        text[1:]
        if text.startswith("-") and not any(c in "123456789" for c in text)
        else text
    )


def format_number(value):
    """A figure of a scorecard or a notification: thousands separators,
    decimals only for small numbers (below 100: two), rounded half up."""
    if value is None or value is False:
        return ""
    if abs(round_half_up(value, 2)) >= 100:
        return format_rounded(value, 0, grouping=True)
    return format_rounded(value, 2, grouping=True)


def format_score(score, digits=0):
    """A score 0-100 as text, rounded half up (72.5 -> '73')."""
    if score is None or score is False:
        return ""
    return format_rounded(score, digits)


# ---------------------------------------------------------------------------
# Scores and grades
# ---------------------------------------------------------------------------


def kpi_score(value, target, threshold, direction="higher"):
    """Score 0-100 of one KPI value.

    0 at (or beyond) the threshold, 100 at (or beyond) the target, linear in
    between. For the ``lower`` direction the target is below the threshold:
    100 at or below the target, 0 at or above the threshold. Returns None when
    there is no value or the band is degenerate (target == threshold).
    """
    if value is None or target is None or threshold is None:
        return None
    if not all(map(is_finite_number, (value, target, threshold))):
        # NaN compares False with everything (it would score 100): no score
        return None
    if target == threshold:
        return None
    if direction == "lower":
        value, target, threshold = -value, -target, -threshold
    if target < threshold:
        # inconsistent configuration for this direction: compare on the band anyway
        target, threshold = threshold, target
    if value >= target:
        return 100.0
    if value <= threshold:
        return 0.0
    return max(0.0, min(100.0, 100.0 * (value - threshold) / (target - threshold)))


def weighted_score(pairs):
    """Weighted mean of (score, weight) pairs, ignoring missing scores.

    Returns None when no pair has a score and a positive weight.
    """
    total = 0.0
    weights = 0.0
    for score, weight in pairs:
        if score is None or not weight or weight <= 0:
            continue
        if not (is_finite_number(score) and is_finite_number(weight)):
            continue
        total += score * weight
        weights += weight
    if not weights:
        return None
    return max(0.0, min(100.0, total / weights))


def grade_for(score, bands=DEFAULT_GRADE_BANDS):
    """Name of the first band whose minimum the score reaches.

    ``bands`` is an iterable of (name, min_score); order does not matter.
    """
    if score is None:
        return False
    ordered = sorted(bands, key=lambda band: band[1], reverse=True)
    for name, minimum in ordered:
        if score >= minimum:
            return name
    return ordered[-1][0] if ordered else False


SCORE_STATUSES = (
    ("good", "On target"),
    ("watch", "Between threshold and target"),
    ("alert", "Beyond threshold"),
)


def score_status(score):
    """'good' at 100, 'alert' at 0, 'watch' in between; False without a score."""
    if score is None:
        return False
    if score >= 100:
        return "good"
    if score <= 0:
        return "alert"
    return "watch"


def trend(score, previous_score):
    if score is None or previous_score is None:
        return 0.0
    return score - previous_score


# ---------------------------------------------------------------------------
# KPI arithmetic
# ---------------------------------------------------------------------------


def growth(current, previous):
    """% change of ``current`` against ``previous``; None without a base."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100.0


def ratio(numerator, denominator, factor=100.0):
    """numerator / denominator * factor; None when the denominator is 0 or missing."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator * factor


def nps_from_counts(counts):
    """Net Promoter Score from {answer (0-10): count}: % promoters - % detractors."""
    total = sum(counts.values())
    if not total:
        return None
    promoters = sum(c for v, c in counts.items() if v >= 9)
    detractors = sum(c for v, c in counts.items() if v <= 6)
    return (promoters - detractors) * 100.0 / total


def csat_from_counts(counts, scale_max=5):
    """CSAT as % of satisfied answers (the top two points of the scale)."""
    total = sum(counts.values())
    if not total:
        return None
    satisfied = sum(c for v, c in counts.items() if v >= scale_max - 1)
    return satisfied * 100.0 / total


# ---------------------------------------------------------------------------
# Customer value
# ---------------------------------------------------------------------------


def quintile_scores(values, higher_is_better=True):
    """Map each key of ``values`` ({key: number}) to a 1-5 quintile score."""
    if not values:
        return {}
    ordered = sorted(values.items(), key=lambda item: (item[1], str(item[0])))
    n = len(ordered)
    result = {}
    for rank, (key, _value) in enumerate(ordered):
        quintile = min(5, int(rank * 5 / n) + 1)
        result[key] = quintile if higher_is_better else 6 - quintile
    return result


RFM_SEGMENTS = (
    ("champion", lambda r, f, m: r >= 4 and f >= 4 and m >= 4),
    ("loyal", lambda r, f, m: f >= 4),
    ("at_risk", lambda r, f, m: r <= 2 and (f >= 3 or m >= 3)),
    ("hibernating", lambda r, f, m: r <= 2),
    ("promising", lambda r, f, m: r >= 4),
    ("needs_attention", lambda r, f, m: True),
)


def rfm_segment(recency_score, frequency_score, monetary_score):
    for name, rule in RFM_SEGMENTS:
        if rule(recency_score, frequency_score, monetary_score):
            return name
    return "needs_attention"


def predictive_clv(
    average_order_value,
    orders_per_year,
    gross_margin_pct,
    lifetime_years,
    discount_rate=0.1,
):
    """Predictive CLV: yearly margin over the expected lifetime, discounted."""
    if average_order_value is None or orders_per_year is None:
        return None
    yearly = average_order_value * orders_per_year * (gross_margin_pct or 100.0) / 100.0
    years = max(0.0, lifetime_years or 0.0)
    total = 0.0
    whole = int(math.floor(years))
    for year in range(1, whole + 1):
        total += yearly / (1.0 + discount_rate) ** year
    if years > whole:
        total += (years - whole) * yearly / (1.0 + discount_rate) ** (whole + 1)
    return total


def expected_lifetime_years(churn_rate_pct, cap=10.0):
    """1 / churn (yearly), capped; None without a churn rate."""
    if churn_rate_pct is None:
        return None
    if churn_rate_pct <= 0:
        return cap
    return min(cap, 100.0 / churn_rate_pct)


# ---------------------------------------------------------------------------
# Why a score moved
# ---------------------------------------------------------------------------


def score_points(pairs):
    """{key: points} of {key: (score, weight)}: each KPI's share of the
    weighted score. The points of the pairs that count (a score and a
    positive weight) add up to ``weighted_score`` of the same pairs."""
    total = sum(
        weight
        for score, weight in pairs.values()
        if score is not None and weight and weight > 0
    )
    return {
        key: (
            score * weight / total
            if total and score is not None and weight and weight > 0
            else 0.0
        )
        for key, (score, weight) in pairs.items()
    }


def score_breakdown(current, previous, comparable=None):
    """Per KPI: (points, previous points, change in points).

    ``current`` / ``previous``: {key: (score, weight)} of the KPIs that have
    a value in the period and in the previous one. Keys of both periods are
    returned (a KPI without a value now contributes 0 points now). The points
    add up to the period's weighted score and the changes to
    ``trend(score, previous score)``: when either period has no score, the
    trend is 0 and so is every change. ``comparable`` forces whether the
    periods compare (a review compares with its previous review whatever
    that one scored).
    """
    points = score_points(current)
    previous_points = score_points(previous)
    if comparable is None:
        comparable = (
            weighted_score(current.values()) is not None
            and weighted_score(previous.values()) is not None
        )
    result = {}
    for key in list(current) + [key for key in previous if key not in current]:
        now = points.get(key, 0.0)
        before = previous_points.get(key, 0.0) if comparable else 0.0
        result[key] = (now, before, now - before if comparable else 0.0)
    return result


def rounded_to_total(values, digits=0):
    """``values`` rounded to ``digits`` decimals so that they add up to their
    total rounded the same way (``round_half_up``): each is rounded down,
    then the units still missing go to the largest remainders (ties: the
    first). A list of parts shown with its total (the points of a score's
    breakdown and the score) then adds up on screen.
    """
    values = list(values)
    if not values:
        return []
    scale = 10 ** int(digits)
    # (the shortest decimal of each float, as round_half_up reads it)
    exact = [decimal.Decimal(repr(float(value))) * scale for value in values]
    floors = [math.floor(part) for part in exact]
    total = round_half_up(sum(float(value) for value in values), digits)
    missing = int(round(total * scale)) - sum(floors)
    order = sorted(range(len(values)), key=lambda i: floors[i] - exact[i])
    for index in order[: max(missing, 0)]:
        floors[index] += 1
    return [floor / scale for floor in floors]
