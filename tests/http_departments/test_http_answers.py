"""Over HTTP, a department answers exactly what its SQL adapter derives, and the engine agrees.

Path under test: HttpDepartmentAdapter → real httpx → simulator (aiohttp, 127.0.0.1) → the
department's real SQL adapter over the demo city.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from http_support import all_queries, http_adapter, sample_queries, sql_adapter
from support import DEPARTMENTS, SAMPLED_DEPARTMENTS

from adapters.demo_city import DemoCityManifest
from adapters.http import HttpDepartmentAdapter
from adapters.simulator import FaultPlan, Outcome, RunningSimulators
from verifier import DepartmentError, load_config
from verifier.adapter import DepartmentAdapter, Unknown
from verifier.catalogue import load_catalogue
from verifier.config import create_adapter
from verifier.engine import Verifier
from verifier.model import CallOutcome, FactStatus, parse_application


@pytest.fixture
async def over_http(
    simulators: RunningSimulators,
) -> AsyncIterator[dict[str, HttpDepartmentAdapter]]:
    adapters = {d: http_adapter(d, simulators.urls[d]) for d in DEPARTMENTS}
    yield adapters
    for adapter in adapters.values():
        await adapter.aclose()


@pytest.fixture
async def direct(demo_city: DemoCityManifest) -> AsyncIterator[dict[str, DepartmentAdapter]]:
    adapters = {d: sql_adapter(demo_city, d) for d in DEPARTMENTS}
    yield adapters
    for adapter in adapters.values():
        await adapter.aclose()


async def test_every_sample_answers_as_the_sql_adapter_does(
    demo_city: DemoCityManifest,
    over_http: dict[str, HttpDepartmentAdapter],
    direct: dict[str, DepartmentAdapter],
) -> None:
    compared = set()
    for name, query in all_queries(demo_city):
        remote = await over_http[query.department].fetch(query)
        local = await direct[query.department].fetch(query)
        assert remote.facts == local.facts, (name, query.department)
        assert remote.source_as_of == local.source_as_of
        compared.add(query.department)
    assert compared == set(SAMPLED_DEPARTMENTS)


async def test_the_answers_are_the_planted_facts(
    demo_city: DemoCityManifest, over_http: dict[str, HttpDepartmentAdapter]
) -> None:
    for sample in demo_city.samples:
        for department, query in sample_queries(sample).items():
            answer = await over_http[department].fetch(query)
            for request in query.requests:
                planted = sample.facts[int(request.key.rpartition("#")[2])]
                got = answer.facts[request.key]
                if planted.unknown is not None:
                    assert isinstance(got, Unknown), (sample.name, request.key)
                    assert got.reason == planted.unknown
                else:
                    assert got == planted.value, (sample.name, request.key)


async def test_fetch_many_answers_in_query_order_within_the_pool(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    queries = [q for _, q in all_queries(demo_city) if q.department == "housing"] * 4
    adapter = http_adapter("housing", simulators.urls["housing"], max_connections=3)
    try:
        many = await adapter.fetch_many(queries)
        one_by_one = [await adapter.fetch(query) for query in queries]
    finally:
        await adapter.aclose()
    assert many == one_by_one
    assert await http_adapter("housing", simulators.urls["housing"]).fetch_many([]) == []
    assert simulators.simulators["housing"].stats.as_json()["connections"] <= 3


async def test_fetch_many_fails_whole_on_the_first_failure_leaving_nothing_running(
    demo_city: DemoCityManifest, simulators: RunningSimulators
) -> None:
    queries = [q for _, q in all_queries(demo_city) if q.department == "housing"]
    simulators.simulators["housing"].faults = FaultPlan(error_rate=0.5)
    adapter = http_adapter("housing", simulators.urls["housing"], max_connections=4)
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch_many(queries * 3)
    finally:
        await adapter.aclose()
    assert raised.value.retryable
    assert simulators.simulators["housing"].stats.in_flight == 0


async def make_engine_adapters(
    demo_city: DemoCityManifest, housing: DepartmentAdapter
) -> dict[str, DepartmentAdapter]:
    """Housing over HTTP, the others built by the wiring from the same configuration."""
    config = load_config(data_dir=demo_city.data_dir)
    catalogue = load_catalogue(config.catalogue)
    adapters = {d: create_adapter(config, d, catalogue) for d in DEPARTMENTS if d != "housing"}
    return {**adapters, "housing": housing}


async def test_every_sample_decides_as_planted_with_housing_over_http(
    demo_city: DemoCityManifest,
    simulators: RunningSimulators,
    make_test_verifier: Callable[..., Verifier],
) -> None:
    housing = http_adapter(
        "housing", simulators.urls["housing"], facts=sorted(simulators.facts("housing"))
    )
    engine = make_test_verifier(await make_engine_adapters(demo_city, housing))
    decided = {}
    async with engine:
        for sample in demo_city.samples:
            result = await engine.verify(parse_application(sample.application))
            decided[sample.name] = result.decision.outcome.value
            assert all(call.outcome == CallOutcome.OK for call in result.department_calls)
    # Ten school places (three planted for the what-if replay), seven first homes, eight
    # re-checks.
    assert len(decided) == 25
    assert decided == {sample.name: sample.expected for sample in demo_city.samples}
    assert simulators.simulators["housing"].stats.outcomes[Outcome.OK] > 0


async def test_a_failing_http_department_costs_only_its_facts(
    demo_city: DemoCityManifest,
    simulators: RunningSimulators,
    make_test_verifier: Callable[..., Verifier],
) -> None:
    simulators.simulators["housing"].faults = FaultPlan(error_rate=1.0)
    housing = http_adapter("housing", simulators.urls["housing"])
    engine = make_test_verifier(await make_engine_adapters(demo_city, housing))
    async with engine:
        for sample in demo_city.samples:
            result = await engine.verify(parse_application(sample.application))
            for fact in result.facts:
                if fact.provenance.department == "housing":
                    assert fact.status is FactStatus.UNKNOWN
                    assert fact.reason is not None
                else:
                    assert fact.status is FactStatus.KNOWN or fact.reason == "RECORD_PENDING"
