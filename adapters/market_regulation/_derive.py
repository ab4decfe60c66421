"""Business registration facts: pure functions, no I/O.

A person runs a business on a date when they hold a role in it then (``[since, until)``)
and the entity is registered then (``[established_on, deregistered_on)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.model import period_contains


@dataclass(frozen=True, slots=True)
class BusinessRole:
    credit_code: str
    since: date
    until: date | None
    established_on: date
    deregistered_on: date | None

    def active_on(self, as_of: date) -> bool:
        return period_contains(self.since, self.until, as_of) and period_contains(
            self.established_on, self.deregistered_on, as_of
        )


def active_businesses(roles: Iterable[BusinessRole], as_of: date) -> int:
    """Distinct registered businesses the person owns or represents on ``as_of``."""
    return len({role.credit_code for role in roles if role.active_on(as_of)})
