"""The engine end to end over mock departments: fan-out, failures, deadlines, audit."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from support import (
    ELIGIBLE_FACTS,
    FIRST_HOME_ACCESS,
    SCHOOL_PLACE_ACCESS,
    MakeVerifier,
    disk_full,
    mock_departments,
    resident_id,
)

from verifier import (
    AuditUnavailable,
    CallOutcome,
    DecisionOutcome,
    DepartmentUnavailable,
    FactStatus,
    InvalidApplication,
    MockAdapter,
    Unknown,
    UnknownReason,
    UnknownServiceItem,
    parse_application,
)
from verifier.audit import load_public_key, read_audit_entries, verify_audit_log

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")
BUYER = resident_id("43010219900101303")
SPOUSE = resident_id("44030619920202404")


def school_place(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
        "parameters": {"district": "440305"},
        "reference_date": "2026-08-31",
        **SCHOOL_PLACE_ACCESS,
        "operator": "clerk-0042",
    }
    data.update(changes)
    return data


def first_home(*, spouse: bool = True) -> dict[str, object]:
    subjects = [{"role": "buyer", "id": BUYER}]
    if spouse:
        subjects.append({"role": "spouse", "id": SPOUSE})
    return {
        "service_item": "first_home_purchase",
        "subjects": subjects,
        "reference_date": "2026-08-31",
        **FIRST_HOME_ACCESS,
    }


def facts_of(result, department: str):  # type: ignore[no-untyped-def]
    return [fact for fact in result.facts if fact.provenance.department == department]


async def test_eligible_application_calls_each_department_once(
    make_test_verifier: MakeVerifier,
) -> None:
    adapters = mock_departments()
    async with make_test_verifier(adapters) as verifier:
        result = await verifier.verify(parse_application(first_home()))
    assert result.decision.outcome is DecisionOutcome.ELIGIBLE
    assert all(fact.status is FactStatus.KNOWN for fact in result.facts)
    for adapter in adapters.values():
        assert isinstance(adapter, MockAdapter)
        assert adapter.calls == 1
    assert {call.department for call in result.department_calls} == set(ELIGIBLE_FACTS)
    assert all(call.outcome is CallOutcome.OK for call in result.department_calls)
    assert result.documents_not_required
    spouse_facts = [fact for fact in result.facts if "spouse" in fact.subjects.values()]
    assert spouse_facts, "the spouse's home ownership is checked when a spouse is named"


async def test_absent_optional_spouse_is_not_asked_about(make_test_verifier: MakeVerifier) -> None:
    adapters = mock_departments()
    async with make_test_verifier(adapters) as verifier:
        result = await verifier.verify(parse_application(first_home(spouse=False)))
    assert result.decision.outcome is DecisionOutcome.ELIGIBLE
    assert not [fact for fact in result.facts if "spouse" in fact.subjects.values()]


async def test_raising_department_costs_only_its_facts(make_test_verifier: MakeVerifier) -> None:
    failing = MockAdapter("housing", error=DepartmentUnavailable("housing database down"))
    async with make_test_verifier(mock_departments(housing=failing)) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    housing = facts_of(result, "housing")
    assert housing
    assert all(fact.reason is UnknownReason.DEPARTMENT_ERROR for fact in housing)
    assert all(fact.known for fact in result.facts if fact.provenance.department != "housing")
    # The child is registered in the district: the failed rental path cannot change that.
    assert result.decision.outcome is DecisionOutcome.ELIGIBLE


async def test_foreign_exception_is_contained_and_not_logged_verbatim(
    make_test_verifier: MakeVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(request: object) -> bool:
        raise RuntimeError("CANARY-raw-record-李雷-深圳市南山区")

    failing = MockAdapter("household", responder=explode)
    async with make_test_verifier(mock_departments(household=failing)) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    assert result.decision.outcome is DecisionOutcome.NEEDS_REVIEW
    assert "CANARY" not in caplog.text
    assert "CANARY" not in result.model_dump_json()


async def test_hanging_department_answers_within_deadline_and_leaves_nothing_running(
    make_test_verifier: MakeVerifier,
) -> None:
    hanging = MockAdapter("social_insurance", hang=True)
    async with make_test_verifier(mock_departments(social_insurance=hanging)) as verifier:
        started = time.perf_counter()
        result = await verifier.verify(parse_application(school_place()), timeout=0.2)
        elapsed = time.perf_counter() - started
        assert elapsed < 0.2 + 0.05
        assert hanging.cancelled == 1
        assert asyncio.all_tasks() == {asyncio.current_task()}
    social = facts_of(result, "social_insurance")
    assert social
    assert all(fact.reason is UnknownReason.DEADLINE_EXCEEDED for fact in social)
    call = next(c for c in result.department_calls if c.department == "social_insurance")
    assert call.outcome is CallOutcome.TIMEOUT
    assert result.decision.outcome is DecisionOutcome.ELIGIBLE  # registered in district


async def test_false_and_unknown_is_not_eligible(make_test_verifier: MakeVerifier) -> None:
    household = MockAdapter(
        "household", values={**ELIGIBLE_FACTS["household"], "guardian_of": False}
    )
    housing = MockAdapter("housing", hang=True)
    adapters = mock_departments(household=household, housing=housing)
    async with make_test_verifier(adapters) as verifier:
        result = await verifier.verify(parse_application(school_place()), timeout=0.1)
    assert result.decision.outcome is DecisionOutcome.NOT_ELIGIBLE


async def test_unknown_decisive_fact_needs_review(make_test_verifier: MakeVerifier) -> None:
    household = MockAdapter(
        "household",
        values={
            **ELIGIBLE_FACTS["household"],
            "household_registered_in_district": Unknown(UnknownReason.RECORD_PENDING),
        },
    )
    housing = MockAdapter(
        "housing", values={**ELIGIBLE_FACTS["housing"], "registered_rental_months_in_district": 3}
    )
    async with make_test_verifier(mock_departments(household=household, housing=housing)) as v:
        result = await v.verify(parse_application(school_place()))
    assert result.decision.outcome is DecisionOutcome.NEEDS_REVIEW
    pending = [fact for fact in result.facts if fact.reason is UnknownReason.RECORD_PENDING]
    assert len(pending) == 1


@pytest.mark.parametrize(
    ("fact", "lie"),
    [
        ("guardian_of", 1),  # an int for a yes/no
        ("guardian_of", "yes"),
        ("guardian_of", None),
        ("social_insurance_continuous_months", True),  # a bool for a count
        ("social_insurance_continuous_months", -3),
        ("social_insurance_continuous_months", 12.5),
        ("social_insurance_continuous_months", "CANARY-raw"),
    ],
)
async def test_a_department_that_lies_yields_unknown_never_a_fact(
    make_test_verifier: MakeVerifier, fact: str, lie: object
) -> None:
    department = "household" if fact == "guardian_of" else "social_insurance"
    values = {**ELIGIBLE_FACTS[department], fact: lie}
    liar = MockAdapter(department, values=values)  # type: ignore[arg-type]
    async with make_test_verifier(mock_departments(**{department: liar})) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    lied = [f for f in result.facts if f.fact == fact]
    assert lied
    assert all(f.status is FactStatus.UNKNOWN for f in lied)
    assert all(f.reason is UnknownReason.INVALID_ANSWER for f in lied)
    call = next(c for c in result.department_calls if c.department == department)
    assert call.outcome is CallOutcome.INVALID_ANSWER
    assert "CANARY" not in result.model_dump_json()


async def test_missing_answer_key_is_invalid(make_test_verifier: MakeVerifier) -> None:
    silent = MockAdapter("housing", responder=lambda request: {}[request.fact])  # type: ignore[misc]
    async with make_test_verifier(mock_departments(housing=silent)) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    assert all(f.status is FactStatus.UNKNOWN for f in facts_of(result, "housing"))


async def test_integer_facts_are_capped_at_the_catalogue_maximum(
    make_test_verifier: MakeVerifier,
) -> None:
    values = {**ELIGIBLE_FACTS["social_insurance"], "social_insurance_continuous_months": 500}
    adapters = mock_departments(social_insurance=MockAdapter("social_insurance", values=values))
    async with make_test_verifier(adapters) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    months = next(f for f in result.facts if f.fact == "social_insurance_continuous_months")
    assert months.value == 120


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service_item": "no_such_item"}, "service_item"),
        ({"subjects": [{"role": "guardian", "id": GUARDIAN}]}, "subjects"),
        ({"parameters": {"district": "440305", "colour": "red"}}, "parameters.colour"),
        ({"parameters": {}}, "parameters.district"),
    ],
)
async def test_bad_input_names_the_field_and_reaches_no_department(
    make_test_verifier: MakeVerifier, changes: dict[str, object], field: str
) -> None:
    adapters = mock_departments()
    async with make_test_verifier(adapters) as verifier:
        with pytest.raises(InvalidApplication) as raised:
            await verifier.verify(parse_application(school_place(**changes)))
    assert field in [violation.field for violation in raised.value.violations]
    assert all(isinstance(a, MockAdapter) and a.calls == 0 for a in adapters.values())
    if field == "service_item":
        assert isinstance(raised.value, UnknownServiceItem)


async def test_audit_record_is_durable_and_pseudonymised(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    async with make_test_verifier(audit_dir=tmp_path) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    records = [entry for entry in read_audit_entries(tmp_path) if entry.type == "record"]
    assert len(records) == 1
    record = records[0].body
    assert record["request_id"] == result.request_id
    assert record["decision"] == "ELIGIBLE"
    assert record["operator"] == "clerk-0042"
    assert {s["role"] for s in record["subjects"]} == {"guardian", "child"}
    text = (tmp_path / "audit-000001.jsonl").read_text(encoding="utf-8")
    assert GUARDIAN not in text
    assert CHILD not in text
    assert record["subjects"][0]["masked"].startswith(GUARDIAN[:4])
    assert len(record["facts"]) == len(result.facts)
    roles = {fact["name"]: fact["roles"] for fact in record["facts"]}
    assert roles["guardian_is_parent"] == ["guardian", "child"]
    assert roles["child_registered_in_district"] == ["child"]
    assert roles["guardian_rental_months"] == ["guardian"]
    documents = {fact["name"]: fact["replaces_document"] for fact in record["facts"]}
    assert documents["guardian_rental_months"] == "房屋租赁登记备案凭证"


async def test_no_audit_no_answer(make_test_verifier: MakeVerifier, tmp_path: Path) -> None:
    async with make_test_verifier(audit_dir=tmp_path) as verifier:
        with disk_full(tmp_path / "audit-000001.jsonl"), pytest.raises(AuditUnavailable):
            await verifier.verify(parse_application(school_place()))
        answered = await verifier.verify(parse_application(school_place()))  # the disk recovered
    records = [entry.body for entry in read_audit_entries(tmp_path) if entry.type == "record"]
    assert [record["request_id"] for record in records] == [answered.request_id]
    public_key = load_public_key(tmp_path / "signing-key.pub.pem")
    assert verify_audit_log(tmp_path, public_key).ok


async def test_concurrent_verifications_share_fsyncs_and_all_are_recorded(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    async with make_test_verifier(audit_dir=tmp_path) as verifier:
        results = await asyncio.gather(
            *(verifier.verify(parse_application(school_place())) for _ in range(50))
        )
    records = [entry.body for entry in read_audit_entries(tmp_path) if entry.type == "record"]
    assert sorted(record["request_id"] for record in records) == sorted(
        r.request_id for r in results
    )


async def test_reference_date_defaults_to_today(make_test_verifier: MakeVerifier) -> None:
    data = school_place()
    del data["reference_date"]
    async with make_test_verifier() as verifier:
        result = await verifier.verify(parse_application(data))
    assert result.reference_date is not None
