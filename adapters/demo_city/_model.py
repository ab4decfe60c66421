"""The synthetic city's people and homes, before they become the departments' rows.

A profile holds a person's whole story (registrations, contributions, tax, rentals) in plain
dates and month indexes; ``_rows`` turns profiles into table rows. The random population and
the planted samples build the same profiles, so both land in the databases the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from verifier.model import resident_id_check_character

NORMAL = "normal"
PENDING_TRANSFER = "pending_transfer"

POPULATION_SEQUENCES = range(0, 900)
"""The random population's ID sequence numbers; 900-999 are the planted samples'."""
SAMPLE_SEQUENCES = range(900, 1000)


@dataclass(slots=True)
class Registration:
    district_code: str
    since: date
    until: date | None
    address: str


@dataclass(slots=True)
class Span:
    """Months ``first_month..last_month`` (inclusive month indexes) paid by ``payer``."""

    first_month: int
    last_month: int
    amount: int
    payer: str


@dataclass(slots=True)
class Rental:
    district_code: str
    start: date
    end: date
    monthly_rent: int
    landlord_name: str
    landlord_phone: str
    address: str
    building_type: str = "urban_village"


@dataclass(slots=True)
class Arrear:
    tax_type: str
    amount: int
    due_date: date
    settled_on: date | None


@dataclass(slots=True)
class Vehicle:
    """A motor vehicle registered to one person (plates and VINs are minted when written)."""

    brand_model: str
    vehicle_type: str
    assessed_value: int
    registered_on: date
    transferred_on: date | None = None


@dataclass(slots=True)
class Business:
    """A business entity and the person's role in it (credit codes minted when written)."""

    name: str
    entity_type: str
    """``individual_business`` (the person is its operator) or ``company``."""
    established_on: date
    deregistered_on: date | None
    since: date
    until: date | None = None
    registered_capital: int | None = None
    address: str = ""


@dataclass(slots=True)
class Death:
    date_of_death: date
    registered_on: date
    place_of_death: str
    reported_by: str
    status: str = "registered"


@dataclass(slots=True)
class PensionAward:
    pension_type: str
    monthly_amount: int
    started_on: date
    stopped_on: date | None = None


@dataclass(slots=True)
class Person:
    resident_id: str
    name: str
    gender: str
    birth_date: date
    phone: str
    home_address: str
    district_code: str
    """Where the person lives (offices and addresses are chosen from it)."""
    record_status: str = NORMAL
    registrations: list[Registration] = field(default_factory=list)
    insurance: list[Span] = field(default_factory=list)
    tax: list[Span] = field(default_factory=list)
    arrears: list[Arrear] = field(default_factory=list)
    rentals: list[Rental] = field(default_factory=list)
    employer: str | None = None
    vehicles: list[Vehicle] = field(default_factory=list)
    businesses: list[Business] = field(default_factory=list)
    death: Death | None = None
    pensions: list[PensionAward] = field(default_factory=list)
    benefits: list[Span] = field(default_factory=list)
    """Months of unemployment benefit paid (``payer``: the benefit office)."""


@dataclass(slots=True)
class Ownership:
    owner_id: str
    share_percent: int
    registered_on: date
    released_on: date | None = None


@dataclass(slots=True)
class Home:
    district_code: str
    address: str
    floor_area_m2: float
    purchase_price: int
    owners: list[Ownership]
    building_type: str = "commodity_housing"


@dataclass(slots=True)
class Guardianship:
    guardian_id: str
    child_id: str
    relation: str
    recorded_since: date
    certificate_no: str


@dataclass(slots=True)
class Household:
    people: list[Person]
    guardianships: list[Guardianship] = field(default_factory=list)
    homes: list[Home] = field(default_factory=list)
    planted: bool = False
    """A planted sample: every text field of every row it owns carries a canary."""


class IdMint:
    """Valid, unique resident IDs: address code, birth date, sequence (odd: male), check."""

    def __init__(self) -> None:
        self._used: set[int] = set()

    def mint(self, address_code: str, born: date, gender: str, sequence: int) -> str | None:
        """The ID for exactly this sequence number, or None if it is taken or has the wrong
        parity for the gender (GB 11643: the sequence's last digit is odd for men)."""
        if (sequence % 2 == 1) != (gender == "M"):
            return None
        body = f"{address_code}{born:%Y%m%d}{sequence:03d}"
        key = int(body)
        if key in self._used:
            return None
        self._used.add(key)
        return body + resident_id_check_character(body)


class CanaryMint:
    """Unique marker strings planted in raw text fields; any of them leaving an adapter is a
    leak. Derived from the seed and a counter (not the population's random stream)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self.minted: list[str] = []

    def _digest(self) -> bytes:
        material = f"{self._seed}:{len(self.minted)}".encode()
        return hashlib.blake2b(material, digest_size=6).digest()

    def text(self, department: str) -> str:
        canary = f"CANARY-{department}-{self._digest().hex()}"
        self.minted.append(canary)
        return canary

    def phone(self) -> str:
        """Numeric-looking on purpose: a filter that only hunts for words would miss it."""
        canary = f"CANARY1{int.from_bytes(self._digest(), 'big') % 10**10:010d}"
        self.minted.append(canary)
        return canary
