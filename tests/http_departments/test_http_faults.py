"""Each simulated fault reaches the engine as the right error, with the right retryability."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from http_support import all_queries, http_adapter, sample_queries
from support import DEPARTMENTS

from adapters.demo_city import DemoCityManifest
from adapters.http import HttpDepartmentAdapter
from adapters.simulator import (
    FaultPlan,
    LognormalLatency,
    Outcome,
    RunningSimulators,
    run_simulators,
)
from verifier import DepartmentAnswerInvalid, DepartmentError, DepartmentUnavailable
from verifier.adapter import DepartmentAnswer, DepartmentQuery

EXPECTED_ERROR = {
    Outcome.ERROR: (DepartmentUnavailable, True),
    Outcome.HANG: (DepartmentUnavailable, True),  # given up at timeout_seconds
    Outcome.RESET: (DepartmentUnavailable, True),
    Outcome.MALFORMED: (DepartmentAnswerInvalid, False),
    Outcome.WRONG_SUBJECT: (DepartmentAnswerInvalid, False),
}


def first_housing_query(city: DemoCityManifest) -> DepartmentQuery:
    return next(q for _, q in all_queries(city) if q.department == "housing")


async def fetch_or_error(
    adapter: HttpDepartmentAdapter, query: DepartmentQuery
) -> DepartmentAnswer | DepartmentError:
    try:
        return await adapter.fetch(query)
    except DepartmentError as error:
        return error


@pytest.mark.parametrize("outcome", list(EXPECTED_ERROR), ids=str)
async def test_each_fault_is_the_right_error(
    outcome: Outcome, demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    simulators.simulators["housing"].faults = FaultPlan.only(outcome)
    adapter = http_adapter("housing", simulators.urls["housing"], timeout_seconds=0.2)
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch(first_housing_query(demo_city))
    finally:
        await adapter.aclose()
    kind, retryable = EXPECTED_ERROR[outcome]
    assert type(raised.value) is kind
    assert raised.value.retryable is retryable
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
    assert simulators.simulators["housing"].stats.outcomes[outcome] == 1


async def test_a_wrong_subject_answer_never_becomes_a_fact(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    simulators.simulators["housing"].faults = FaultPlan(wrong_subject_rate=1.0)
    adapter = http_adapter("housing", simulators.urls["housing"])
    try:
        for _, query in all_queries(demo_city):
            if query.department == "housing":
                with pytest.raises(DepartmentAnswerInvalid, match="other subjects"):
                    await adapter.fetch(query)
    finally:
        await adapter.aclose()


async def test_a_hanging_fetch_is_cancellable_and_leaves_nothing_behind(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    simulator = simulators.simulators["housing"]
    adapter = http_adapter("housing", simulators.urls["housing"])
    query = first_housing_query(demo_city)
    try:
        await adapter.fetch(query)  # a pooled connection exists before the hang
        simulator.faults = FaultPlan(hang_rate=1.0)
        before = asyncio.all_tasks()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(adapter.fetch(query), timeout=0.05)
        for _ in range(100):  # the server notices the closed connection asynchronously
            if simulator.stats.cancelled and not simulator.stats.in_flight:
                break
            await asyncio.sleep(0.01)
        assert simulator.stats.cancelled == 1
        assert simulator.stats.in_flight == 0
        for _ in range(100):
            if asyncio.all_tasks() <= before:
                break
            await asyncio.sleep(0.01)
        assert asyncio.all_tasks() <= before
        simulator.faults = FaultPlan()
        assert await adapter.fetch(query)  # the adapter is still usable
    finally:
        await adapter.aclose()


async def test_an_oversized_answer_is_invalid(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    adapter = HttpDepartmentAdapter(
        http_adapter("housing", simulators.urls["housing"]).settings, max_answer_bytes=40
    )
    try:
        with pytest.raises(DepartmentAnswerInvalid, match="exceeds 40 bytes"):
            await adapter.fetch(first_housing_query(demo_city))
    finally:
        await adapter.aclose()


async def test_a_wrong_department_path_is_a_non_retryable_404(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    adapter = http_adapter("housing", simulators.urls["household"])
    try:
        with pytest.raises(DepartmentError, match="HTTP 404") as raised:
            await adapter.fetch(first_housing_query(demo_city))
    finally:
        await adapter.aclose()
    assert not raised.value.retryable
    assert not isinstance(raised.value, DepartmentUnavailable)


async def test_an_unanswerable_request_is_a_non_retryable_400(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    sample = demo_city.samples[0]
    household = sample_queries(sample)["household"]
    misdirected = DepartmentQuery("housing", household.reference_date, household.requests)
    adapter = http_adapter("housing", simulators.urls["housing"])
    try:
        with pytest.raises(DepartmentError, match="HTTP 400") as raised:
            # Household facts asked of housing: the department refuses the request itself.
            await adapter.fetch(misdirected)
    finally:
        await adapter.aclose()
    assert not raised.value.retryable
    assert simulators.simulators["housing"].stats.outcomes["rejected"] == 1


async def test_canaries_never_leave_through_answers_errors_or_logs(
    demo_city: DemoCityManifest, simulators: RunningSimulators, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert demo_city.canaries
    texts: list[str] = []
    messages: list[str] = []
    queries = all_queries(demo_city)
    for outcome in Outcome:
        for department in DEPARTMENTS:
            simulators.simulators[department].faults = FaultPlan.only(outcome)
        give_up = 0.1 if outcome is Outcome.HANG else 5.0
        adapters = {
            d: http_adapter(d, simulators.urls[d], timeout_seconds=give_up) for d in DEPARTMENTS
        }
        try:
            found = await asyncio.gather(
                *(fetch_or_error(adapters[q.department], q) for _, q in queries)
            )
        finally:
            for adapter in adapters.values():
                await adapter.aclose()
        assert len(found) == len(queries)
        for result in found:
            if isinstance(result, DepartmentError):
                assert result.__context__ is None
                messages.append(f"{result} {result!r}")
            else:
                assert outcome is Outcome.OK
                texts.append(repr(result))
    logged = [record.getMessage() for record in caplog.records]
    assert logged  # httpx and httpcore did log; none of it may carry a record or an ID
    everything = "\n".join(texts + messages + logged)
    leaked = [canary for canary in demo_city.canaries if canary in everything]
    assert not leaked
    errors = "\n".join(messages + logged)
    assert len(messages) == len(queries) * (len(Outcome) - 1)
    assert not [sid for _, query in queries for sid in query.subject_ids() if sid in errors]


async def test_the_same_seed_gives_the_same_sequence_of_outcomes(
    demo_city: DemoCityManifest,
) -> None:
    data_dir = demo_city.data_dir
    assert data_dir is not None
    plan = FaultPlan(error_rate=0.2, reset_rate=0.1, malformed_rate=0.1, wrong_subject_rate=0.1)

    async def sequence(seed: int) -> list[str]:
        async with run_simulators(data_dir, {"housing": 0}, plan, seed=seed) as running:
            adapter = http_adapter("housing", running.urls["housing"])
            try:
                query = first_housing_query(demo_city)
                results = [await fetch_or_error(adapter, query) for _ in range(40)]
            finally:
                await adapter.aclose()
        return [type(result).__name__ for result in results]

    first, again, other = await sequence(7), await sequence(7), await sequence(8)
    assert first == again
    assert first != other
    assert {"DepartmentAnswer", "DepartmentUnavailable", "DepartmentAnswerInvalid"} <= set(first)


async def test_sequential_fetches_reuse_one_pooled_connection(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    adapter = http_adapter("housing", simulators.urls["housing"], max_keepalive=2)
    query = first_housing_query(demo_city)
    try:
        for _ in range(50):
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    stats = simulators.simulators["housing"].stats.as_json()
    assert stats["requests"] == 50
    assert stats["connections"] == 1  # ≤ max_keepalive: every fetch reused the first one


async def test_concurrent_fetches_stay_within_max_connections(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    simulators.simulators["housing"].faults = FaultPlan(latency={"kind": "fixed", "ms": 5})
    adapter = http_adapter("housing", simulators.urls["housing"], max_connections=4)
    query = first_housing_query(demo_city)
    try:
        await asyncio.gather(*(adapter.fetch(query) for _ in range(50)))
    finally:
        await adapter.aclose()
    assert simulators.simulators["housing"].stats.as_json()["connections"] <= 4


async def test_faults_change_at_runtime_and_stats_are_served(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    url = simulators.urls["tax"]
    query = sample_queries(demo_city.samples[-1]).get("tax") or next(
        q for _, q in all_queries(demo_city) if q.department == "tax"
    )
    adapter = http_adapter("tax", url)
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        try:
            await adapter.fetch(query)
            plan = FaultPlan(error_rate=1.0, latency=LognormalLatency(p50_ms=1, p99_ms=3))
            changed = await client.post("/v1/faults", content=plan.model_dump_json())
            assert changed.status_code == 200
            assert FaultPlan.model_validate_json(changed.content) == plan
            with pytest.raises(DepartmentUnavailable):
                await adapter.fetch(query)
            refused = await client.post("/v1/faults", json={"error_rate": 2})
            assert refused.status_code == 400
            assert (await client.post("/v1/faults", json={})).status_code == 200
            await adapter.fetch(query)
        finally:
            await adapter.aclose()
        stats = (await client.get("/v1/stats")).json()
    assert stats == {
        "department": "tax",
        "requests": 3,
        "outcomes": {"error": 1, "ok": 2},
        "connections": 1,
        "in_flight": 0,
        "cancelled": 0,
    }
    assert simulators.simulators["housing"].faults == FaultPlan()  # each has its own plan


async def test_stopping_releases_a_hang_in_progress(demo_city: DemoCityManifest) -> None:
    data_dir = demo_city.data_dir
    assert data_dir is not None
    query = first_housing_query(demo_city)
    hanging = FaultPlan(hang_rate=1.0)
    async with run_simulators(data_dir, {"housing": 0}, hanging) as running:
        adapter = http_adapter("housing", running.urls["housing"])
        waiting = asyncio.ensure_future(fetch_or_error(adapter, query))
        for _ in range(200):
            if running.simulators["housing"].stats.in_flight:
                break
            await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
    stopped_in = asyncio.get_running_loop().time() - started
    try:
        result = await asyncio.wait_for(waiting, timeout=5)
    finally:
        await adapter.aclose()
    assert stopped_in < 1.0
    assert isinstance(result, DepartmentUnavailable)
    assert result.retryable
