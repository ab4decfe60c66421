"""Metrics: verifications by item and decision, latencies, UNKNOWN facts by reason."""

from __future__ import annotations

import pytest
from support import SCHOOL_PLACE_ACCESS, mock_departments, resident_id
from telemetry_support import MakeTracedVerifier, Recorded

from verifier import DepartmentUnavailable, InvalidApplication, MockAdapter, parse_application

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")


def school_place(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
        "parameters": {"district": "440305"},
        "reference_date": "2026-08-31",
        **SCHOOL_PLACE_ACCESS,
    }
    data.update(changes)
    return data


def labels(**attributes: str) -> frozenset[tuple[str, str]]:
    return frozenset((f"verifier.{key}", value) for key, value in attributes.items())


async def test_verifications_are_counted_by_item_and_decision(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    async with make_traced_verifier() as verifier:
        for _ in range(2):
            await verifier.verify(parse_application(school_place()))
        with pytest.raises(InvalidApplication):
            await verifier.verify(parse_application(school_place(parameters={})))

    counted = recorded.counted("verifier.verifications")
    assert counted == {
        labels(service_item="school_place", decision="ELIGIBLE"): 2,
        labels(service_item="school_place") | {("error.type", "InvalidApplication")}: 1,
    }
    durations = recorded.points("verifier.verification.duration")
    by_item = {frozenset(point.attributes.items()): point.count for point in durations}
    assert by_item == {
        labels(service_item="school_place"): 2,
        labels(service_item="school_place") | {("error.type", "InvalidApplication")}: 1,
    }, "by item; a refused one apart, so it does not flatter the latency"
    assert all(point.sum > 0 for point in durations)


async def test_department_latency_and_unknown_facts_by_department_and_reason(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    broken = mock_departments(household=MockAdapter("household", error=DepartmentUnavailable("x")))
    async with make_traced_verifier(broken) as verifier:
        result = await verifier.verify(parse_application(school_place()))

    assert recorded.counted("verifier.verifications") == {
        labels(service_item="school_place", decision=result.decision.outcome.value): 1
    }
    unknown_household = [f for f in result.facts if f.provenance.department == "household"]
    assert recorded.counted("verifier.facts.unknown") == {
        labels(department="household", reason="DEPARTMENT_ERROR"): len(unknown_household)
    }
    latencies = {
        frozenset(point.attributes.items()): point.count
        for point in recorded.points("verifier.department.duration")
    }
    assert latencies == {
        labels(department=call.department, outcome=call.outcome.value): 1
        for call in result.department_calls
    }
    [histogram] = [
        point
        for point in recorded.points("verifier.department.duration")
        if point.attributes["verifier.department"] == "social_insurance"
    ]
    assert histogram.explicit_bounds[:3] == (1, 2, 5), "millisecond buckets, not the SDK's"
