"""The fact cache in the engine: TTL, freshness, keys, partial hits, stale-if-error, audit."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path

import pytest
from cache_support import T0, FakeClock, MakeCachedVerifier
from support import (
    ELIGIBLE_FACTS,
    FIRST_HOME_ACCESS,
    SCHOOL_PLACE_ACCESS,
    mock_departments,
    resident_id,
)

from adapters.demo_city import DemoCityManifest
from verifier import (
    DecisionOutcome,
    DepartmentError,
    FactStatus,
    InvalidApplication,
    MockAdapter,
    Unknown,
    UnknownReason,
    UnknownServiceItem,
    parse_application,
)
from verifier.adapter import DepartmentAdapter, FactRequest
from verifier.audit import read_audit_entries
from verifier.catalogue import load_catalogue
from verifier.config import load_config
from verifier.config._wiring import cache_policy
from verifier.engine._cache import (
    CachedFact,
    CachePolicy,
    FactKey,
    InProcessFactCache,
    fact_key,
)
from verifier.model import VerificationResult

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")
OTHER_CHILD = resident_id("44030520180101203")
BAD_ID = GUARDIAN[:-1] + ("0" if GUARDIAN[-1] != "0" else "1")
SPOUSE = resident_id("44030619920202404")
EPSILON = timedelta(microseconds=1)
CATALOGUE = load_catalogue()


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


def first_home() -> dict[str, object]:
    return {
        "service_item": "first_home_purchase",
        "subjects": [{"role": "buyer", "id": GUARDIAN}, {"role": "spouse", "id": SPOUSE}],
        "reference_date": "2026-08-31",
        **FIRST_HOME_ACCESS,
    }


def calls(adapters: Mapping[str, DepartmentAdapter]) -> dict[str, int]:
    return {name: adapter.calls for name, adapter in adapters.items()}  # type: ignore[attr-defined]


def freshness(result: VerificationResult, name: str) -> timedelta:
    return CATALOGUE.facts[result.fact(name).fact].freshness


async def test_a_cached_fact_is_served_without_calling_its_department(
    make_cached_verifier: MakeCachedVerifier,
) -> None:
    adapters = mock_departments()
    async with make_cached_verifier(adapters) as verifier:
        first = await verifier.verify(parse_application(school_place()))
        before = calls(adapters)
        second = await verifier.verify(parse_application(school_place()))
    assert calls(adapters) == before
    assert not any(fact.provenance.cached for fact in first.facts)
    assert all(fact.provenance.cached and not fact.provenance.stale for fact in second.facts)
    # Provenance as originally retrieved.
    assert [f.provenance.retrieved_at for f in second.facts] == [
        f.provenance.retrieved_at for f in first.facts
    ]
    assert [f.value for f in second.facts] == [f.value for f in first.facts]
    assert second.decision == first.decision
    assert second.documents_not_required == first.documents_not_required
    # Every department is still accounted for: not called (attempts 0), nothing failed.
    assert {c.department: c.attempts for c in second.department_calls} == {
        c.department: 0 for c in first.department_calls
    }
    assert all(c.outcome == "OK" and c.duration_ms == 0 for c in second.department_calls)


async def test_ttl_expiry_is_exact_on_the_engine_clock(
    make_cached_verifier: MakeCachedVerifier, clock: FakeClock
) -> None:
    adapters = mock_departments()
    ttl = timedelta(seconds=60)
    async with make_cached_verifier(adapters, cache=CachePolicy(ttl=ttl)) as verifier:
        await verifier.verify(parse_application(school_place()))
        clock.advance(ttl - EPSILON)
        hit = await verifier.verify(parse_application(school_place()))
        assert all(fact.provenance.cached for fact in hit.facts)
        assert sum(calls(adapters).values()) == len(hit.department_calls)
        clock.advance(EPSILON)
        miss = await verifier.verify(parse_application(school_place()))
    assert not any(fact.provenance.cached for fact in miss.facts)
    assert miss.facts[0].provenance.retrieved_at == T0 + ttl
    assert sum(calls(adapters).values()) == 2 * len(hit.department_calls)


async def test_ttl_is_bounded_by_each_facts_catalogue_freshness(
    make_cached_verifier: MakeCachedVerifier, clock: FakeClock
) -> None:
    async with make_cached_verifier(cache=CachePolicy(ttl=timedelta(days=365))) as verifier:
        first = await verifier.verify(parse_application(first_home()))
        freshnesses = sorted({freshness(first, fact.name) for fact in first.facts})
        assert len(freshnesses) > 1, "the test needs facts of different freshness"
        shortest = freshnesses[0]
        clock.advance(shortest - EPSILON)
        before = await verifier.verify(parse_application(first_home()))
        assert all(fact.provenance.cached for fact in before.facts)
        clock.advance(EPSILON)
        after = await verifier.verify(parse_application(first_home()))
    for fact in after.facts:
        assert fact.provenance.cached == (freshness(after, fact.name) > shortest), fact.name


async def test_unknown_is_never_cached_and_only_missing_facts_are_asked(
    make_cached_verifier: MakeCachedVerifier,
) -> None:
    values = dict(ELIGIBLE_FACTS["household"])
    pending: dict[str, object] = {"guardian_of": Unknown(UnknownReason.RECORD_PENDING)}

    def responder(request: FactRequest) -> object:
        return pending.get(request.fact, values[request.fact])

    household = MockAdapter("household", responder=responder)  # type: ignore[arg-type]
    adapters = mock_departments(household=household)
    async with make_cached_verifier(adapters) as verifier:
        first = await verifier.verify(parse_application(school_place()))
        assert first.fact("guardian_is_parent").status is FactStatus.UNKNOWN
        second = await verifier.verify(parse_application(school_place()))
        pending.clear()
        third = await verifier.verify(parse_application(school_place()))
    assert household.calls == 3
    # The partial hit: only the fact that was not cached is asked for.
    assert [r.fact for r in household.queries[1].requests] == ["guardian_of"]
    assert second.fact("guardian_is_parent").status is FactStatus.UNKNOWN
    assert not second.fact("guardian_is_parent").provenance.cached
    assert third.fact("guardian_is_parent").value is True
    household_call = next(c for c in third.department_calls if c.department == "household")
    assert household_call.facts == ("guardian_is_parent",)
    assert household_call.attempts == 1
    others = [f for f in third.facts if f.provenance.department == "household"]
    assert {f.name: f.provenance.cached for f in others} == {
        f.name: f.name != "guardian_is_parent" for f in others
    }


async def test_a_failed_department_caches_nothing(
    make_cached_verifier: MakeCachedVerifier,
) -> None:
    household = MockAdapter(
        "household", values=ELIGIBLE_FACTS["household"], error=DepartmentError("down")
    )
    async with make_cached_verifier(mock_departments(household=household)) as verifier:
        await verifier.verify(parse_application(school_place()))
        household.error = None
        result = await verifier.verify(parse_application(school_place()))
    assert household.calls == 2
    household_facts = [f for f in result.facts if f.provenance.department == "household"]
    assert household_facts
    assert all(f.known and not f.provenance.cached for f in household_facts)


@pytest.mark.parametrize(
    ("change", "expected_misses"),
    [
        ({"reference_date": "2026-09-01"}, "every"),
        ({"parameters": {"district": "440306"}}, "district"),
        (
            {
                "subjects": [
                    {"role": "guardian", "id": GUARDIAN},
                    {"role": "child", "id": OTHER_CHILD},
                ]
            },
            "child",
        ),
    ],
)
async def test_keys_distinguish_reference_date_parameters_and_subjects(
    make_cached_verifier: MakeCachedVerifier, change: dict[str, object], expected_misses: str
) -> None:
    async with make_cached_verifier() as verifier:
        await verifier.verify(parse_application(school_place()))
        result = await verifier.verify(parse_application(school_place(**change)))
    missed = {f.name for f in result.facts if not f.provenance.cached}
    assert missed
    if expected_misses == "every":
        assert missed == {f.name for f in result.facts}
    elif expected_misses == "district":
        assert missed == {
            f.name for f in result.facts if "district" in CATALOGUE.facts[f.fact].parameters
        }
    else:
        assert missed == {f.name for f in result.facts if "child" in f.subjects.values()}
        assert missed != {f.name for f in result.facts}


def test_fact_key_is_stable_and_normalised() -> None:
    application = parse_application(school_place())
    from verifier.rules import load_service_items

    item = load_service_items(CATALOGUE).get("school_place")
    bound = item.bind(application, CATALOGUE, date(2026, 8, 31))
    keys = [fact_key(fact, date(2026, 8, 31)) for fact in bound]
    again = [fact_key(fact, date(2026, 8, 31)) for fact in reversed(bound)][::-1]
    assert keys == again
    assert len(set(keys)) == len(keys)
    assert all(hash(key) == hash(FactKey(*key)) for key in keys)


@pytest.mark.parametrize("failure", ["error", "timeout"])
async def test_stale_if_error_is_served_within_freshness_plus_max_staleness(
    make_cached_verifier: MakeCachedVerifier, clock: FakeClock, failure: str
) -> None:
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"])
    policy = CachePolicy(ttl=timedelta(minutes=1), max_staleness=timedelta(hours=1))
    async with make_cached_verifier(
        mock_departments(household=household), cache=policy, timeout=0.3
    ) as verifier:
        first = await verifier.verify(parse_application(school_place()))
        if failure == "error":
            household.error = DepartmentError("down")
        else:
            household.hang = True
        household_freshness = max(
            freshness(first, f.name) for f in first.facts if f.provenance.department == "household"
        )
        clock.advance(household_freshness + timedelta(hours=1) - EPSILON)
        stale = await verifier.verify(parse_application(school_place()))
        clock.advance(EPSILON)
        gone = await verifier.verify(parse_application(school_place()))
    stale_facts = [f for f in stale.facts if f.provenance.department == "household"]
    assert stale_facts
    for fact in stale_facts:
        assert fact.known
        assert fact.provenance.cached
        assert fact.provenance.stale
        assert fact.provenance.retrieved_at == T0
    assert stale.decision.outcome is DecisionOutcome.ELIGIBLE
    household_call = next(c for c in stale.department_calls if c.department == "household")
    assert household_call.outcome == ("ERROR" if failure == "error" else "TIMEOUT")
    for fact in (f for f in gone.facts if f.provenance.department == "household"):
        assert fact.status is FactStatus.UNKNOWN
        assert not fact.provenance.stale


async def test_without_stale_if_error_a_failure_after_ttl_is_unknown(
    make_cached_verifier: MakeCachedVerifier, clock: FakeClock
) -> None:
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"])
    ttl = timedelta(minutes=1)
    async with make_cached_verifier(
        mock_departments(household=household), cache=CachePolicy(ttl=ttl)
    ) as verifier:
        await verifier.verify(parse_application(school_place()))
        household.error = DepartmentError("down")
        clock.advance(ttl)
        result = await verifier.verify(parse_application(school_place()))
    household_facts = [f for f in result.facts if f.provenance.department == "household"]
    assert all(f.status is FactStatus.UNKNOWN for f in household_facts)


async def test_a_department_answer_of_unknown_is_not_hidden_by_a_stale_value(
    make_cached_verifier: MakeCachedVerifier, clock: FakeClock
) -> None:
    answers: dict[str, object] = dict(ELIGIBLE_FACTS["household"])
    household = MockAdapter("household", responder=lambda r: answers[r.fact])  # type: ignore[arg-type,return-value]
    policy = CachePolicy(ttl=timedelta(minutes=1), max_staleness=timedelta(hours=1))
    async with make_cached_verifier(mock_departments(household=household), cache=policy) as v:
        await v.verify(parse_application(school_place()))
        answers["guardian_of"] = Unknown(UnknownReason.RECORD_PENDING)
        clock.advance(timedelta(minutes=1))
        result = await v.verify(parse_application(school_place()))
    assert result.fact("guardian_is_parent").reason is UnknownReason.RECORD_PENDING
    assert not result.fact("guardian_is_parent").provenance.stale


class SpyStore:
    """A FactCache that records whether anything reached it."""

    def __init__(self) -> None:
        self.touched = 0

    async def get_many(self, keys: Sequence[FactKey]) -> dict[FactKey, CachedFact]:
        self.touched += 1
        return {}

    async def put_many(self, entries: Mapping[FactKey, CachedFact]) -> None:
        self.touched += 1


@pytest.mark.parametrize(
    ("application", "error"),
    [
        (school_place(subjects=[{"role": "guardian", "id": BAD_ID}]), InvalidApplication),
        (school_place(parameters={}), InvalidApplication),
        (school_place(service_item="no_such_item"), UnknownServiceItem),
    ],
)
async def test_invalid_input_never_reaches_the_cache(
    make_cached_verifier: MakeCachedVerifier,
    application: dict[str, object],
    error: type[Exception],
) -> None:
    """Pins the order of the flow: validation (and authorisation) before the cache."""
    store = SpyStore()
    async with make_cached_verifier(cache=CachePolicy(store=store)) as verifier:
        with pytest.raises(error):
            await verifier.verify(parse_application(application))
        assert store.touched == 0
        await verifier.verify(parse_application(school_place()))
    assert store.touched == 2  # a valid application does go through it


class BrokenStore:
    async def get_many(self, keys: Sequence[FactKey]) -> dict[FactKey, CachedFact]:
        raise ConnectionError("cache down")

    async def put_many(self, entries: Mapping[FactKey, CachedFact]) -> None:
        raise ConnectionError("cache down")


async def test_a_failing_store_costs_the_hits_not_the_verification(
    make_cached_verifier: MakeCachedVerifier,
) -> None:
    async with make_cached_verifier(cache=CachePolicy(store=BrokenStore())) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    assert result.decision.outcome is DecisionOutcome.ELIGIBLE
    assert not any(f.provenance.cached for f in result.facts)


async def test_audit_records_show_cached_and_stale(
    make_cached_verifier: MakeCachedVerifier, clock: FakeClock, audit_dir: Path
) -> None:
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"])
    policy = CachePolicy(ttl=timedelta(minutes=1), max_staleness=timedelta(hours=1))
    async with make_cached_verifier(mock_departments(household=household), cache=policy) as v:
        await v.verify(parse_application(school_place()))
        await v.verify(parse_application(school_place()))
        household.error = DepartmentError("down")
        clock.advance(timedelta(minutes=1))
        await v.verify(parse_application(school_place()))
    records = [e.body for e in read_audit_entries(audit_dir) if e.type == "record"]
    fetched, cached, stale = records
    assert not any(f["cached"] or f["stale"] for f in fetched["facts"])
    assert all(f["cached"] and not f["stale"] for f in cached["facts"])
    assert all(f["attempts"] == 0 for f in cached["facts"])
    assert {c["attempts"] for c in cached["department_calls"]} == {0}
    household_facts = [f for f in stale["facts"] if f["department"] == "household"]
    assert household_facts
    assert all(f["cached"] and f["stale"] for f in household_facts)
    assert not any(f["stale"] for f in stale["facts"] if f["department"] != "household")


def test_in_process_store_is_bounded_least_recently_used_first(clock: FakeClock) -> None:
    import asyncio

    store = InProcessFactCache(2, clock)
    entry = CachedFact(True, "household", None, T0, T0 + timedelta(1), T0 + timedelta(1))
    keys = [FactKey("f", (("subject", str(n)),), (), date(2026, 8, 31)) for n in range(3)]

    async def scenario() -> None:
        await store.put_many({keys[0]: entry, keys[1]: entry})
        await store.get_many([keys[0]])  # keys[1] is now the least recently used
        await store.put_many({keys[2]: entry})
        assert set(await store.get_many(keys)) == {keys[0], keys[2]}

    asyncio.run(scenario())
    assert len(store) == 2


def test_cache_config_maps_to_the_policy() -> None:
    assert cache_policy(load_config(cache={"enabled": False}).cache) is None
    configured = {"ttl_seconds": 30, "max_entries": 10, "max_staleness_seconds": 600}
    policy = cache_policy(load_config(cache=configured).cache)
    assert policy == CachePolicy(
        ttl=timedelta(seconds=30), max_entries=10, max_staleness=timedelta(minutes=10)
    )
    default = cache_policy(load_config().cache)
    assert default is not None
    assert default.max_staleness == timedelta(0)


async def test_decisions_are_the_same_with_and_without_cache_on_the_demo_city(
    demo_city: DemoCityManifest, make_cached_verifier: MakeCachedVerifier
) -> None:
    def city_adapters() -> dict[str, DepartmentAdapter]:
        adapters: dict[str, DepartmentAdapter] = {}
        for department in ("household", "social_insurance", "housing", "tax"):
            module = importlib.import_module(f"adapters.{department}")
            adapters[department] = module.create_adapter({"url": demo_city.urls[department]})
        return adapters

    applications = [parse_application(sample.application) for sample in demo_city.samples]
    async with make_cached_verifier(city_adapters(), cache=None) as plain:
        expected = [(await plain.verify(a)).decision for a in applications]
    async with make_cached_verifier(city_adapters()) as cached:
        cold = [(await cached.verify(a)).decision for a in applications]
        warm = [await cached.verify(a) for a in applications]
    assert cold == expected
    assert [result.decision for result in warm] == expected
    warm_facts = [fact for result in warm for fact in result.facts]
    assert any(fact.known for fact in warm_facts)
    assert all(fact.provenance.cached == fact.known for fact in warm_facts)
