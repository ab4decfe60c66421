"""The random population: households, their registrations, homes and rentals.

Distributions (per household unless said otherwise; see the package docstring for more):

- composition: 22 % one adult, 18 % a couple, 48 % a couple with 1-3 children
  (1: 50 %, 2: 42 %, 3: 8 %), 12 % one parent with 1-2 children — 1 to 5 people;
  children are 5-15 years old on the reference date, parents 31-52, other adults 20-70;
  3 % of households with two or more children have twins (same birth date, consecutive
  sequence numbers);
- 40 % local households (household registration in a 4403xx district; a quarter of local
  adults were born elsewhere and moved their registration in), 60 % migrants (ID address
  code of another province or Guangdong city; 70 % without any registration row here,
  30 % with one outside 4403);
- registration moves: 30 % of local adults born here changed district once (5 % of those
  within the last year, 1 % exactly on the reference date); children follow a local
  parent's moves; 0.4 % of people are ``pending_transfer``;
- homes (owned on the reference date): locals 55 % one, 11 % two, 3 % three; migrants 10 %
  one, 2 % two; 70 % of a couple's homes co-owned 50/50; 8 % of owners also sold one before
  (0.2 % of those exactly on the reference date);
- rentals: households owning nothing register a rental (migrants 75 %, locals 35 %):
  contracts of 6/12/24 months, renewed back to back (80 %) or after a short gap, sometimes
  moving district; 12 % of rental histories ended before the reference date.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from adapters.demo_city import _vocabulary as words
from adapters.demo_city._calendar import add_months, add_years, birth_date, random_day
from adapters.demo_city._careers import Careers
from adapters.demo_city._model import (
    PENDING_TRANSFER,
    POPULATION_SEQUENCES,
    Guardianship,
    Home,
    Household,
    IdMint,
    Ownership,
    Person,
    Registration,
    Rental,
)

LOCAL_SHARE = 0.40
MOVED_DISTRICT = 0.30
MOVED_LAST_YEAR = 0.06  # of those who moved (cumulative with the next)
MOVED_ON_REFERENCE_DATE = 0.01
PENDING_SHARE = 0.004
TWIN_SHARE = 0.03


class Population:
    """Draws households from one ``random.Random`` (never the global one)."""

    def __init__(self, rng: random.Random, ids: IdMint, reference_date: date) -> None:
        self._rng = rng
        self._ids = ids
        self._today = reference_date
        self._careers = Careers(rng, reference_date)

    def households(self, people: int) -> Iterator[Household]:
        remaining = people
        while remaining > 0:
            household = self._household(remaining)
            remaining -= len(household.people)
            yield household

    def _household(self, room: int) -> Household:
        rng = self._rng
        local = rng.random() < LOCAL_SHARE
        district = rng.choices(words.DISTRICT_CODES, words.DISTRICT_WEIGHTS)[0]
        origin = rng.choice(words.ORIGIN_CODES)
        roll = rng.random()
        couple = 0.22 <= roll < 0.88
        children = 0
        if roll >= 0.40:
            children = rng.choices((1, 2, 3), (50, 42, 8))[0] if couple else rng.randint(1, 2)
        children = max(0, min(children, room - (2 if couple else 1)))
        count = 2 if couple and room >= 2 else 1
        adults = self._adults(count, children > 0, local, origin, district)
        household = Household(adults)
        if children:
            self._children(household, children, local, origin, district)
        for person in household.people:
            if rng.random() < PENDING_SHARE:
                person.record_status = PENDING_TRANSFER
        for adult in adults:
            self._careers.add(adult, local)
        self._housing(household, local, district)
        return household

    def _adults(
        self, count: int, parents: bool, local: bool, origin: str, district: str
    ) -> list[Person]:
        rng = self._rng
        low, high = (31, 52) if parents else (20, 70)  # parents were 16+ at the eldest birth
        first_age = rng.randint(low, high)
        first_gender = rng.choice("MF")
        adults = [self._adult(first_gender, first_age, local, origin, district)]
        if count == 2:
            age = min(max(first_age + rng.randint(-4, 4), 20), 70)
            other = "F" if first_gender == "M" else "M"
            adults.append(self._adult(other, age, local, origin, district))
        return adults

    def _adult(self, gender: str, age: int, local: bool, origin: str, district: str) -> Person:
        rng = self._rng
        born = birth_date(rng, self._today, age, age)
        if not local:
            person = self.person(origin, born, gender, district)
            if rng.random() < 0.30:
                person.registrations.append(
                    Registration(origin, born, None, words.address(rng, origin))
                )
            return person
        if rng.random() < 0.75:
            birthplace = district
            if rng.random() < MOVED_DISTRICT:
                birthplace = rng.choice([d for d in words.DISTRICT_CODES if d != district])
            person = self.person(birthplace, born, gender, district)
            person.registrations = self._local_history(birthplace, district, born)
        else:
            person = self.person(origin, born, gender, district)
            person.registrations = self._moved_in_history(origin, district, born)
        return person

    def person(
        self,
        address_code: str,
        born: date,
        gender: str,
        district: str,
        resident_id: str | None = None,
    ) -> Person:
        rng = self._rng
        while resident_id is None:
            sequence = rng.randrange(POPULATION_SEQUENCES.start, POPULATION_SEQUENCES.stop)
            sequence += (sequence % 2 == 1) != (gender == "M")
            resident_id = self._ids.mint(address_code, born, gender, sequence)
        return Person(
            resident_id=resident_id,
            name=words.person_name(rng, gender),
            gender=gender,
            birth_date=born,
            phone=words.phone(rng),
            home_address=words.address(rng, district),
            district_code=district,
        )

    def _local_history(self, birthplace: str, district: str, born: date) -> list[Registration]:
        """Registered since birth; those born in another district moved to ``district`` once,
        some within the last year and a few exactly on the reference date."""
        rng = self._rng
        if birthplace == district:
            return [Registration(district, born, None, words.address(rng, district))]
        roll = rng.random()
        if roll < MOVED_ON_REFERENCE_DATE:
            moved = self._today
        elif roll < MOVED_LAST_YEAR:
            moved = random_day(rng, self._today - timedelta(days=365), self._today)
        else:
            moved = random_day(rng, add_years(born, 18), self._today - timedelta(days=30))
        return [
            Registration(birthplace, born, moved, words.address(rng, birthplace)),
            Registration(district, moved, None, words.address(rng, district)),
        ]

    def _moved_in_history(self, origin: str, district: str, born: date) -> list[Registration]:
        rng = self._rng
        moved = random_day(rng, add_years(born, 22), self._today - timedelta(days=60))
        history = [Registration(district, moved, None, words.address(rng, district))]
        if rng.random() < 0.5:
            history.insert(0, Registration(origin, born, moved, words.address(rng, origin)))
        return history

    def _children(
        self, household: Household, count: int, local: bool, origin: str, district: str
    ) -> None:
        rng = self._rng
        parents = list(household.people)
        births = [birth_date(rng, self._today, 5, 15) for _ in range(count)]
        twins = count >= 2 and rng.random() < TWIN_SHARE
        if twins:
            code = _birth_code(parents[0], births[0], local, origin)
            household.people.extend(self._twins(code, births[0], district))
        for born in births[2 if twins else 0 :]:
            code = _birth_code(parents[0], born, local, origin)
            household.people.append(self.person(code, born, rng.choice("MF"), district))
        for child in household.people[len(parents) :]:
            if local:
                child.registrations = _follow(parents[0].registrations, child.birth_date)
            for parent in parents:
                self._guardianship(household, parent, child, local, single=len(parents) == 1)

    def _twins(self, code: str, born: date, district: str) -> list[Person]:
        rng = self._rng
        while True:
            first = rng.randrange(POPULATION_SEQUENCES.start, POPULATION_SEQUENCES.stop - 1)
            genders = ["M" if (first + offset) % 2 else "F" for offset in (0, 1)]
            ids = [self._ids.mint(code, born, genders[i], first + i) for i in (0, 1)]
            if None not in ids:
                break
        return [
            self.person(code, born, gender, district, resident_id)
            for resident_id, gender in zip(ids, genders, strict=True)
        ]

    def _guardianship(
        self, household: Household, parent: Person, child: Person, local: bool, *, single: bool
    ) -> None:
        rng = self._rng
        relation = "father" if parent.gender == "M" else "mother"
        if single and rng.random() < 0.10:
            relation = "legal_guardian"
        since = child.birth_date if local else random_day(rng, child.birth_date, self._today)
        certificate = f"O{rng.randrange(10**9):09d}"
        household.guardianships.append(
            Guardianship(parent.resident_id, child.resident_id, relation, since, certificate)
        )

    def _housing(self, household: Household, local: bool, district: str) -> None:
        rng = self._rng
        adults = [p for p in household.people if p.birth_date <= add_years(self._today, -18)]
        roll = rng.random()
        owned = (
            (1 if roll < 0.55 else 2 if roll < 0.66 else 3 if roll < 0.69 else 0)
            if local
            else (1 if roll < 0.10 else 2 if roll < 0.12 else 0)
        )
        for _ in range(owned):
            household.homes.append(self._home(adults, district))
        if owned and rng.random() < 0.08:
            household.homes.append(self._home(adults, district, sold=True))
        if owned:
            for person in household.people:
                person.home_address = household.homes[0].address
        elif rng.random() < (0.35 if local else 0.75):
            tenant = rng.choice(adults)
            tenant.rentals = self._rentals(district)
            for person in household.people:
                person.home_address = tenant.rentals[-1].address

    def _home(self, adults: list[Person], district: str, *, sold: bool = False) -> Home:
        rng = self._rng
        if rng.random() >= 0.7:
            district = rng.choice(words.DISTRICT_CODES)
        youngest = max(a.birth_date for a in adults)
        earliest = max(add_years(youngest, 22), add_years(self._today, -20))
        bought = random_day(rng, earliest, self._today)
        if rng.random() < 0.003:
            bought = self._today
        released = None
        if sold:
            bought = bought - timedelta(days=400)
            released = random_day(rng, bought + timedelta(days=365), self._today)
            if rng.random() < 0.02:
                released = self._today
        area = round(rng.uniform(40, 160), 1)
        price = int(area * rng.uniform(30_000, 110_000))
        if len(adults) == 2 and rng.random() < 0.7:
            owners = [Ownership(a.resident_id, 50, bought, released) for a in adults]
        else:
            owners = [Ownership(rng.choice(adults).resident_id, 100, bought, released)]
        building = rng.choice(words.BUILDING_TYPES_OWNED)
        return Home(district, words.address(rng, district), area, price, owners, building)

    def _rentals(self, district: str) -> list[Rental]:
        rng = self._rng
        start = random_day(rng, add_months(self._today, -96), self._today - timedelta(days=20))
        expired = rng.random() < 0.12
        stop = random_day(rng, start, self._today) if expired else self._today
        rentals: list[Rental] = []
        rental = self._contract(district, start)
        while True:
            rentals.append(rental)
            if rental.end > stop:
                break
            roll = rng.random()
            gap = timedelta(days=0 if roll < 0.8 else rng.randint(5, 60))
            if roll >= 0.9:
                rental = self._contract(rng.choice(words.DISTRICT_CODES), rental.end + gap)
            else:
                rental = self._renewal(rental, rental.end + gap)
        return rentals

    def _contract(self, district: str, start: date) -> Rental:
        rng = self._rng
        months = rng.choices((6, 12, 24), (10, 70, 20))[0]
        landlord = words.person_name(rng, rng.choice("MF"))
        if rng.random() < 0.4:
            landlord = words.company(rng)
        return Rental(
            district,
            start,
            add_months(start, months),
            rng.randrange(1500, 9000, 50),
            landlord,
            words.phone(rng),
            words.address(rng, district),
            rng.choice(words.BUILDING_TYPES_RENTED),
        )

    def _renewal(self, previous: Rental, start: date) -> Rental:
        months = self._rng.choices((6, 12, 24), (10, 70, 20))[0]
        return Rental(
            previous.district_code,
            start,
            add_months(start, months),
            previous.monthly_rent,
            previous.landlord_name,
            previous.landlord_phone,
            previous.address,
            previous.building_type,
        )


def _birth_code(parent: Person, born: date, local: bool, origin: str) -> str:
    """The ID's address code: where the child was first registered (a migrant's hometown)."""
    if local:
        for entry in parent.registrations:
            current = entry.since <= born and (entry.until is None or born < entry.until)
            if current and entry.district_code in words.DISTRICTS:
                return entry.district_code
        return parent.district_code
    return origin


def _follow(parent_history: list[Registration], born: date) -> list[Registration]:
    """A child registered with the parent from birth, moving when the parent moved."""
    history = []
    for entry in parent_history:
        if entry.until is not None and entry.until <= born:
            continue
        since = max(entry.since, born)
        history.append(Registration(entry.district_code, since, entry.until, entry.address))
    return history
