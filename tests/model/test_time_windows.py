"""Time windows: the boundaries policy cares about, plus naive reference implementations.

The references walk (year, month) pairs and single days, never month indexes, so they
do not share the module's arithmetic.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.model._time_windows import (
    continuous_months_covering,
    continuous_months_up_to,
    month_index,
    months_from_spans,
    months_paid_within,
    period_contains,
    whole_months_between,
)

AS_OF = date(2026, 8, 31)
REF = month_index(AS_OF)


def months(first: tuple[int, int], last: tuple[int, int]) -> set[int]:
    """Month indexes from (year, month) `first` to `last`, inclusive."""
    result = set()
    year, month = first
    while (year, month) <= last:
        result.add(month_index(date(year, month, 1)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


# --- month indexes and spans -----------------------------------------------------------


def test_month_index_is_consecutive_across_a_year_end() -> None:
    assert month_index(date(2026, 1, 1)) == 2026 * 12
    assert month_index(date(2026, 1, 31)) == month_index(date(2026, 1, 1))
    assert month_index(date(2025, 12, 31)) + 1 == month_index(date(2026, 1, 1))


def test_months_from_spans() -> None:
    assert months_from_spans([]) == frozenset()
    assert months_from_spans([(5, 5)]) == {5}
    assert months_from_spans([(1, 3), (2, 4), (8, 9)]) == {1, 2, 3, 4, 8, 9}
    assert months_from_spans([(7, 6), (3, 1)]) == frozenset()


# --- continuous paid months ------------------------------------------------------------


def test_twelve_paid_months_ending_in_the_reference_month() -> None:
    assert continuous_months_up_to(months((2025, 9), (2026, 8)), AS_OF) == 12


def test_unpaid_reference_month_counts_from_the_month_before() -> None:
    assert continuous_months_up_to(months((2025, 8), (2026, 7)), AS_OF) == 12


def test_eleven_months_is_eleven() -> None:
    assert continuous_months_up_to(months((2025, 9), (2026, 7)), AS_OF) == 11


def test_a_gap_month_breaks_the_run() -> None:
    paid = months((2026, 1), (2026, 8)) - months((2026, 4), (2026, 4))
    assert continuous_months_up_to(paid, AS_OF) == 4


def test_two_unpaid_months_at_the_end_give_zero() -> None:
    assert continuous_months_up_to(months((2020, 1), (2026, 6)), AS_OF) == 0
    assert continuous_months_up_to(set(), AS_OF) == 0


def test_months_after_the_reference_month_are_ignored() -> None:
    assert continuous_months_up_to(months((2025, 9), (2027, 12)), AS_OF) == 12
    # A later month does not stand in for an unpaid reference month either.
    paid = months((2025, 8), (2026, 7)) | months((2026, 9), (2026, 9))
    assert continuous_months_up_to(paid, AS_OF) == 12
    assert continuous_months_up_to(months((2026, 9), (2027, 1)), AS_OF) == 0


def test_any_day_of_the_reference_month_gives_the_same_answer() -> None:
    paid = months((2025, 9), (2026, 8))
    assert {continuous_months_up_to(paid, date(2026, 8, d)) for d in range(1, 32)} == {12}
    assert continuous_months_up_to(paid, date(2026, 9, 1)) == 12  # September not yet paid
    assert continuous_months_up_to(paid, date(2026, 10, 1)) == 0


# --- paid months within a window -------------------------------------------------------


def test_window_holds_exactly_the_months_ending_with_the_reference_month() -> None:
    paid = set(range(REF - 60, REF + 12))
    assert months_paid_within(paid, AS_OF, 36) == 36
    assert months_paid_within({REF - 35}, AS_OF, 36) == 1  # the window's first month
    assert months_paid_within({REF - 36}, AS_OF, 36) == 0  # the month before it
    assert months_paid_within({REF}, AS_OF, 36) == 1  # the reference month itself
    assert months_paid_within({REF + 1}, AS_OF, 36) == 0  # after it


def test_window_counts_distinct_months_with_gaps() -> None:
    paid = months((2023, 9), (2026, 8)) - months((2025, 1), (2025, 6))
    assert months_paid_within(paid, AS_OF, 36) == 30
    assert months_paid_within(paid, AS_OF, 1) == 1
    # Unlike the continuous count, the window does not shift back past an unpaid month.
    assert months_paid_within(months((2025, 8), (2026, 7)), AS_OF, 12) == 11


@pytest.mark.parametrize("window", [0, -1])
def test_window_must_be_at_least_one_month(window: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        months_paid_within({REF}, AS_OF, window)


# --- periods ---------------------------------------------------------------------------


def test_period_end_is_exclusive_and_start_inclusive() -> None:
    cut_off = date(2026, 8, 31)
    # A move effective on the cut-off date: the new registration already counts...
    assert period_contains(cut_off, None, cut_off)
    # ...and the old one, ending that day, no longer does.
    assert not period_contains(date(2020, 1, 1), cut_off, cut_off)
    assert period_contains(date(2020, 1, 1), cut_off, cut_off - timedelta(days=1))
    assert not period_contains(cut_off + timedelta(days=1), None, cut_off)
    assert not period_contains(cut_off, cut_off, cut_off)  # empty


@pytest.mark.parametrize(
    ("start", "as_of", "expected"),
    [
        (date(2025, 9, 1), date(2026, 8, 31), 12),
        (date(2025, 9, 2), date(2026, 8, 31), 11),
        (date(2025, 9, 1), date(2026, 8, 30), 11),
        # The same 365 days shifted back by one: 2025-08-31 .. 2026-08-30 inclusive is a
        # full year, just like 2025-09-01 .. 2026-08-31.
        (date(2025, 8, 31), date(2026, 8, 30), 12),
        (date(2025, 8, 31), date(2026, 8, 29), 11),
        (date(2025, 8, 31), date(2026, 8, 31), 12),
        (date(2026, 8, 31), date(2026, 8, 31), 0),
        # Month-end clamping: Jan 31 + 1 month is Feb 28, so Jan 31 .. Feb 27 is a month.
        (date(2026, 1, 31), date(2026, 2, 27), 1),
        (date(2026, 1, 31), date(2026, 2, 26), 0),
        (date(2024, 1, 31), date(2024, 2, 28), 1),  # leap year: Jan 31 + 1 month = Feb 29
        (date(2024, 1, 31), date(2024, 2, 27), 0),
        (date(2026, 1, 31), date(2026, 3, 30), 2),  # steps from Jan 31, not from Feb 28
        (date(2026, 1, 31), date(2026, 3, 29), 1),
        (date(2024, 2, 29), date(2025, 2, 27), 12),  # Feb 29 + 12 months = Feb 28, 2025
        (date(2024, 2, 29), date(2025, 2, 26), 11),
    ],
)
def test_whole_months_of_one_open_period(start: date, as_of: date, expected: int) -> None:
    assert continuous_months_covering([(start, None)], as_of) == expected
    assert continuous_months_covering([(start, as_of + timedelta(days=1))], as_of) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 1, 31), date(2026, 2, 28), 1),
        (date(2026, 1, 31), date(2026, 2, 27), 0),
        (date(2026, 1, 31), date(2026, 3, 31), 2),
        (date(2026, 8, 31), date(2026, 9, 30), 1),
        (date(2026, 8, 31), date(2026, 10, 30), 1),
        (date(2026, 8, 31), date(2026, 10, 31), 2),
        (date(2026, 5, 15), date(2026, 5, 15), 0),
        (date(2026, 5, 15), date(2026, 5, 14), 0),
        (date(2026, 5, 15), date(2025, 1, 1), 0),
    ],
)
def test_whole_months_between(start: date, end: date, expected: int) -> None:
    assert whole_months_between(start, end) == expected


def test_move_on_the_cut_off_date_keeps_continuity() -> None:
    old = (date(2025, 9, 1), AS_OF)
    new = (AS_OF, None)
    assert continuous_months_covering([old, new], AS_OF) == 12
    # A one-day gap between the two registrations restarts the count.
    gap = (date(2025, 9, 1), AS_OF - timedelta(days=1))
    assert continuous_months_covering([gap, new], AS_OF) == 0


def test_only_an_old_registration_ending_on_the_cut_off_date_gives_zero() -> None:
    assert continuous_months_covering([(date(2020, 1, 1), AS_OF)], AS_OF) == 0


def test_touching_and_overlapping_rentals_merge_in_any_order() -> None:
    rentals = [
        (date(2026, 3, 1), date(2026, 9, 1)),
        (date(2025, 9, 1), date(2026, 1, 1)),  # touches the next one
        (date(2025, 12, 1), date(2026, 3, 15)),  # overlaps both neighbours
    ]
    assert continuous_months_covering(rentals, AS_OF) == 12
    assert continuous_months_covering(reversed(rentals), AS_OF) == 12


def test_a_contained_period_does_not_shorten_the_stretch() -> None:
    rentals = [(date(2025, 9, 1), None), (date(2026, 1, 1), date(2026, 2, 1))]
    assert continuous_months_covering(rentals, AS_OF) == 12


def test_earlier_stretches_are_not_counted() -> None:
    rentals = [(date(2020, 1, 1), date(2026, 2, 1)), (date(2026, 2, 2), None)]
    assert continuous_months_covering(rentals, AS_OF) == 6  # 2026-02-02 .. 2026-08-31


def test_as_of_in_an_earlier_stretch_ignores_later_ones() -> None:
    rentals = [(date(2025, 9, 1), date(2026, 12, 1)), (date(2027, 1, 1), None)]
    assert continuous_months_covering(rentals, AS_OF) == 12


def test_empty_periods_are_ignored() -> None:
    assert continuous_months_covering([], AS_OF) == 0
    assert continuous_months_covering([(AS_OF, AS_OF)], AS_OF) == 0
    # A reversed period neither covers the cut-off date nor bridges a gap.
    rentals = [
        (date(2025, 1, 1), date(2025, 9, 1)),
        (date(2025, 9, 1), date(2025, 8, 1)),
        (date(2025, 9, 2), None),
    ]
    assert continuous_months_covering(rentals, AS_OF) == 11


# --- properties against naive references -----------------------------------------------


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def naive_continuous(paid: set[tuple[int, int]], as_of: date) -> int:
    current = (as_of.year, as_of.month)
    if current not in paid:
        current = previous_month(*current)
    count = 0
    while current in paid:
        count += 1
        current = previous_month(*current)
    return count


def naive_within(paid: set[tuple[int, int]], as_of: date, window: int) -> int:
    current = (as_of.year, as_of.month)
    count = 0
    for _ in range(window):
        count += current in paid
        current = previous_month(*current)
    return count


def naive_add_months(day: date, n: int) -> date:
    year, month = day.year, day.month
    for _ in range(n):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def naive_covering(periods: list[tuple[date, date | None]], as_of: date) -> int:
    def covered(day: date) -> bool:
        return any(start <= day and (end is None or day < end) for start, end in periods)

    if not covered(as_of):
        return 0
    first = as_of
    while covered(first - timedelta(days=1)):
        first -= timedelta(days=1)
    count = 0
    while naive_add_months(first, count + 1) <= as_of + timedelta(days=1):
        count += 1
    return count


year_months = st.tuples(st.integers(2022, 2027), st.integers(1, 12))
days = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))


@given(st.sets(year_months, max_size=60), days)
def test_continuous_months_match_a_month_by_month_walk(
    paid: set[tuple[int, int]], as_of: date
) -> None:
    indexes = {month_index(date(year, month, 1)) for year, month in paid}
    assert continuous_months_up_to(indexes, as_of) == naive_continuous(paid, as_of)


@given(st.sets(year_months, max_size=60), days, st.integers(1, 60))
def test_window_count_matches_a_month_by_month_walk(
    paid: set[tuple[int, int]], as_of: date, window: int
) -> None:
    indexes = frozenset(month_index(date(year, month, 1)) for year, month in paid)
    assert months_paid_within(indexes, as_of, window) == naive_within(paid, as_of, window)


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, date | None]:
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)))
    length = draw(st.none() | st.integers(-3, 500))
    return start, None if length is None else start + timedelta(days=length)


@settings(max_examples=500, deadline=None)
@given(st.lists(periods(), max_size=6), st.dates(date(2024, 1, 1), date(2026, 12, 31)))
def test_covering_matches_a_day_by_day_walk(
    rentals: list[tuple[date, date | None]], as_of: date
) -> None:
    assert continuous_months_covering(rentals, as_of) == naive_covering(rentals, as_of)


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)), st.integers(0, 400))
def test_whole_months_between_matches_stepping(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    count = 0
    while naive_add_months(start, count + 1) <= end:
        count += 1
    assert whole_months_between(start, end) == count
