"""Housing facts from ownership and rental records: pure functions, no I/O.

Ownership runs ``[registered_on, released_on)`` and a rental ``[start_date, end_date)``:
a home sold on the reference date is no longer owned on it, one bought on it already is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.model import continuous_months_covering, period_contains


@dataclass(frozen=True, slots=True)
class Ownership:
    house_code: str
    registered_on: date
    released_on: date | None


@dataclass(frozen=True, slots=True)
class Rental:
    district_code: str
    start: date
    end: date


def homes_owned(ownerships: Iterable[Ownership], as_of: date) -> int:
    """Distinct homes with an ownership (any share) in force on ``as_of``."""
    return len(
        {o.house_code for o in ownerships if period_contains(o.registered_on, o.released_on, as_of)}
    )


def rental_months_in_district(rentals: Iterable[Rental], district: str, as_of: date) -> int:
    """Whole months of uninterrupted registered rental in ``district`` covering ``as_of``.

    Back-to-back contracts (one ends the day the next starts) count as one stretch, even
    for different homes in the district.
    """
    periods = [(r.start, r.end) for r in rentals if r.district_code == district]
    return continuous_months_covering(periods, as_of)
