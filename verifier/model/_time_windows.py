"""Built-in time-window derivations shared by every department. HELPER FILLS THIS IN."""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import date


def month_index(day: date) -> int:
    raise NotImplementedError


def months_from_spans(spans: Iterable[tuple[int, int]]) -> frozenset[int]:
    raise NotImplementedError


def continuous_months_up_to(paid_months: Set[int], as_of: date) -> int:
    raise NotImplementedError


def months_paid_within(paid_months: Set[int], as_of: date, window_months: int) -> int:
    raise NotImplementedError


def period_contains(start: date, end: date | None, as_of: date) -> bool:
    raise NotImplementedError


def continuous_months_covering(periods: Iterable[tuple[date, date | None]], as_of: date) -> int:
    raise NotImplementedError
