"""Social insurance facts from contribution and status records: pure functions, no I/O.

Enrolment is judged from the status *history*, so a status change recorded after the
reference date does not change what was true on it: the status in force on ``as_of`` is the
latest change effective on or before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.model import continuous_months_up_to, month_index, months_paid_within, period_contains

ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: str
    effective_from: date


@dataclass(frozen=True, slots=True)
class BaseSpan:
    """Months ``first..last`` (inclusive month indexes) contributed on a monthly wage base."""

    first: int
    last: int
    monthly_base: int


@dataclass(frozen=True, slots=True)
class Pension:
    started_on: date
    stopped_on: date | None


@dataclass(frozen=True, slots=True)
class Insured:
    """What the fund holds about one person; ``NOT_INSURED`` for someone it does not hold."""

    enrolled_since: date | None
    changes: tuple[StatusChange, ...]
    """Oldest first; on equal dates the later entry is the later change."""
    paid_months: frozenset[int]
    """Month indexes with a contribution (see ``verifier.model.months_from_spans``)."""
    base_spans: tuple[BaseSpan, ...] = ()
    pensions: tuple[Pension, ...] = ()
    benefit_months: frozenset[int] = frozenset()
    """Month indexes for which unemployment benefit was paid."""


NOT_INSURED = Insured(None, (), frozenset())


def status_on(changes: Iterable[StatusChange], as_of: date) -> str | None:
    status = None
    for change in changes:
        if change.effective_from <= as_of:
            status = change.status
    return status


def enrolled(insured: Insured, as_of: date) -> bool:
    if insured.enrolled_since is None or insured.enrolled_since > as_of:
        return False
    return status_on(insured.changes, as_of) == ACTIVE


def continuous_months(insured: Insured, as_of: date) -> int:
    return continuous_months_up_to(insured.paid_months, as_of)


def months_in_window(insured: Insured, as_of: date, window_months: int) -> int:
    return months_paid_within(insured.paid_months, as_of, window_months)


def average_base_exceeds(
    insured: Insured, as_of: date, window_months: int, threshold_yuan: int
) -> bool:
    """The mean monthly contribution base over the window ending with the reference month
    (a month without a contribution counts as no income; two employers' bases add up) is
    above the threshold: a status answer, the income itself never leaves the fund."""
    last = month_index(as_of)
    first = last - window_months + 1
    total = 0
    for span in insured.base_spans:
        overlap = min(span.last, last) - max(span.first, first) + 1
        if overlap > 0:
            total += overlap * span.monthly_base
    return total > threshold_yuan * window_months


def contribution_months_since(insured: Insured, as_of: date, since: date) -> int:
    """Months with a contribution from the month of ``since`` up to the reference month."""
    first, last = month_index(since), month_index(as_of)
    return sum(1 for month in insured.paid_months if first <= month <= last)


def pension_drawn(insured: Insured, as_of: date) -> bool:
    """A pension is in payment on ``as_of`` (``[started_on, stopped_on)``)."""
    return any(period_contains(p.started_on, p.stopped_on, as_of) for p in insured.pensions)


def benefit_months_drawn(insured: Insured, as_of: date, since: date) -> int:
    """Months of unemployment benefit paid from the month of ``since`` (the start of the
    benefit being re-checked) up to the reference month: an earlier spell, years ago, is
    another entitlement (《失业保险条例》第十七条)."""
    first, last = month_index(since), month_index(as_of)
    return sum(1 for month in insured.benefit_months if first <= month <= last)
