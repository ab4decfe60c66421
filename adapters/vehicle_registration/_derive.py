"""Vehicle facts from ownership records: pure functions, no I/O.

Ownership runs ``[registered_on, transferred_on)``: a car sold on the reference date is no
longer owned on it, one bought on it already is. The threshold of a "valued over" question
comes from the service item's dated parameters; the answer is a yes/no, never the value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.model import period_contains


@dataclass(frozen=True, slots=True)
class VehicleOwnership:
    plate_no: str
    assessed_value: int
    registered_on: date
    transferred_on: date | None


def owned_on(ownerships: Iterable[VehicleOwnership], as_of: date) -> list[VehicleOwnership]:
    return [o for o in ownerships if period_contains(o.registered_on, o.transferred_on, as_of)]


def vehicles_owned(ownerships: Iterable[VehicleOwnership], as_of: date) -> int:
    """Distinct vehicles registered to the person on ``as_of``."""
    return len({o.plate_no for o in owned_on(ownerships, as_of)})


def owns_vehicle_valued_over(
    ownerships: Iterable[VehicleOwnership], as_of: date, threshold_yuan: int
) -> bool:
    """Some vehicle registered to the person on ``as_of`` is assessed above the threshold."""
    return any(o.assessed_value > threshold_yuan for o in owned_on(ownerships, as_of))
