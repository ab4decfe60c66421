"""Household facts from household records: pure functions, no I/O.

A registration period is ``[registered_since, registered_until)``: a move that takes effect
on the reference date already counts there (see ``verifier.model.period_contains``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.adapter import Unknown
from verifier.model import UnknownReason, period_contains

PENDING_TRANSFER = "pending_transfer"


@dataclass(frozen=True, slots=True)
class Registration:
    district_code: str
    since: date
    until: date | None
    household_no: str | None = None


@dataclass(frozen=True, slots=True)
class Resident:
    record_status: str
    registrations: tuple[Registration, ...]


@dataclass(frozen=True, slots=True)
class Guardianship:
    recorded_since: date


def in_population_register(resident: Resident | None) -> bool:
    """The bureau holds the person (a migrant with no registration here, or one whose
    record is being transferred, included): what a "no" about them is evidence of."""
    return resident is not None


def registration_on(resident: Resident | None, as_of: date) -> Registration | Unknown | None:
    """The registration in force on ``as_of``; Unknown while the record is being transferred.

    A resident the bureau does not hold, or holds without a current registration, is
    registered nowhere here (a known negative). Should periods overlap (bad data), the one
    that started last wins: it records the latest move.
    """
    if resident is None:
        return None
    if resident.record_status == PENDING_TRANSFER:
        return Unknown(UnknownReason.RECORD_PENDING)
    current = None
    for registration in resident.registrations:
        if period_contains(registration.since, registration.until, as_of) and (
            current is None or registration.since > current.since
        ):
            current = registration
    return current


def local_registration(resident: Resident | None, as_of: date, city_prefix: str) -> bool | Unknown:
    registration = registration_on(resident, as_of)
    if isinstance(registration, Unknown):
        return registration
    return registration is not None and registration.district_code.startswith(city_prefix)


def registered_in_district(resident: Resident | None, as_of: date, district: str) -> bool | Unknown:
    registration = registration_on(resident, as_of)
    if isinstance(registration, Unknown):
        return registration
    return registration is not None and registration.district_code == district


def is_guardian(guardianships: Iterable[Guardianship], as_of: date) -> bool:
    """The register records the pair (any relation) on or before the reference date."""
    return any(entry.recorded_since <= as_of for entry in guardianships)


@dataclass(frozen=True, slots=True)
class Booklet:
    """One household booklet's (户号) registrations: who is entered in it, and when."""

    entries: tuple[tuple[str, date, date | None], ...]
    """(resident id, registered since, registered until) of every registration in it."""

    def members_on(self, as_of: date) -> set[str]:
        return {rid for rid, since, until in self.entries if period_contains(since, until, as_of)}


def same_household(member: Resident | None, head: Resident | None, as_of: date) -> bool | Unknown:
    """Both are entered in one household booklet on ``as_of`` (by the register's own record)."""
    first = registration_on(member, as_of)
    if isinstance(first, Unknown):
        return first
    second = registration_on(head, as_of)
    if isinstance(second, Unknown):
        return second
    return (
        first is not None
        and second is not None
        and first.household_no is not None
        and first.household_no == second.household_no
    )


def household_larger_than(
    head: Resident | None, booklets: dict[str, Booklet], as_of: date, members: int
) -> bool | Unknown:
    """The booklet the subject is entered in on ``as_of`` lists more than ``members`` people
    (the subject included): someone the application did not name belongs to the family."""
    registration = registration_on(head, as_of)
    if isinstance(registration, Unknown):
        return registration
    if registration is None or registration.household_no is None:
        return False
    booklet = booklets.get(registration.household_no, Booklet(()))
    return len(booklet.members_on(as_of)) > members
