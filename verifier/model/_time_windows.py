"""Built-in time-window derivations shared by every department.

Departments hand over raw periods (months contributed, registration periods); the
rules ask policy questions ("12 continuous months up to the cut-off date?"). These
functions are where those questions get one precise, tested answer, so that two
departments cannot count the same calendar differently.

Months are plain ints, a "month index" = year * 12 + (month - 1), so consecutive months
are consecutive integers and spans are cheap to store and compare.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Set
from datetime import date, timedelta


def month_index(day: date) -> int:
    """The month index of the month containing `day`."""
    return day.year * 12 + (day.month - 1)


def months_from_spans(spans: Iterable[tuple[int, int]]) -> frozenset[int]:
    """The union of inclusive month-index spans (first, last); last < first adds nothing."""
    return frozenset(month for first, last in spans for month in range(first, last + 1))


def continuous_months_up_to(paid_months: Set[int], as_of: date) -> int:
    """Consecutive paid months ending at the reference month (the month of `as_of`).

    Policy: the reference month counts if it is paid. If it is not, counting starts
    from the month before, because the current month's contribution may not have been
    collected yet; an unpaid reference month is neither counted nor a break. Any other
    missing month ends the run. Paid months after the reference month are ignored.
    """
    month = month_index(as_of)
    if month not in paid_months:
        month -= 1
    count = 0
    while month in paid_months:
        count += 1
        month -= 1
    return count


def months_paid_within(paid_months: Set[int], as_of: date, window_months: int) -> int:
    """Distinct paid months among the `window_months` months ending with the reference month.

    The window includes the reference month (the month of `as_of`) whether or not it is
    paid: unlike `continuous_months_up_to`, a window does not shift back.
    """
    if window_months < 1:
        raise ValueError("window_months must be at least 1")
    last = month_index(as_of)
    first = last - window_months + 1
    return sum(1 for month in paid_months if first <= month <= last)


def period_contains(start: date, end: date | None, as_of: date) -> bool:
    """Whether `as_of` falls in [start, end): end exclusive, None meaning open-ended.

    So a change effective on the reference date already counts: a registration that
    starts on `as_of` contains it, and the one it replaced (ending on `as_of`) does not.
    """
    return start <= as_of and (end is None or as_of < end)


def whole_months_between(start: date, end: date) -> int:
    """The largest n >= 0 with add_months(start, n) <= end; 0 if end < start.

    add_months moves n calendar months from `start` and keeps its day of the month,
    clamped to the last day of the target month: Jan 31 + 1 month is Feb 28 (Feb 29 in
    a leap year), Jan 31 + 2 months is Mar 31. Each step is taken from `start`, not from
    the previous clamped date, so a month-end start does not drift earlier.
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and _add_months(start, months) > end:
        months -= 1
    return max(months, 0)


def continuous_months_covering(periods: Iterable[tuple[date, date | None]], as_of: date) -> int:
    """Whole months of uninterrupted coverage up to and including the day `as_of`.

    Periods are [start, end) with None meaning open-ended; empty ones (end <= start) are
    dropped. Periods that overlap or touch (one ends the day the next starts) merge into
    one stretch. For the stretch that contains `as_of` (see `period_contains`) the result
    is whole_months_between(stretch start, as_of + 1 day): the day `as_of` itself counts
    as covered, so a stretch from 2025-09-01 gives 12 on 2026-08-31. No stretch, 0.
    """
    stretch_start: date | None = None
    stretch_end: date | None = None
    for start, end in sorted(
        ((s, e) for s, e in periods if e is None or s < e), key=lambda period: period[0]
    ):
        if stretch_start is not None and (stretch_end is None or start <= stretch_end):
            # Overlaps or touches the current stretch: extend it (None is unbounded).
            stretch_end = None if stretch_end is None or end is None else max(stretch_end, end)
            continue
        if stretch_start is not None and period_contains(stretch_start, stretch_end, as_of):
            break
        stretch_start, stretch_end = start, end
    if stretch_start is None or not period_contains(stretch_start, stretch_end, as_of):
        return 0
    return whole_months_between(stretch_start, as_of + timedelta(days=1))


def _add_months(day: date, months: int) -> date:
    """`day` moved by `months` calendar months, its day clamped to the target month's end."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last_day))
