"""Building blocks for planted samples: people with exact histories, and their expectations.

Planted people take their ID sequence numbers from 900-999 (the random population uses
000-899), so no random person can share or disturb a sample's records. Months are given as
"months before the reference month" (0 is the reference month itself).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from adapters.demo_city import _vocabulary as words
from adapters.demo_city._calendar import add_months, add_years, birth_date, month_of
from adapters.demo_city._manifest import DemoSample, ExpectedFact, FactAnswer
from adapters.demo_city._model import (
    PENDING_TRANSFER,
    SAMPLE_SEQUENCES,
    Arrear,
    Guardianship,
    Home,
    Household,
    IdMint,
    Ownership,
    Person,
    Registration,
    Rental,
    Span,
)
from verifier.model import resident_id_check_character

SCHOOL_PLACE = {
    "service_item": "school_place",
    "purpose": "compulsory_education_admission",
    "legal_basis": "《义务教育法》第十二条",
    "operator": "clerk-0042",
}
FIRST_HOME = {
    "service_item": "first_home_purchase",
    "purpose": "first_home_purchase_qualification",
    "legal_basis": "《不动产登记暂行条例》第二十七条",
    "operator": "clerk-0107",
}


class Planter:
    def __init__(self, seed: int, reference_date: date, ids: IdMint) -> None:
        self.rng = random.Random(f"{seed}:samples")
        self.today = reference_date
        self.month = month_of(reference_date)
        self._ids = ids
        self.households: list[Household] = []
        self.samples: list[DemoSample] = []

    # People -----------------------------------------------------------------------------

    def person(
        self, gender: str, age: int, code: str, district: str, *, sequence: int | None = None
    ) -> Person:
        born = birth_date(self.rng, self.today, age, age)
        return self.person_born(gender, born, code, district, sequence=sequence)

    def person_born(
        self, gender: str, born: date, code: str, district: str, *, sequence: int | None = None
    ) -> Person:
        candidates = [sequence] if sequence is not None else list(SAMPLE_SEQUENCES)
        resident_id = None
        for candidate in candidates:
            resident_id = self._ids.mint(code, born, gender, candidate)
            if resident_id is not None:
                break
        if resident_id is None:
            raise RuntimeError("no free sample sequence number")  # pragma: no cover
        return Person(
            resident_id=resident_id,
            name=words.person_name(self.rng, gender),
            gender=gender,
            birth_date=born,
            phone=words.phone(self.rng),
            home_address=words.address(self.rng, district),
            district_code=district,
        )

    def twins_with_x(self, code: str, age: int, district: str) -> tuple[Person, Person]:
        """Twins (consecutive sequence numbers) of whom the first's ID ends in X."""
        born = birth_date(self.rng, self.today, age, age)
        for sequence in range(SAMPLE_SEQUENCES.start, SAMPLE_SEQUENCES.stop - 1):
            body = f"{code}{born:%Y%m%d}{sequence:03d}"
            if resident_id_check_character(body) == "X":
                other = sequence + 1 if sequence + 1 < SAMPLE_SEQUENCES.stop else sequence - 1
                genders = ["M" if s % 2 else "F" for s in (sequence, other)]
                with_x = self.person_born(genders[0], born, code, district, sequence=sequence)
                twin = self.person_born(genders[1], born, code, district, sequence=other)
                return with_x, twin
        raise RuntimeError("no X check character in the sample range")  # pragma: no cover

    def registered(self, person: Person, *periods: tuple[str, date, date | None]) -> None:
        person.registrations = [
            Registration(code, since, until, words.address(self.rng, code))
            for code, since, until in periods
        ]

    def local(self, person: Person, district: str) -> None:
        self.registered(person, (district, person.birth_date, None))

    def pending(self, person: Person) -> None:
        person.record_status = PENDING_TRANSFER

    # Departments ------------------------------------------------------------------------

    def insured(self, person: Person, *ranges: tuple[int, int]) -> None:
        employer = words.company(self.rng)
        person.insurance = [
            Span(self.month - first, self.month - last, 8_000, employer) for first, last in ranges
        ]
        person.employer = employer

    def taxed(self, person: Person, *ranges: tuple[int, int]) -> None:
        employer = person.employer or words.company(self.rng)
        person.tax = [
            Span(self.month - first, self.month - last, 120, employer) for first, last in ranges
        ]

    def arrear(self, person: Person, due_days_ago: int, settled_days_ago: int | None) -> None:
        settled = None if settled_days_ago is None else self.today - timedelta(settled_days_ago)
        due = self.today - timedelta(days=due_days_ago)
        person.arrears.append(Arrear("个人所得税", 1_250, due, settled))

    def rent(self, person: Person, district: str, *contracts: tuple[date, date]) -> None:
        landlord = words.person_name(self.rng, "M")
        address = words.address(self.rng, district)
        person.rentals = [
            Rental(district, start, end, 4_200, landlord, words.phone(self.rng), address)
            for start, end in contracts
        ]

    def home(
        self,
        household: Household,
        district: str,
        owners: list[tuple[Person, int]],
        bought: date,
        sold: date | None = None,
    ) -> None:
        ownerships = [Ownership(p.resident_id, share, bought, sold) for p, share in owners]
        address = words.address(self.rng, district)
        household.homes.append(Home(district, address, 89.5, 5_600_000, ownerships))

    def guardian(self, household: Household, parent: Person, child: Person, since: date) -> None:
        relation = "father" if parent.gender == "M" else "mother"
        certificate = f"O{self.rng.randrange(10**9):09d}"
        household.guardianships.append(
            Guardianship(parent.resident_id, child.resident_id, relation, since, certificate)
        )

    def household(self, *people: Person) -> Household:
        household = Household(list(people), planted=True)
        self.households.append(household)
        return household

    # Dates ------------------------------------------------------------------------------

    def months_ago(self, months: int) -> date:
        return add_months(self.today, -months)

    def years_ago(self, years: int) -> date:
        return add_years(self.today, -years)

    # Samples ----------------------------------------------------------------------------

    def sample(
        self,
        name: str,
        expected: str,
        description: str,
        template: dict[str, str],
        subjects: dict[str, Person],
        parameters: dict[str, str | int],
        facts: list[ExpectedFact],
        what_if: dict[str, str] | None = None,
    ) -> None:
        number = len(self.samples) + 1
        prefix = template.get("case_prefix") or ("EDU" if template is SCHOOL_PLACE else "HOUSE")
        application: dict[str, Any] = {
            "service_item": template["service_item"],
            "subjects": [{"role": role, "id": p.resident_id} for role, p in subjects.items()],
            "parameters": parameters,
            "reference_date": self.today.isoformat(),
            "purpose": template["purpose"],
            "legal_basis": template["legal_basis"],
            "case_number": f"SZ-{prefix}-{self.today.year}-{number:06d}",
            "operator": template["operator"],
        }
        if template is FIRST_HOME or template.get("consent") == "signed":
            # Property and tax facts are shared only with the buyer's signed authorisation
            # (授权书), which the service hall keeps and cites by number.
            application["consent_reference"] = f"AUTH-{prefix}-{self.today.year}-{number:06d}"
        self.samples.append(
            DemoSample(name, description, expected, application, tuple(facts), what_if or {})
        )


def fact(
    department: str,
    name: str,
    value: FactAnswer | None,
    role: str,
    *,
    unknown: str | None = None,
    **parameters: str | int,
) -> ExpectedFact:
    """An expected one-subject fact (slot ``subject``) about the application's ``role``."""
    return ExpectedFact(department, name, {"subject": role}, parameters, value, unknown)


def guardian_fact(value: bool) -> ExpectedFact:
    return ExpectedFact(
        "household", "guardian_of", {"guardian": "guardian", "child": "child"}, {}, value
    )
