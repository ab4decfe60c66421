"""The fact cache shared by replicas, on the real Redis (127.0.0.1:6379 unless
``VERIFIER_TEST_REDIS_URL`` says otherwise; skipped without it, failed in CI).

Two Verifiers stand for two replicas: what one established, the other serves without
calling the department. Redis holds no subject ID — not in a key, not in a value — and a
Redis that is down or returns garbage costs the hits, never the answer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis_asyncio
from support import (
    REDIS_URL,
    SCHOOL_PLACE_ACCESS,
    TEST_PSEUDONYM_KEY,
    mock_departments,
    resident_id,
    service_unavailable,
)

import verifier
from verifier import parse_application
from verifier.adapter import DepartmentAdapter, MockAdapter
from verifier.audit import ChainedAuditLog, Pseudonymiser, load_or_create_signing_key
from verifier.catalogue import load_catalogue
from verifier.config._wiring import cache_policy
from verifier.engine import RedisFactCache, Verifier
from verifier.engine._cache import CachedFact, CachePolicy, FactKey
from verifier.rules import load_service_items

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")
PSEUDONYMS = Pseudonymiser(TEST_PSEUDONYM_KEY)


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A fresh key prefix on the real Redis, removed afterwards."""
    client = redis_asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as error:
        await client.aclose()
        service_unavailable(f"Redis not reachable at {REDIS_URL}: {type(error).__name__}")
    name = f"verifier-test:{uuid.uuid4().hex[:8]}:"
    try:
        yield name
    finally:
        keys = [key async for key in client.scan_iter(match=f"{name}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def stored(prefix: str) -> dict[bytes, bytes]:
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        values = await client.mget(keys) if keys else []
        return dict(zip(keys, values, strict=True))
    finally:
        await client.aclose()


def store(prefix: str, url: str = REDIS_URL) -> RedisFactCache:
    return RedisFactCache.from_url(url, PSEUDONYMS.pseudonym, prefix=prefix, timeout_seconds=0.5)


def replica(tmp_path: Path, name: str, cache: RedisFactCache, adapters: Any = None) -> Verifier:
    catalogue = load_catalogue()
    directory = tmp_path / name
    return Verifier(
        catalogue=catalogue,
        items=load_service_items(catalogue),
        adapters=adapters or mock_departments(),
        audit=ChainedAuditLog(directory, load_or_create_signing_key(directory)),
        pseudonymiser=PSEUDONYMS,
        cache=CachePolicy(store=cache),
    )


def school_place() -> dict[str, Any]:
    return {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
        "parameters": {"district": "440305"},
        "reference_date": "2026-08-31",
        **SCHOOL_PLACE_ACCESS,
    }


def calls(adapters: dict[str, DepartmentAdapter]) -> int:
    return sum(a.calls for a in adapters.values() if isinstance(a, MockAdapter))


async def test_a_fact_one_replica_established_is_served_by_another(
    tmp_path: Path, prefix: str
) -> None:
    first_departments, second_departments = mock_departments(), mock_departments()
    async with replica(tmp_path, "a", store(prefix), first_departments) as first:
        established = await first.verify(parse_application(school_place()))
    async with replica(tmp_path, "b", store(prefix), second_departments) as second:
        served = await second.verify(parse_application(school_place()))
    assert calls(first_departments) > 0
    assert calls(second_departments) == 0
    assert all(fact.provenance.cached for fact in served.facts)
    assert [(f.name, f.value) for f in served.facts] == [
        (f.name, f.value) for f in established.facts
    ]
    assert served.decision.outcome == established.decision.outcome


async def test_redis_holds_no_subject_id_and_expires_with_freshness(
    tmp_path: Path, prefix: str
) -> None:
    async with replica(tmp_path, "a", store(prefix)) as engine:
        result = await engine.verify(parse_application(school_place()))
    entries = await stored(prefix)
    assert len(entries) == len(result.facts)
    everything = b"\n".join([*entries, *entries.values()])
    for identifier in (GUARDIAN, CHILD, GUARDIAN[:-1], PSEUDONYMS.pseudonym(GUARDIAN)):
        assert identifier.encode() not in everything
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        ttls = [await client.pttl(key) for key in entries]
    finally:
        await client.aclose()
    # The catalogue's freshness of these facts is a day; the configured TTL (5 min) is less.
    assert all(0 < ttl <= 300_000 for ttl in ttls)


async def test_round_trip_keeps_types_and_times(prefix: str) -> None:
    cache = store(prefix)
    now = datetime(2026, 8, 31, 9, 0, tzinfo=UTC)
    key = FactKey("homes_owned_in_city", (("subject", GUARDIAN),), (), date(2026, 8, 31))
    other = key._replace(fact="owns_no_home_in_city")
    far = datetime.now(UTC) + timedelta(minutes=5)
    entries = {
        key: CachedFact(0, "housing", now, now, far, far),
        other: CachedFact(True, "housing", None, now, far, far),
    }
    try:
        await cache.put_many(entries)
        found = await cache.get_many([key, other, key._replace(reference_date=date(2026, 9, 1))])
    finally:
        await cache.aclose()
    assert found == entries
    assert found[key].value == 0
    assert found[key].value is not False  # an int stays an int
    assert found[other].value is True


async def test_garbage_in_redis_is_a_miss_not_a_fact(tmp_path: Path, prefix: str) -> None:
    departments = mock_departments()
    async with replica(tmp_path, "a", store(prefix)) as engine:
        await engine.verify(parse_application(school_place()))
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        names = list(await stored(prefix))
        await client.set(names[0], b'{"value": "yes", "department": "x"}')
        for name in names[1:]:
            await client.set(name, b"\xff not json")
    finally:
        await client.aclose()
    async with replica(tmp_path, "b", store(prefix), departments) as engine:
        result = await engine.verify(parse_application(school_place()))
    assert calls(departments) > 0  # everything fetched again
    assert not any(fact.provenance.cached for fact in result.facts)


async def test_a_redis_that_is_down_costs_the_hits_not_the_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    departments = mock_departments()
    down = RedisFactCache.from_url(
        "redis://127.0.0.1:1/0", PSEUDONYMS.pseudonym, timeout_seconds=0.05
    )
    async with replica(tmp_path, "a", down, departments) as engine:
        result = await engine.verify(parse_application(school_place()))
    assert result.decision.outcome == "ELIGIBLE"
    assert calls(departments) > 0
    assert "fact cache lookup failed" in caplog.text
    assert "fact cache store failed" in caplog.text
    assert GUARDIAN not in caplog.text


async def test_the_configuration_selects_redis(prefix: str) -> None:
    config = verifier.load_config(
        cache={"backend": "redis", "redis_url": REDIS_URL, "redis_key_prefix": prefix}
    )
    policy = cache_policy(config.cache, PSEUDONYMS)
    assert policy is not None
    assert isinstance(policy.store, RedisFactCache)
    await policy.store.aclose()
    with pytest.raises(verifier.ConfigurationError, match=r"cache\.redis_url"):
        verifier.load_config(cache={"backend": "redis"})
