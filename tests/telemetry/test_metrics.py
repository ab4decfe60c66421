"""Metrics: verifications by item and decision, latencies, UNKNOWN facts by reason, cache
lookups by result, audit commits and their backlog."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from support import (
    ELIGIBLE_FACTS,
    SCHOOL_PLACE_ACCESS,
    TEST_PSEUDONYM_KEY,
    mock_departments,
    resident_id,
)
from telemetry_support import CapturingAuditSink, MakeTracedVerifier, Recorded

from verifier import (
    AuditUnavailable,
    DepartmentUnavailable,
    InvalidApplication,
    MockAdapter,
    parse_application,
)
from verifier.audit import AlertRecord, AuditRecord, Pseudonymiser
from verifier.catalogue import load_catalogue
from verifier.engine import CachePolicy, Verifier
from verifier.rules import load_service_items

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


async def test_cache_lookups_are_counted_by_department_and_result(recorded: Recorded) -> None:
    # Entries are never fresh (ttl of a microsecond) but kept a day past freshness: the
    # second verification misses every fact, and serves the failed household's stale.
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"])
    catalogue = load_catalogue()
    cache = CachePolicy(ttl=timedelta(microseconds=1), max_staleness=timedelta(days=1))
    verifier = Verifier(
        catalogue=catalogue, items=load_service_items(catalogue),
        adapters=mock_departments(household=household), audit=CapturingAuditSink(),
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY), telemetry=recorded.handle, cache=cache,
    )  # fmt: skip
    async with verifier:
        first = await verifier.verify(parse_application(school_place()))
        household.error = DepartmentUnavailable("down")
        second = await verifier.verify(parse_application(school_place()))

    per_department = Counter(fact.provenance.department for fact in first.facts)
    stale = [fact for fact in second.facts if fact.provenance.stale]
    assert stale
    assert {fact.provenance.department for fact in stale} == {"household"}
    counted = recorded.counted("verifier.cache.lookups")
    expected = {
        labels(department=department, **{"cache.result": "miss"}): 2 * count
        for department, count in per_department.items()
    }
    expected[labels(department="household", **{"cache.result": "stale"})] = len(stale)
    assert counted == expected


async def test_audit_commits_are_timed_and_the_backlog_drains(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    class FailingSink(CapturingAuditSink):
        async def append(self, record: AuditRecord | AlertRecord) -> None:
            raise OSError("disk full")

    async with make_traced_verifier() as verifier:
        for _ in range(3):
            await verifier.verify(parse_application(school_place()))
        verifier.audit = FailingSink()
        with pytest.raises(AuditUnavailable):
            await verifier.verify(parse_application(school_place()))

    commits = {
        frozenset(point.attributes.items()): point.count
        for point in recorded.points("verifier.audit.commit.duration")
    }
    assert commits == {frozenset(): 3, frozenset({("error.type", "OSError")}): 1}
    [backlog] = recorded.points("verifier.audit.backlog")
    assert backlog.value == 0
