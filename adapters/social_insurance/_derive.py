"""Social insurance facts from contribution and status records: pure functions, no I/O.

Enrolment is judged from the status *history*, so a status change recorded after the
reference date does not change what was true on it: the status in force on ``as_of`` is the
latest change effective on or before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.model import continuous_months_up_to, months_paid_within

ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: str
    effective_from: date


@dataclass(frozen=True, slots=True)
class Insured:
    """What the fund holds about one person; ``NOT_INSURED`` for someone it does not hold."""

    enrolled_since: date | None
    changes: tuple[StatusChange, ...]
    """Oldest first; on equal dates the later entry is the later change."""
    paid_months: frozenset[int]
    """Month indexes with a contribution (see ``verifier.model.months_from_spans``)."""


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
