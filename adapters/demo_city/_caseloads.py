"""The three re-check caseloads: people currently receiving each benefit, as CSV files.

Recipients are drawn from the random population as it streams past (nothing is kept for
the whole city): a household whose members are all registered in the city, none with a
record in transfer, of at most four people, becomes an affordable-housing tenant family (90 %
of those owning no home) or a subsistence-assistance household (60 % of those owning at most
one home each); in the other households, half the adults aged 25-50 with a contribution
history draw unemployment benefit. About one person in four is a caseload row (10⁵ people:
about 5,200 + 4,000 + 14,800 rows; 10⁶: 51,000 + 41,000 + 148,000; ``caseloads.json`` has
the exact counts).
Each recipient's records are first made to qualify (no income
in the window, or income under the limit; no valuable car or business; contributions
stopped when the benefit began), then 20 % of them are changed so that they no longer do,
for exactly one reason each, drawn evenly from the item's reasons. The manifest records the
count per reason and the rule clause that reason fails.

Files, in the demo city's data dir, one row per application (UTF-8, header first):

- ``caseload_social_assistance_recheck.csv``, ``caseload_affordable_housing_recheck.csv``,
  ``caseload_unemployment_insurance_recheck.csv``;
- columns ``case_no``, ``service_item``, ``reference_date`` (ISO), ``purpose``,
  ``legal_basis``, ``consent_reference``; then ``subject_<role>`` per role of the item (the
  resident ID, empty when the role is absent) and ``param_<name>`` per item parameter.
  ``application_from_row`` turns a row into the application the library takes.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from adapters.demo_city import _vocabulary as words
from adapters.demo_city._calendar import add_years, month_of
from adapters.demo_city._model import NORMAL, Home, Household, Ownership, PensionAward, Person, Span
from adapters.demo_city._recheck_population import RecheckPopulation
from adapters.demo_city._rows import month_start

NO_LONGER_QUALIFY_SHARE = 0.20
# Large on purpose: the caseloads are what a bulk re-check is measured on, so the city is
# mostly recipients (about a quarter of its people are a caseload row; see the docstring).
SOCIAL_ASSISTANCE_SHARE, AFFORDABLE_HOUSING_SHARE, UNEMPLOYMENT_SHARE = 0.6, 0.9, 0.5
SA_VEHICLE_LIMIT, AH_VEHICLE_LIMIT = 30_000, 150_000
AH_INCOME_CAP = 2_900  # two overlapping jobs at the cap still stay under the 6,000 limit
WINDOW_MONTHS = 12
MEMBER_ROLES = ("member_1", "member_2", "member_3")

ITEMS: dict[str, dict[str, Any]] = {
    "social_assistance_recheck": {
        "purpose": "social_assistance_recheck",
        "legal_basis": "《社会救助暂行办法》第六十条",
        "roles": ("applicant", *MEMBER_ROLES),
        "parameters": ("household_size",),
        "reasons": {
            "died": "nobody_died",
            "bought_home": "homes_within_limit",
            "bought_car": "no_valuable_vehicle",
            "registered_business": "no_business",
            "income_over_standard": "income_within_standard",
        },
    },
    "affordable_housing_recheck": {
        "purpose": "affordable_housing_recheck",
        "legal_basis": "《公共租赁住房管理办法》第七条",
        "roles": ("applicant", *MEMBER_ROLES),
        "parameters": ("household_size",),
        "reasons": {
            "bought_home": "no_home_owned",
            "bought_car": "no_valuable_vehicle",
            "income_over_limit": "income_within_limit",
        },
    },
    "unemployment_insurance_recheck": {
        "purpose": "unemployment_insurance_recheck",
        "legal_basis": "《社会保险法》第五十一条",
        "roles": ("recipient",),
        "parameters": ("benefit_started",),
        "reasons": {
            "died": "alive",
            "went_back_to_work": "not_reemployed",
            "registered_business": "no_business",
            "drew_pension": "no_pension",
            "benefit_exhausted": "within_benefit_period",
        },
    },
}
INTEGER_PARAMETERS = frozenset({"household_size"})


def caseload_file(item: str) -> str:
    return f"caseload_{item}.csv"


def columns(item: str) -> list[str]:
    spec = ITEMS[item]
    return [
        "case_no",
        "service_item",
        "reference_date",
        "purpose",
        "legal_basis",
        "consent_reference",
        *(f"subject_{role}" for role in spec["roles"]),
        *(f"param_{name}" for name in spec["parameters"]),
    ]


def application_from_row(row: Mapping[str, str]) -> dict[str, Any]:
    """The application (plain data, as ``parse_application`` takes it) of one CSV row.

    ``int`` raises ValueError for a count that is not a number; a ``household_size`` that is
    not the number of people the row names is the item's validation to refuse
    (``counts_subjects``), as for any application.
    """
    subjects = [
        {"role": key.removeprefix("subject_"), "id": value}
        for key, value in row.items()
        if key.startswith("subject_") and value
    ]
    parameters: dict[str, Any] = {
        key.removeprefix("param_"): int(value) if key[6:] in INTEGER_PARAMETERS else value
        for key, value in row.items()
        if key.startswith("param_")
    }
    application: dict[str, Any] = {
        "service_item": row["service_item"],
        "reference_date": row["reference_date"],
        "purpose": row["purpose"],
        "legal_basis": row["legal_basis"],
        "case_number": row["case_no"],
        "subjects": subjects,
        "parameters": parameters,
    }
    if row.get("consent_reference"):
        application["consent_reference"] = row["consent_reference"]
    return application


@dataclass
class CaseloadCounts:
    """One caseload's size and its planted people who no longer qualify, per reason."""

    item: str
    rows: int = 0
    no_longer_qualify: Counter[str] = field(default_factory=Counter)
    reasons: bytearray = field(default_factory=bytearray)
    """Each row's planted reason, in file order: 0 none, else its index in the item's
    reasons plus one (a byte a row: what resizing the file needs, ``_caseload_size``)."""
    distinct_cases: int | None = None
    """Set when the file was resized: how many distinct cases its rows repeat."""

    def to_json(self) -> dict[str, Any]:
        return {
            "file": caseload_file(self.item),
            "rows": self.rows,
            **({} if self.distinct_cases is None else {"distinct_cases": self.distinct_cases}),
            "no_longer_qualify": dict(sorted(self.no_longer_qualify.items())),
            "failed_clause_of_reason": dict(ITEMS[self.item]["reasons"]),
        }


class Caseloads:
    """Chooses recipients among the households streaming past and writes their rows."""

    def __init__(self, directory: Path | None, seed: int, reference_date: date) -> None:
        self._rng = random.Random(f"{seed}:caseloads")
        self._today = reference_date
        self._month = month_of(reference_date)
        self._extras = RecheckPopulation(seed, reference_date)
        self._directory = directory
        self._files: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        self.counts = {item: CaseloadCounts(item) for item in ITEMS}

    def open(self) -> None:
        if self._directory is None:
            return
        for item in ITEMS:
            handle = (self._directory / f".{caseload_file(item)}.partial").open(
                "w", encoding="utf-8", newline=""
            )
            self._files[item] = handle
            writer = csv.writer(handle)
            writer.writerow(columns(item))
            self._writers[item] = writer

    def finish(self) -> None:
        for item, handle in self._files.items():
            handle.close()
            assert self._directory is not None
            partial = self._directory / f".{caseload_file(item)}.partial"
            partial.replace(self._directory / caseload_file(item))
        self._files.clear()

    def abort(self) -> None:
        for item, handle in self._files.items():
            handle.close()
            assert self._directory is not None
            (self._directory / f".{caseload_file(item)}.partial").unlink(missing_ok=True)
        self._files.clear()

    def take(self, household: Household) -> None:
        """Give the household its re-check records; maybe make it a recipient."""
        local = all(_registered_locally(person) for person in household.people)
        self._extras.add(household, local)
        rng = self._rng
        family = local and len(household.people) <= 4
        if family and all(p.record_status == NORMAL for p in household.people):
            homes = [h for h in household.homes if h.owners[0].released_on is None]
            if not homes and rng.random() < AFFORDABLE_HOUSING_SHARE:
                return self._affordable_housing(household)
            if len(homes) <= 1 and rng.random() < SOCIAL_ASSISTANCE_SHARE:
                return self._social_assistance(household)
        for person in household.people:
            working_age = self._age(person) in range(25, 51)
            candidate = working_age and person.insurance and person.record_status == NORMAL
            # Drawn for every candidate, so the stream does not depend on who qualifies.
            if rng.random() < UNEMPLOYMENT_SHARE and candidate:
                self._unemployment(person)
        return None

    # The three benefits ------------------------------------------------------------------

    def _social_assistance(self, household: Household) -> None:
        current = [h for h in household.homes if h.owners[0].released_on is None]
        household.homes = [h for h in household.homes if h not in current[1:]]
        for person in household.people:
            self._clean(person, SA_VEHICLE_LIMIT)
            _cut_contributions(person, self._month - WINDOW_MONTHS + 1)
            person.tax = _cut(person.tax, self._month - WINDOW_MONTHS + 1)
        reason = self._reason("social_assistance_recheck")
        person = self._rng.choice(self._adults(household))
        if reason == "died":
            person.death = self._extras.death(self._recent(60))
        elif reason == "bought_home":
            owned = sum(
                1 for h in current[:1] for o in h.owners if o.owner_id == person.resident_id
            )
            for _ in range(2 - owned):
                household.homes.append(self._home(person))
        elif reason == "bought_car":
            value = self._rng.randrange(60_000, 300_000, 100)  # over the 30,000 limit
            person.vehicles.append(self._extras.vehicle(value, since=self._recent(90)))
        elif reason == "registered_business":
            person.businesses.append(
                self._extras.business("individual_business", since=self._recent(90))
            )
        elif reason == "income_over_standard":
            person.insurance.append(self._job(self._month - 7, 4_000, 8_000))
        self._write_family("social_assistance_recheck", household)

    def _affordable_housing(self, household: Household) -> None:
        for person in household.people:
            self._clean(person, AH_VEHICLE_LIMIT)
            for span in person.insurance:
                span.amount = min(span.amount, AH_INCOME_CAP)
        reason = self._reason("affordable_housing_recheck")
        person = self._rng.choice(self._adults(household))
        if reason == "bought_home":
            household.homes.append(self._home(person))
        elif reason == "bought_car":
            value = self._rng.randrange(160_000, 400_000, 100)  # over the 150,000 limit
            person.vehicles.append(self._extras.vehicle(value, since=self._recent(90)))
        elif reason == "income_over_limit":
            person.insurance.append(self._job(self._month - 11, 7_000, 15_000))
        self._write_family("affordable_housing_recheck", household)

    def _unemployment(self, person: Person) -> None:
        rng = self._rng
        item = "unemployment_insurance_recheck"
        reason = self._reason(item)
        months_ago = rng.randint(25, 30) if reason == "benefit_exhausted" else rng.randint(1, 20)
        start = self._month - months_ago
        self._clean(person, None)
        person.pensions.clear()
        _cut_contributions(person, start)
        office = words.fund_office(person.district_code)
        person.benefits.append(Span(start, self._month, rng.randrange(1_500, 2_500, 10), office))
        if reason == "died":
            person.death = self._extras.death(self._recent(60))
        elif reason == "went_back_to_work":
            person.insurance.append(
                self._job(self._month - rng.randint(0, months_ago - 1), 3_000, 9_000)
            )
        elif reason == "registered_business":
            person.businesses.append(
                self._extras.business("individual_business", since=self._recent(30))
            )
        elif reason == "drew_pension":
            person.pensions.append(self._pension(self._recent(60)))
        self._write(
            item,
            {"recipient": person.resident_id},
            {"benefit_started": month_start(start).isoformat()},
        )

    # Helpers -----------------------------------------------------------------------------

    def _reason(self, item: str) -> str | None:
        counts = self.counts[item]
        if self._rng.random() >= NO_LONGER_QUALIFY_SHARE:
            counts.reasons.append(0)
            return None
        reasons = list(ITEMS[item]["reasons"])
        reason: str = self._rng.choice(reasons)
        counts.no_longer_qualify[reason] += 1
        counts.reasons.append(reasons.index(reason) + 1)
        return reason

    def _clean(self, person: Person, vehicle_limit: int | None) -> None:
        """What a recipient cannot have had while receiving: a death, a running business, a
        car worth more than the limit (any car for ``None``: not a condition, left alone)."""
        person.death = None
        person.businesses = [b for b in person.businesses if b.deregistered_on is not None]
        if vehicle_limit is not None:
            person.vehicles = [
                v
                for v in person.vehicles
                if v.transferred_on is not None or v.assessed_value <= vehicle_limit
            ]

    def _pension(self, started: date) -> PensionAward:
        return PensionAward("basic_employee", self._rng.randrange(1_800, 4_000, 10), started)

    def _home(self, owner: Person) -> Home:
        rng = self._rng
        district = rng.choice(words.DISTRICT_CODES)
        area = round(rng.uniform(40, 120), 1)
        return Home(
            district,
            words.address(rng, district),
            area,
            int(area * rng.uniform(30_000, 90_000)),
            [Ownership(owner.resident_id, 100, self._recent(120))],
        )

    def _job(self, first_month: int, low: int, high: int) -> Span:
        return Span(
            first_month, self._month, self._rng.randrange(low, high, 10), words.company(self._rng)
        )

    def _recent(self, days: int) -> date:
        return self._today - timedelta(days=self._rng.randint(0, days))

    def _adults(self, household: Household) -> list[Person]:
        return [p for p in household.people if self._age(p) >= 18]

    def _age(self, person: Person) -> int:
        age = self._today.year - person.birth_date.year
        return age - (add_years(person.birth_date, age) > self._today)

    def _write_family(self, item: str, household: Household) -> None:
        people = household.people
        roles = {"applicant": people[0].resident_id}
        roles.update(
            {role: p.resident_id for role, p in zip(MEMBER_ROLES, people[1:], strict=False)}
        )
        self._write(item, roles, {"household_size": str(len(people))})

    def _write(self, item: str, roles: Mapping[str, str], parameters: Mapping[str, str]) -> None:
        counts = self.counts[item]
        counts.rows += 1
        writer = self._writers.get(item)
        if writer is None:
            return
        spec = ITEMS[item]
        writer.writerow(
            [
                f"{item.split('_')[0].upper()}-{self._today.year}-{counts.rows:07d}",
                item,
                self._today.isoformat(),
                spec["purpose"],
                spec["legal_basis"],
                f"AUTH-{counts.rows:07d}",
                *(roles.get(role, "") for role in spec["roles"]),
                *(parameters[name] for name in spec["parameters"]),
            ]
        )


def _registered_locally(person: Person) -> bool:
    return any(r.until is None and r.district_code in words.DISTRICTS for r in person.registrations)


def _cut_contributions(person: Person, first_month_without: int) -> None:
    """End every contribution before ``first_month_without`` (the months after are unpaid)."""
    person.insurance = _cut(person.insurance, first_month_without)


def _cut(spans: list[Span], first_month_without: int) -> list[Span]:
    kept = []
    for span in spans:
        if span.first_month < first_month_without:
            span.last_month = min(span.last_month, first_month_without - 1)
            kept.append(span)
    return kept
