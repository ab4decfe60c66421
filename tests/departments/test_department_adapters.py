"""The four department adapters against a generated city, on SQLite and on PostgreSQL.

Every test here takes the ``city`` fixture and so runs once per backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import pytest
from adapter_support import City
from support import DEPARTMENTS, SAMPLED_DEPARTMENTS

from adapters.demo_city import DemoSample, ExpectedFact
from verifier._errors import DepartmentError
from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest, Unknown
from verifier.catalogue import load_catalogue
from verifier.model import FactValue, UnknownReason, parse_resident_id

REFERENCE = date(2026, 8, 31)
# A valid ID nobody in the city can have: no one's ID uses the address code 110101 (Beijing).
ABSENT = parse_resident_id("110101199001019503", today=REFERENCE)
ALL_FACTS: dict[str, list[tuple[str, dict[str, str | int]]]] = {
    "household": [
        ("registered_in_population_register", {}),
        ("local_household_registration", {}),
        ("household_registered_in_district", {"district": "440305"}),
        ("household_larger_than", {"members": 1}),
    ],
    "social_insurance": [
        ("social_insurance_continuous_months", {}),
        ("social_insurance_months_in_window", {"window_months": 36}),
        ("social_insurance_enrolled", {}),
        ("contribution_base_average_exceeds", {"window_months": 12, "threshold_yuan": 1365}),
        ("contribution_months_since", {"since": "2026-01-01"}),
        ("pension_drawn", {}),
        ("unemployment_benefit_months_drawn", {"since": "2025-01-01"}),
    ],
    "housing": [
        ("homes_owned_in_city", {}),
        ("owns_no_home_in_city", {}),
        ("registered_rental_months_in_district", {"district": "440305"}),
    ],
    "tax": [
        ("income_tax_months_in_window", {"window_months": 36}),
        ("has_overdue_tax", {}),
    ],
    "vehicle_registration": [
        ("vehicles_owned", {}),
        ("owns_vehicle_valued_over", {"threshold_yuan": 30_000}),
    ],
    "market_regulation": [
        ("has_active_business_registration", {}),
        ("active_businesses_registered", {}),
    ],
    "civil_affairs": [("death_registered", {})],
    "courts": [("dishonest_judgment_debtor", {}), ("consumption_restricted", {})],
}
NEGATIVE: dict[str, FactValue] = {
    "registered_in_population_register": False,
    "local_household_registration": False,
    "household_registered_in_district": False,
    "guardian_of": False,
    "social_insurance_continuous_months": 0,
    "social_insurance_months_in_window": 0,
    "social_insurance_enrolled": False,
    "homes_owned_in_city": 0,
    "owns_no_home_in_city": True,
    "registered_rental_months_in_district": 0,
    "income_tax_months_in_window": 0,
    "has_overdue_tax": False,
    "household_member_of": False,
    "household_larger_than": False,
    "contribution_base_average_exceeds": False,
    "contribution_months_since": 0,
    "pension_drawn": False,
    "unemployment_benefit_months_drawn": 0,
    "vehicles_owned": 0,
    "owns_vehicle_valued_over": False,
    "has_active_business_registration": False,
    "active_businesses_registered": 0,
    "death_registered": False,
    "dishonest_judgment_debtor": False,
    "consumption_restricted": False,
}


def sample_query(sample: DemoSample, department: str) -> tuple[DepartmentQuery, dict[str, object]]:
    """One department's query for a sample's expected facts, and the expected answers."""
    requests, expected = [], {}
    for index, fact in enumerate(sample.facts):
        if fact.department == department:
            key = f"{fact.fact}#{index}"
            requests.append(request_for(sample, fact, key))
            expected[key] = Unknown(UnknownReason(fact.unknown)) if fact.unknown else fact.value
    reference = date.fromisoformat(sample.application["reference_date"])
    return DepartmentQuery(department, reference, tuple(requests)), expected


def request_for(sample: DemoSample, fact: ExpectedFact, key: str) -> FactRequest:
    # The application may spell an ID with a lower-case x; the engine normalises it.
    subjects = {
        slot: parse_resident_id(sample.subject_id(role), today=REFERENCE)
        for slot, role in fact.subjects.items()
    }
    return FactRequest(key, fact.fact, subjects, dict(fact.parameters))


def single_subject_query(department: str, subject: str, as_of: date = REFERENCE) -> DepartmentQuery:
    requests = tuple(
        FactRequest(f"{fact}#{i}", fact, {"subject": subject}, parameters)
        for i, (fact, parameters) in enumerate(ALL_FACTS[department])
    )
    return DepartmentQuery(department, as_of, requests)


@pytest.mark.parametrize("department", SAMPLED_DEPARTMENTS)
async def test_every_sample_fact_is_derived_as_planted(
    city: City, department_adapters: Mapping[str, DepartmentAdapter], department: str
) -> None:
    checked = 0
    for sample in city.manifest.samples:
        query, expected = sample_query(sample, department)
        if not query.requests:
            continue
        answer = await department_adapters[department].fetch(query)
        assert dict(answer.facts) == expected, sample.name
        checked += len(expected)
    assert checked >= 4


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_a_subject_the_department_does_not_hold_is_a_known_negative(
    department_adapters: Mapping[str, DepartmentAdapter], department: str
) -> None:
    query = single_subject_query(department, ABSENT)
    answer = await department_adapters[department].fetch(query)
    assert {key.split("#")[0]: value for key, value in answer.facts.items()} == {
        fact: NEGATIVE[fact] for fact, _ in ALL_FACTS[department]
    }


def test_the_catalogue_names_each_answer_about_nobody_as_its_absence_value() -> None:
    # The engine questions exactly these answers about a subject the population register
    # does not hold; the register's own "no" is the answer, not an absence.
    absence = {
        fact.id: fact.absence_value
        for fact in load_catalogue().facts.values()
        if fact.absence_value is not None
    }
    assert absence == {
        f: v for f, v in NEGATIVE.items() if f != "registered_in_population_register"
    }
    assert all(type(absence[f]) is type(v) for f, v in NEGATIVE.items() if f in absence)


async def test_the_population_register_holds_every_resident_registered_here_or_not(
    city: City, department_adapters: Mapping[str, DepartmentAdapter]
) -> None:
    residents = city.resident_ids(2_000)
    queries = [
        DepartmentQuery(
            "household",
            REFERENCE,
            (
                FactRequest("held", "registered_in_population_register", {"subject": r}),
                FactRequest("local", "local_household_registration", {"subject": r}),
            ),
        )
        for r in residents
    ]
    answers = await department_adapters["household"].fetch_many(queries)
    assert all(answer.facts["held"] is True for answer in answers)
    # Migrants with no registration here, and records being transferred, are held too.
    assert {answer.facts["local"] for answer in answers} >= {False, True}
    assert any(isinstance(answer.facts["local"], Unknown) for answer in answers)


async def test_guardian_of_an_absent_pair_is_false(
    department_adapters: Mapping[str, DepartmentAdapter], city: City
) -> None:
    child = city.manifest.sample("school_place_local_registration").subject_id("child")
    query = DepartmentQuery(
        "household",
        REFERENCE,
        (FactRequest("g", "guardian_of", {"guardian": ABSENT, "child": child}),),
    )
    assert (await department_adapters["household"].fetch(query)).facts == {"g": False}


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_fetch_many_answers_exactly_as_fetch_one_by_one(
    city: City, department_adapters: Mapping[str, DepartmentAdapter], department: str
) -> None:
    adapter = department_adapters[department]
    queries = [single_subject_query(department, subject) for subject in city.resident_ids(150)]
    queries += [q for s in city.manifest.samples if (q := sample_query(s, department)[0]).requests]
    one_by_one = [await adapter.fetch(query) for query in queries]
    assert await adapter.fetch_many(queries) == one_by_one


async def test_fetch_many_batches_more_subjects_than_one_statement_takes(
    city: City, department_adapters: Mapping[str, DepartmentAdapter]
) -> None:
    adapter = department_adapters["social_insurance"]
    queries = [single_subject_query("social_insurance", s) for s in city.resident_ids(1_200)]
    answers = await adapter.fetch_many(queries)
    assert len(answers) == len(queries)
    assert answers[:5] + answers[-5:] == [
        await adapter.fetch(q) for q in queries[:5] + queries[-5:]
    ]
    assert any(answer.facts["social_insurance_continuous_months#0"] for answer in answers)


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_answers_say_when_the_department_last_refreshed(
    department_adapters: Mapping[str, DepartmentAdapter], department: str
) -> None:
    answer = await department_adapters[department].fetch(single_subject_query(department, ABSENT))
    assert answer.source_as_of is not None
    assert answer.source_as_of.tzinfo is not None
    local_day = answer.source_as_of.astimezone(UTC).date()
    assert local_day == REFERENCE
    assert answer.source_as_of <= datetime(2026, 8, 31, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_supported_facts_are_the_catalogue_facts_the_department_derives(
    department_adapters: Mapping[str, DepartmentAdapter], department: str
) -> None:
    expected = {fact for fact, _ in ALL_FACTS[department]}
    if department == "household":
        expected |= {"guardian_of", "household_member_of"}
    assert department_adapters[department].supported_facts() == expected


async def test_a_fact_the_department_does_not_provide_is_an_error(
    department_adapters: Mapping[str, DepartmentAdapter],
) -> None:
    query = DepartmentQuery(
        "tax", REFERENCE, (FactRequest("x", "homes_owned_in_city", {"subject": ABSENT}),)
    )
    with pytest.raises(DepartmentError, match="homes_owned_in_city"):
        await department_adapters["tax"].fetch(query)


@pytest.mark.parametrize(
    ("department", "fact", "parameters", "message"),
    [
        ("household", "household_registered_in_district", {}, "district"),
        ("housing", "registered_rental_months_in_district", {"district": 440305}, "district"),
        ("tax", "income_tax_months_in_window", {"window_months": "36"}, "window_months"),
        ("social_insurance", "social_insurance_months_in_window", {"window_months": 0}, ">= 1"),
    ],
)
async def test_a_missing_or_mistyped_parameter_is_an_error(
    department_adapters: Mapping[str, DepartmentAdapter],
    department: str,
    fact: str,
    parameters: dict[str, str | int],
    message: str,
) -> None:
    query = DepartmentQuery(
        department, REFERENCE, (FactRequest("x", fact, {"subject": ABSENT}, parameters),)
    )
    with pytest.raises(DepartmentError, match=message):
        await department_adapters[department].fetch(query)


async def test_facts_are_established_as_of_the_query_date(
    city: City, department_adapters: Mapping[str, DepartmentAdapter]
) -> None:
    """The family that moved on the reference date was not in the district the day before."""
    sample = city.manifest.sample("school_place_moved_on_cutoff")
    query, _ = sample_query(sample, "household")
    earlier = DepartmentQuery("household", date(2026, 8, 30), query.requests)
    answer = await department_adapters["household"].fetch(earlier)
    by_fact = {key.split("#")[0]: value for key, value in answer.facts.items()}
    assert by_fact["guardian_of"] is True
    assert [v for k, v in answer.facts.items() if k.startswith("household_registered")] == [
        False,
        True,
    ]
