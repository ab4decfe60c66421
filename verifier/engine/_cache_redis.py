"""The fact cache shared by replicas: Redis behind the ``FactCache`` seam.

What goes to Redis is what the in-process cache holds — a status fact (a bool or a capped
int) with its provenance — under a key that reveals nothing: the HMAC (the audit's
pseudonym key, domain-separated) of the fact, subjects, parameters and reference date. A
subject ID never reaches Redis, not even in a key name.

Entries expire in Redis at their ``keep_until`` (``PXAT``); the engine still judges
freshness on its own clock. Every read is checked (types, a value of the right kind, times
that make sense): an entry that does not parse is a miss, logged by its shape, never its
content. The client's timeouts are short — a cache that is slow to answer must cost its
hits, not the deadline — and any failure is the stage's to absorb (it fetches instead).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from verifier._errors import ConfigurationError
from verifier.engine._cache import CachedFact, FactKey

logger = logging.getLogger("verifier.engine")

DEFAULT_PREFIX = "verifier:fact:"
_KEY_VERSION = "fact-cache:v1:"


class RedisFactCache:
    """Facts in Redis, shared by every replica that uses the same URL, prefix and key."""

    def __init__(
        self, client: Any, name_of: Callable[[str], str], *, prefix: str = DEFAULT_PREFIX
    ) -> None:
        """``client``: a ``redis.asyncio.Redis``; ``name_of``: a keyed hash of text (the
        audit pseudonymiser's), so that key names carry no subject ID."""
        self._client = client
        self._name_of = name_of
        self._prefix = prefix

    @classmethod
    def from_url(
        cls,
        url: str,
        name_of: Callable[[str], str],
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout_seconds: float = 0.05,
    ) -> RedisFactCache:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError:  # pragma: no cover - installed with the dev and redis extras
            raise ConfigurationError(
                "cache.backend redis needs the redis package: pip install 'onestop-verifier[redis]'"
            ) from None
        client = redis_asyncio.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            decode_responses=False,
        )
        return cls(client, name_of, prefix=prefix)

    def name(self, key: FactKey) -> str:
        canonical = json.dumps(
            [key.fact, key.subjects, key.parameters, key.reference_date.isoformat()],
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return self._prefix + self._name_of(_KEY_VERSION + canonical)

    async def get_many(self, keys: Sequence[FactKey]) -> dict[FactKey, CachedFact]:
        if not keys:
            return {}
        raw = await self._client.mget([self.name(key) for key in keys])
        found = {}
        for key, value in zip(keys, raw, strict=True):
            if value is None:
                continue
            entry = _decode(value)
            if entry is None:
                logger.warning("fact cache entry for %s is malformed: ignored", key.fact)
                continue
            found[key] = entry
        return found

    async def put_many(self, entries: Mapping[FactKey, CachedFact]) -> None:
        if not entries:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key, entry in entries.items():
                expires_ms = int(entry.keep_until.timestamp() * 1000)
                pipe.set(self.name(key), _encode(entry), pxat=expires_ms)
            await pipe.execute()

    async def aclose(self) -> None:
        await self._client.aclose()


def _encode(entry: CachedFact) -> bytes:
    return json.dumps(
        {
            "value": entry.value,
            "department": entry.department,
            "source_as_of": entry.source_as_of.isoformat() if entry.source_as_of else None,
            "retrieved_at": entry.retrieved_at.isoformat(),
            "fresh_until": entry.fresh_until.isoformat(),
            "keep_until": entry.keep_until.isoformat(),
        },
        separators=(",", ":"),
    ).encode("utf-8")


def _decode(raw: bytes) -> CachedFact | None:
    """The entry, or None if it is not one we wrote (another writer, a corrupted value)."""
    try:
        data = json.loads(raw)
        value = data["value"]
        if not isinstance(value, bool | int) or (not isinstance(value, bool) and value < 0):
            return None
        department = data["department"]
        if not isinstance(department, str):
            return None
        times = [_aware(data[name]) for name in ("retrieved_at", "fresh_until", "keep_until")]
        source = data["source_as_of"]
        source_as_of = None if source is None else _aware(source)
    except (ValueError, TypeError, KeyError):
        return None
    retrieved_at, fresh_until, keep_until = times
    if not retrieved_at <= fresh_until <= keep_until:
        return None
    return CachedFact(value, department, source_as_of, retrieved_at, fresh_until, keep_until)


def _aware(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError("not a time")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a naive time")
    return moment
