"""``verify_many`` over mock departments: one outcome per application, in input order; a bad
row or a refused one costs only itself; one ``fetch_many`` per department per batch; a
department failing for a batch costs its facts as it does on the single path; one audit
record per application, in a log that verifies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from support import ELIGIBLE_FACTS, FIRST_HOME_ACCESS, MakeVerifier, mock_departments, resident_id

from verifier import (
    AccessDenied,
    Application,
    BulkOutcome,
    CallerIdentity,
    CallOutcome,
    DecisionOutcome,
    DepartmentAnswer,
    DepartmentQuery,
    DepartmentUnavailable,
    InvalidApplication,
    MockAdapter,
    UnknownReason,
    parse_application,
)
from verifier.access import AccessPolicy, CallerGrant
from verifier.audit import load_public_key, read_audit_entries, verify_audit_log
from verifier.engine._interceptors import CallerRights


class CountingAdapter(MockAdapter):
    """A mock department that counts its batch calls (``fetch_many``) and their sizes."""

    def __init__(self, department: str, **options: object) -> None:
        super().__init__(department, values=ELIGIBLE_FACTS[department], **options)  # type: ignore[arg-type]
        self.batches: list[int] = []

    async def fetch_many(self, queries: Sequence[DepartmentQuery]) -> list[DepartmentAnswer]:
        self.batches.append(len(queries))
        return await super().fetch_many(queries)


def buyer(number: int, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "service_item": "first_home_purchase",
        "subjects": [
            {
                "role": "buyer",
                "id": resident_id(f"430102{1950 + number // 1000}0101{number % 1000:03d}"),
            }
        ],
        "reference_date": "2026-08-31",
        "case_number": f"CASE-{number}",
        **FIRST_HOME_ACCESS,
    }
    data.update(changes)
    return data


def unknown_item(number: int) -> Application:
    """Well-formed, but for no registered item: rejected before any department."""
    return parse_application(buyer(number, service_item="no_such_item"))


async def collected(stream: AsyncIterator[BulkOutcome[object]]) -> list[BulkOutcome[object]]:
    return [outcome async for outcome in stream]


async def test_a_bad_row_and_a_refused_row_cost_only_themselves(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    refused = parse_application(buyer(3, consent_reference=None))  # no consent: refused
    applications = [
        parse_application(buyer(0)),
        unknown_item(1),
        parse_application(buyer(2)),
        refused,
        parse_application(buyer(4)),
    ]
    async with make_test_verifier(mock_departments(), tmp_path) as verifier:
        outcomes = await collected(verifier.verify_many(applications, batch_size=2))
    assert [outcome.index for outcome in outcomes] == [0, 1, 2, 3, 4]
    assert [o.application.case_number for o in outcomes] == [f"CASE-{n}" for n in range(5)]
    assert isinstance(outcomes[1].error, InvalidApplication)
    assert isinstance(outcomes[3].error, AccessDenied)
    for outcome in (outcomes[0], outcomes[2], outcomes[4]):
        assert outcome.ok
        assert outcome.result is not None
        assert outcome.result.decision.outcome is DecisionOutcome.ELIGIBLE
    # One record per verified application, one per refusal; none for the bad row.
    entries = [entry.body for entry in read_audit_entries(tmp_path) if entry.type == "record"]
    kinds = sorted(entry["kind"] for entry in entries)
    assert kinds == ["refusal", "verification", "verification", "verification"]
    verified = {e["request_id"] for e in entries if e["kind"] == "verification"}
    assert verified == {o.result.request_id for o in outcomes if o.result is not None}
    assert verify_audit_log(tmp_path, load_public_key(tmp_path / "signing-key.pub.pem")).ok


async def test_each_department_is_read_once_per_batch(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    departments = {name: CountingAdapter(name) for name in ELIGIBLE_FACTS}
    applications = [parse_application(buyer(number)) for number in range(25)]
    async with make_test_verifier(departments, tmp_path) as verifier:
        outcomes = await collected(verifier.verify_many(iter(applications), batch_size=10))
    assert len(outcomes) == 25
    assert all(outcome.ok for outcome in outcomes)
    for name, department in departments.items():
        assert department.batches == [10, 10, 5], name
    records = [entry for entry in read_audit_entries(tmp_path) if entry.type == "record"]
    assert len(records) == 25


@pytest.mark.parametrize(
    ("tax", "reason"),
    [
        (MockAdapter("tax", error=DepartmentUnavailable("tax is down")), "DEPARTMENT_ERROR"),
        (MockAdapter("tax", hang=True), "DEADLINE_EXCEEDED"),
    ],
    ids=["failing", "hanging"],
)
async def test_a_department_failing_for_a_batch_costs_its_facts_as_on_the_single_path(
    tax: MockAdapter, reason: str, make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    applications = [parse_application(buyer(number)) for number in range(6)]
    departments = mock_departments(tax=tax)
    async with make_test_verifier(departments, tmp_path, timeout=0.2) as verifier:
        single = [await verifier.decide(application) for application in applications]
        batched = await collected(verifier.decide_many(applications, batch_size=4))
    for alone, outcome in zip(single, batched, strict=True):
        result = outcome.result
        assert result is not None
        assert [(f.name, f.status, f.value, f.reason) for f in result.facts] == [
            (f.name, f.status, f.value, f.reason) for f in alone.facts
        ]
        assert result.decision == alone.decision
        assert [(c.department, c.outcome) for c in result.department_calls] == [
            (c.department, c.outcome) for c in alone.department_calls
        ]
    tax_facts = [f for f in batched[0].result.facts if f.provenance.department == "tax"]  # type: ignore[union-attr]
    assert tax_facts
    assert all(fact.reason == reason for fact in tax_facts)


async def test_stopping_early_leaves_nothing_running(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    read: list[int] = []

    def applications() -> object:
        for number in range(10_000):
            read.append(number)
            yield parse_application(buyer(number))

    async with make_test_verifier(mock_departments(), tmp_path) as verifier:
        stream = verifier.decide_many(applications(), batch_size=10)  # type: ignore[arg-type]
        async for outcome in stream:
            if outcome.index == 15:
                break
        await stream.aclose()  # type: ignore[attr-defined]
    # The input was read lazily: a few batches ahead at most, never the whole caseload.
    assert len(read) <= 10 * 5


async def test_a_refused_caller_gets_a_refusal_per_row_and_reaches_no_department(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    departments = {name: CountingAdapter(name) for name in ELIGIBLE_FACTS}
    applications = [parse_application(buyer(number)) for number in range(7)]
    portal = CallerIdentity(system="school-portal")  # may use school_place only
    rights = CallerRights(AccessPolicy({"school-portal": CallerGrant(items=("school_place",))}))
    async with make_test_verifier(departments, tmp_path, interceptors=[rights]) as verifier:
        stream = verifier.verify_many(applications, caller=portal, batch_size=3)
        outcomes = await collected(stream)
    assert [outcome.index for outcome in outcomes] == list(range(7))
    assert all(isinstance(outcome.error, AccessDenied) for outcome in outcomes)
    assert all(department.batches == [] for department in departments.values())
    entries = [entry.body for entry in read_audit_entries(tmp_path) if entry.type == "record"]
    assert [entry["kind"] for entry in entries] == ["refusal"] * 7


class ShortAnswering(CountingAdapter):
    """Answers one query fewer than it was asked: no answer of its can be trusted."""

    async def fetch_many(self, queries: Sequence[DepartmentQuery]) -> list[DepartmentAnswer]:
        return (await super().fetch_many(queries))[:-1]


async def test_a_batch_answered_short_is_an_invalid_answer_for_all_its_applications(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    departments = mock_departments(tax=ShortAnswering("tax"))
    applications = [parse_application(buyer(number)) for number in range(4)]
    async with make_test_verifier(departments, tmp_path) as verifier:
        outcomes = await collected(verifier.decide_many(applications, batch_size=4))
    for outcome in outcomes:
        assert outcome.result is not None
        tax = [f for f in outcome.result.facts if f.provenance.department == "tax"]
        assert tax
        assert {fact.reason for fact in tax} == {UnknownReason.INVALID_ANSWER}
        [call] = [c for c in outcome.result.department_calls if c.department == "tax"]
        assert call.outcome is CallOutcome.INVALID_ANSWER
