"""Property-based tests of the engine's pure arithmetic (no Odoo, no database).

The module is loaded from its file so that importing the addon package (which
imports Odoo) is not needed.
"""

import calendar
import datetime
import importlib.util
import pathlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

PATH = (
    pathlib.Path(__file__).resolve().parent.parent
    / "key_account_performance"
    / "tools"
    / "kpi_math.py"
)
spec = importlib.util.spec_from_file_location("kpi_math", PATH)
km = importlib.util.module_from_spec(spec)
spec.loader.exec_module(km)

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
positive = st.floats(
    min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False
)
days = st.dates(
    min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2090, 12, 31)
)
directions = st.sampled_from(["higher", "lower"])


# ---------------------------------------------------------------- score


@given(finite, finite, finite, directions)
def test_score_is_between_0_and_100(value, target, threshold, direction):
    assume(target != threshold)
    score = km.kpi_score(value, target, threshold, direction)
    assert score is not None
    assert 0.0 <= score <= 100.0


@given(finite, finite, finite, finite)
def test_score_monotone_in_the_kpi_direction(v1, v2, a, b):
    assume(a != b)
    low, high = sorted((v1, v2))
    # higher is better: target above threshold
    target, threshold = max(a, b), min(a, b)
    assert km.kpi_score(low, target, threshold, "higher") <= km.kpi_score(
        high, target, threshold, "higher"
    )
    # lower is better: target below threshold, mirrored
    assert km.kpi_score(low, threshold, target, "lower") >= km.kpi_score(
        high, threshold, target, "lower"
    )


@given(finite, finite, directions)
def test_score_at_target_and_threshold(a, b, direction):
    assume(a != b)
    target, threshold = (
        (max(a, b), min(a, b)) if direction == "higher" else (min(a, b), max(a, b))
    )
    assert km.kpi_score(target, target, threshold, direction) == 100.0
    assert km.kpi_score(threshold, target, threshold, direction) == 0.0


@given(finite, finite, finite, directions)
def test_status_follows_the_score(value, target, threshold, direction):
    assume(target != threshold)
    score = km.kpi_score(value, target, threshold, direction)
    status = km.score_status(score)
    assert status == ("good" if score >= 100 else "alert" if score <= 0 else "watch")
    assert km.score_status(None) is False


def test_score_examples_and_no_data():
    assert km.kpi_score(80, 100, 50) == 60.0
    assert km.kpi_score(3, 2, 10, "lower") == 87.5
    assert km.kpi_score(None, 100, 50) is None
    assert km.kpi_score(10, 5, 5) is None  # target equal to threshold is invalid


@given(
    st.lists(
        st.tuples(st.floats(0, 100), st.floats(0.01, 100)), min_size=1, max_size=12
    ),
    st.floats(0.01, 1000),
)
def test_weighted_score_is_scale_invariant_and_bounded(pairs, factor):
    base = km.weighted_score(pairs)
    scaled = km.weighted_score([(score, weight * factor) for score, weight in pairs])
    assert base == pytest.approx(scaled, rel=1e-9, abs=1e-9)
    assert min(s for s, _w in pairs) - 1e-9 <= base <= max(s for s, _w in pairs) + 1e-9


def test_weighted_score_ignores_missing_scores_and_zero_weights():
    assert km.weighted_score([(None, 5), (80, 1), (20, 0)]) == 80.0
    assert km.weighted_score([(None, 1)]) is None


@given(st.floats(0, 100))
def test_grade_bands(score):
    grade = km.grade_for(score)
    expected = (
        "A" if score >= 85 else "B" if score >= 70 else "C" if score >= 50 else "D"
    )
    assert grade == expected


# ---------------------------------------------------------------- periods


@given(days, st.sampled_from(km.PERIOD_TYPES))
def test_period_bounds_contain_the_day_and_follow_the_calendar(day, period_type):
    start, end = km.period_bounds(day, period_type)
    assert start <= day <= end
    assert start.day == 1
    assert end.day == calendar.monthrange(end.year, end.month)[1]
    months = km.month_span(start, end)
    assert months == {"month": 1, "quarter": 3, "year": 12}[period_type]


@given(days, st.sampled_from(km.PERIOD_TYPES))
def test_last_closed_period_ends_the_day_before_the_current_one(day, period_type):
    start, _end = km.period_bounds(day, period_type)
    closed_from, closed_to = km.last_closed_period(day, period_type)
    assert closed_to == start - datetime.timedelta(days=1)
    assert km.period_bounds(closed_from, period_type) == (closed_from, closed_to)


@given(days, st.sampled_from(km.PERIOD_TYPES))
def test_previous_period_of_a_calendar_period(day, period_type):
    start, end = km.period_bounds(day, period_type)
    prev_from, prev_to = km.previous_period(start, end)
    assert prev_to == start - datetime.timedelta(days=1)
    assert km.period_bounds(prev_from, period_type) == (prev_from, prev_to)


@given(days, st.integers(0, 400))
def test_previous_period_of_any_span_has_the_same_length(day, length):
    end = day + datetime.timedelta(days=length)
    prev_from, prev_to = km.previous_period(day, end)
    assert prev_to == day - datetime.timedelta(days=1)
    if not (day.day == 1 and (end + datetime.timedelta(days=1)).day == 1):
        assert (prev_to - prev_from) == (end - day)


# ---------------------------------------------------------------- KPI arithmetic


@given(finite, st.floats(min_value=0.001, max_value=1e9))
def test_growth_sign_and_zero_base(current, previous):
    value = km.growth(current, previous)
    assert (value > 0) == (current > previous) or value == 0
    assert km.growth(current, 0) is None
    assert km.growth(None, previous) is None


@given(finite)
def test_ratio_zero_denominator_is_no_value(numerator):
    assert km.ratio(numerator, 0) is None
    assert km.ratio(numerator, None) is None


@given(st.dictionaries(st.integers(0, 10), st.integers(1, 50), min_size=1))
def test_nps_bounds_and_definition(counts):
    value = km.nps_from_counts(counts)
    total = sum(counts.values())
    promoters = sum(c for v, c in counts.items() if v >= 9)
    detractors = sum(c for v, c in counts.items() if v <= 6)
    assert -100.0 <= value <= 100.0
    assert value == pytest.approx((promoters - detractors) * 100.0 / total)


@given(st.dictionaries(st.integers(1, 5), st.integers(1, 50), min_size=1))
def test_csat_is_share_of_satisfied(counts):
    value = km.csat_from_counts(counts, 5)
    assert 0.0 <= value <= 100.0
    satisfied = counts.get(4, 0) + counts.get(5, 0)
    assert value == pytest.approx(satisfied * 100.0 / sum(counts.values()))
    assert km.csat_from_counts({}, 5) is None


@settings(max_examples=50)
@given(st.dictionaries(st.integers(0, 10_000), finite, min_size=1, max_size=200))
def test_quintiles_are_1_to_5_and_monotone(values):
    scores = km.quintile_scores(values)
    assert set(scores) == set(values)
    assert all(1 <= s <= 5 for s in scores.values())
    ordered = sorted(values, key=lambda k: (values[k], str(k)))
    assert [scores[k] for k in ordered] == sorted(scores[k] for k in ordered)


@given(positive, positive, st.floats(0, 100), st.floats(0, 10), st.floats(0, 10))
def test_predictive_clv_grows_with_lifetime(aov, orders, margin, years_a, years_b):
    short, long_ = sorted((years_a, years_b))
    assert (
        km.predictive_clv(aov, orders, margin, short)
        <= km.predictive_clv(aov, orders, margin, long_) + 1e-6
    )


def test_rfm_segments():
    assert km.rfm_segment(5, 5, 5) == "champion"
    assert km.rfm_segment(1, 4, 4) == "loyal"
    assert km.rfm_segment(1, 3, 1) == "at_risk"
    assert km.rfm_segment(1, 1, 1) == "hibernating"


# ---------------------------------------------------------------------------
# Issue 21: finite numbers only, one rounding rule (half up)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_kpi_score_of_a_non_finite_value_is_no_score(bad):
    # NaN compared False with everything and scored 100
    assert km.kpi_score(bad, 5.0, 1.0) is None
    assert km.kpi_score(bad, 1.0, 5.0, "lower") is None
    assert km.kpi_score(3.0, bad, 1.0) is None


def test_weighted_score_ignores_non_finite_scores():
    assert km.weighted_score([(float("nan"), 1.0), (50.0, 1.0)]) == 50.0
    assert km.weighted_score([(float("inf"), 1.0)]) is None


@pytest.mark.parametrize(
    "value, digits, expected",
    [
        (72.5, 0, 73.0),
        (73.5, 0, 74.0),
        (0.5, 0, 1.0),
        (-72.5, 0, -73.0),
        (72.45, 1, 72.5),
        (2.675, 2, 2.68),
        (72.49, 0, 72.0),
    ],
)
def test_round_half_up(value, digits, expected):
    assert km.round_half_up(value, digits) == expected


def test_format_score_and_number_round_half_up():
    # Python's '%.0f' % 72.5 and round(72.5) give 72; the web client shows 73
    assert "%.0f" % 72.5 == "72"
    assert km.format_score(72.5) == "73"
    assert km.format_score(72.45, 1) == "72.5"
    assert km.format_number(72.125) == "72.13"
    assert km.format_number(1234.5) == "1,235"
    assert km.format_number(99.995) == "100"
    assert km.format_number(-0.001) == "0.00"
    assert km.format_number(None) == ""


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_round_half_up_ties_go_away_from_zero(n):
    value = n + 0.5
    expected = float(n + 1) if n >= 0 else float(n)
    assert km.round_half_up(value) == expected


@given(finite)
def test_round_half_up_is_within_half_a_unit(value):
    assert abs(km.round_half_up(value, 2) - value) <= 0.005 + 1e-9 * max(1, abs(value))


@pytest.mark.parametrize(
    "value, finite_number",
    [
        (1, True),
        (1.5, True),
        (float("nan"), False),
        (float("inf"), False),
        (True, False),
        ("1", False),
        (None, False),
    ],
)
def test_is_finite_number(value, finite_number):
    assert km.is_finite_number(value) is finite_number


# ---------------------------------------------------------------- company clock


class _Company:
    """A company as the clock reads it: ``partner_id.tz``."""

    def __init__(self, tz):
        self.partner_id = type("Partner", (), {"tz": tz})()


def test_company_time_zone_falls_back_to_utc_never_the_users():
    assert km.company_tz(_Company("Asia/Shanghai")) == "Asia/Shanghai"
    assert km.company_tz(_Company(False)) == "UTC"
    assert km.company_tz(None) == "UTC"


def test_company_today_is_the_date_in_the_company_time_zone():
    late_utc = datetime.datetime(2026, 3, 31, 17, 30)  # 01:30 on 1 April in Shanghai
    assert km.company_today(_Company("Asia/Shanghai"), late_utc) == datetime.date(
        2026, 4, 1
    )
    assert km.company_today(_Company(False), late_utc) == datetime.date(2026, 3, 31)
    assert km.company_today(_Company("America/New_York"), late_utc) == (
        datetime.date(2026, 3, 31)
    )


@given(days, st.integers(min_value=0, max_value=400))
def test_datetime_bounds_cover_the_days_in_the_time_zone(day, length):
    end = day + datetime.timedelta(days=length)
    start_utc, end_utc = km.datetime_bounds(day, end, "Asia/Kolkata")
    # India is UTC+5:30 all year (no daylight saving since 1945): midnight
    # there is 18:30 UTC the day before
    assert start_utc == datetime.datetime.combine(day, datetime.time(18, 30)) - (
        datetime.timedelta(days=1)
    )
    assert end_utc - start_utc == datetime.timedelta(days=length + 1)
    assert km.datetime_bounds(day, end, "UTC") == (
        datetime.datetime.combine(day, datetime.time.min),
        datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min),
    )


@given(
    st.lists(st.floats(min_value=-100, max_value=100, allow_nan=False), max_size=30),
    st.integers(min_value=0, max_value=2),
)
def test_rounded_to_total_adds_up_to_the_rounded_total(values, digits):
    rounded = km.rounded_to_total(values, digits)
    unit = 10.0**-digits
    assert len(rounded) == len(values)
    # the parts add up to the total rounded the same way, not to a drift
    assert round(sum(rounded) / unit) == round(
        km.round_half_up(sum(values), digits) / unit
    )
    # each part is its value rounded down or up
    for part, value in zip(rounded, values):
        assert value - unit - 1e-9 <= part <= value + unit + 1e-9


def test_rounded_to_total_gives_units_to_the_largest_remainders():
    # 0.34 + 0.33 + 0.33 = 1.0, where each rounded alone gives 0.9 in all
    assert km.rounded_to_total([0.34, 0.33, 0.33], 1) == [0.4, 0.3, 0.3]
    assert km.rounded_to_total([-0.34, -0.33, 0.67, 12.55], 1) == [
        -0.3,
        -0.3,
        0.7,
        12.5,
    ]
    assert km.rounded_to_total([], 1) == []
