"""Enforcement facts: pure functions, no I/O.

A listing runs ``[listed_on, removed_on)`` and a restriction ``[restricted_since,
lifted_on)``: removed on the reference date is no longer listed on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.model import period_contains


@dataclass(frozen=True, slots=True)
class Period:
    """One listing, or one restriction order: when it took effect, when it ended."""

    since: date
    until: date | None


def in_force(periods: Iterable[Period], as_of: date) -> bool:
    """Some listing (or restriction) of the subject is in force on ``as_of``."""
    return any(period_contains(period.since, period.until, as_of) for period in periods)
