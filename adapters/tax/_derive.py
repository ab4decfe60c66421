"""Tax facts from income-tax months and arrears: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.model import months_paid_within


@dataclass(frozen=True, slots=True)
class Arrear:
    due_date: date
    settled_on: date | None


def income_tax_months(paid_months: frozenset[int], as_of: date, window_months: int) -> int:
    return months_paid_within(paid_months, as_of, window_months)


def has_overdue(arrears: Iterable[Arrear], as_of: date) -> bool:
    """Tax past its due date on ``as_of`` and not settled by then.

    Due on ``as_of`` is not yet overdue; settled on ``as_of`` is no longer overdue.
    """
    return any(
        a.due_date < as_of and (a.settled_on is None or a.settled_on > as_of) for a in arrears
    )
