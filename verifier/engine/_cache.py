"""The fact cache: status facts already established, reused within the catalogue's freshness.

Fact-level, not query-level: each bound fact is looked up by ``FactKey`` — the catalogue
fact, the (normalised) subjects in their slots, the resolved parameters and the reference
date the fact was established as of. Only the misses are planned and sent to departments,
so a department whose facts are all cached is not called at all.

Rules the stage keeps:

- What is stored is a status fact (a bool or a capped int) with its provenance — never a
  raw record. Subject IDs appear in keys, in process memory only; nothing here logs a key.
- A fact is fresh for ``min(ttl, catalogue freshness)`` from when it was retrieved. A
  cached fact is served with ``cached=True`` and its original ``retrieved_at`` and
  ``source_as_of``.
- UNKNOWN is never stored: a department's failure must not outlive the failure.
- Stale-if-error (off unless ``max_staleness`` > 0): when a department call fails or times
  out, a value retrieved less than ``freshness + max_staleness`` ago is served instead of
  UNKNOWN, marked ``cached=True, stale=True``. A department's own "cannot say"
  (RECORD_PENDING) or a malformed answer is not a failure to hide: it stays UNKNOWN.
- The stage runs after validation and authorisation: a cached fact must never be served to
  a caller who may not see it (the Verifier keeps that order; tests pin it).

``FactCache`` is the seam for a shared store: an async protocol with ``get_many`` /
``put_many`` (and an optional ``aclose``, called when the Verifier closes);
``InProcessFactCache`` (cachetools, bounded, LRU, per-entry expiry on the engine's clock) is
the embedded default behind it, ``RedisFactCache`` (``_cache_redis``) the one replicas
share. A store that fails costs its hits (everything is fetched), never the verification.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple, Protocol

from cachetools import TLRUCache

from verifier.model import CallOutcome, FactStatus, FactValue, UnknownReason
from verifier.model._plain import PlainCall, PlainFact, PlainProvenance
from verifier.rules import BoundFact

logger = logging.getLogger("verifier.engine")

DEFAULT_TTL = timedelta(minutes=5)
DEFAULT_MAX_ENTRIES = 50_000
DEFAULT_MAX_STALENESS = timedelta(0)

# A department that failed or did not answer; not one that answered "cannot say".
_FAILURES = frozenset(
    {
        UnknownReason.DEPARTMENT_ERROR,
        UnknownReason.DEPARTMENT_UNAVAILABLE,
        UnknownReason.DEADLINE_EXCEEDED,
    }
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

CacheCounter = Callable[[str, str, int], None]
"""``(department, result, facts)``, result ``hit``, ``miss`` or ``stale``."""


def _uncounted(department: str, result: str, facts: int) -> None:
    return None


class FactKey(NamedTuple):
    """What a cached fact is about. Stable and hashable (a shared store can serialise it)."""

    fact: str
    subjects: tuple[tuple[str, str], ...]
    """(slot, normalised subject ID) pairs, sorted by slot."""
    parameters: tuple[tuple[str, str | int], ...]
    """(name, resolved value) pairs, sorted by name."""
    reference_date: date


def fact_key(bound: BoundFact, reference_date: date) -> FactKey:
    return FactKey(
        bound.definition.id,
        tuple(sorted((slot, sid.strip().upper()) for slot, sid in bound.subject_ids.items())),
        tuple(sorted(bound.parameters.items())),
        reference_date,
    )


@dataclass(frozen=True, slots=True)
class CachedFact:
    """A known fact as first established: its value and where and when it came from."""

    value: FactValue
    department: str
    source_as_of: datetime | None
    retrieved_at: datetime
    fresh_until: datetime
    """Served as a cache hit before this instant; afterwards only as a stale fallback."""
    keep_until: datetime
    """Usable as a stale fallback before this instant; a store may forget it from then on
    (equals ``fresh_until`` when stale-if-error is off)."""


class FactCache(Protocol):
    """Where cached facts live. Implementations must be safe to share between verifications
    and must return only entries whose ``keep_until`` has not passed."""

    async def get_many(self, keys: Sequence[FactKey]) -> Mapping[FactKey, CachedFact]: ...

    async def put_many(self, entries: Mapping[FactKey, CachedFact]) -> None: ...


def _microseconds(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


class InProcessFactCache:
    """Bounded (least recently used first out), per-entry expiry at ``keep_until``.

    ``clock`` is the engine's: a fake clock in tests makes expiry exact.
    """

    def __init__(self, max_entries: int, clock: Callable[[], datetime]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: TLRUCache[FactKey, CachedFact] = TLRUCache(
            maxsize=max_entries,
            ttu=lambda _key, entry, _now: _microseconds(entry.keep_until),
            timer=lambda: _microseconds(clock()),
        )

    def __len__(self) -> int:
        return len(self._entries)

    async def get_many(self, keys: Sequence[FactKey]) -> dict[FactKey, CachedFact]:
        found = {}
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None:
                found[key] = entry
        return found

    async def put_many(self, entries: Mapping[FactKey, CachedFact]) -> None:
        for key, entry in entries.items():
            self._entries[key] = entry


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How a Verifier caches facts. ``store`` defaults to an ``InProcessFactCache`` of
    ``max_entries`` on the Verifier's clock."""

    ttl: timedelta = DEFAULT_TTL
    """Upper bound on a fact's reuse; each fact's catalogue freshness bounds it further."""
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_staleness: timedelta = DEFAULT_MAX_STALENESS
    """Stale-if-error window beyond freshness; zero turns stale-if-error off."""
    store: FactCache | None = None

    def __post_init__(self) -> None:
        if self.ttl <= timedelta(0):
            raise ValueError("cache ttl must be positive")
        if self.max_staleness < timedelta(0):
            raise ValueError("cache max_staleness must not be negative")
        if self.max_entries < 1:
            raise ValueError("cache max_entries must be at least 1")


@dataclass(slots=True)
class CacheLookup:
    """One verification's cache lookup: what was served, what must still be fetched."""

    hits: list[PlainFact]
    misses: list[BoundFact]
    keys: dict[str, FactKey]
    """The key of every miss, by the item's fact name (to store what comes back)."""
    fallbacks: dict[str, CachedFact] = field(default_factory=dict)
    """Stale entries for misses, by fact name: served only if the department fails."""
    hit_departments: dict[str, list[str]] = field(default_factory=dict)
    """Department → the item's fact names it would have been asked but were cached."""


class FactCacheStage:
    """The cache step of a verification, between authorisation and planning."""

    def __init__(
        self,
        policy: CachePolicy,
        clock: Callable[[], datetime],
        counted: CacheCounter | None = None,
    ) -> None:
        """``counted(department, result, facts)``: told how many of a department's facts
        were a ``hit``, a ``miss`` or served ``stale`` (the engine's metrics)."""
        self._counted = counted or _uncounted
        self._ttl = policy.ttl
        self._max_staleness = policy.max_staleness
        self._store = policy.store or InProcessFactCache(policy.max_entries, clock)
        self._clock = clock

    @property
    def store(self) -> FactCache:
        return self._store

    async def aclose(self) -> None:
        """Close the store if it holds a connection (``aclose`` is optional for a store)."""
        close = getattr(self._store, "aclose", None)
        if close is not None:
            await close()

    async def lookup(
        self, bound: Iterable[BoundFact], reference_date: date, rule_version: str
    ) -> CacheLookup:
        facts = list(bound)
        keys = {fact.name: fact_key(fact, reference_date) for fact in facts}
        try:
            found = await self._store.get_many(list(keys.values()))
        except Exception as exc:  # a store outage costs the hits, not the verification
            logger.warning("fact cache lookup failed: %s", type(exc).__name__)
            found = {}
        now = self._clock()
        lookup = CacheLookup(hits=[], misses=[], keys={})
        for fact in facts:
            key = keys[fact.name]
            entry = found.get(key)
            if entry is not None and now < entry.fresh_until:
                lookup.hits.append(_served(fact, entry, rule_version, stale=False))
                lookup.hit_departments.setdefault(entry.department, []).append(fact.name)
                continue
            lookup.misses.append(fact)
            lookup.keys[fact.name] = key
            if entry is not None and now < entry.keep_until:
                lookup.fallbacks[fact.name] = entry
        for department, names in lookup.hit_departments.items():
            self._counted(department, "hit", len(names))
        for department, count in Counter(f.definition.department for f in lookup.misses).items():
            self._counted(department, "miss", count)
        return lookup

    async def settle(
        self,
        lookup: CacheLookup,
        bound: Sequence[BoundFact],
        fetched: Sequence[PlainFact],
        calls: Sequence[PlainCall],
        rule_version: str,
    ) -> tuple[list[PlainFact], list[PlainCall]]:
        """All the facts (fetched, stale fallbacks for failures, cached hits) and calls.

        Stores what departments newly established. A department whose facts were all
        cached appears among the calls with ``attempts=0`` and no duration: it was not
        called, and the audit record still names where each fact came from.
        """
        now = self._clock()
        by_name = {fact.name: fact for fact in bound}
        facts: list[PlainFact] = []
        fresh: dict[FactKey, CachedFact] = {}
        for result in fetched:
            key = lookup.keys.get(result.name)
            if result.status is FactStatus.KNOWN and result.value is not None:
                if key is not None:
                    entry = self._entry(result, result.value, by_name[result.name])
                    if now < entry.keep_until:
                        fresh[key] = entry
                facts.append(result)
                continue
            fallback = lookup.fallbacks.get(result.name)
            if result.reason in _FAILURES and fallback is not None and now < fallback.keep_until:
                facts.append(_served(by_name[result.name], fallback, rule_version, stale=True))
                self._counted(fallback.department, "stale", 1)
            else:
                facts.append(result)
        if fresh:
            try:
                await self._store.put_many(fresh)
            except Exception as exc:
                logger.warning("fact cache store failed: %s", type(exc).__name__)
        facts.extend(lookup.hits)
        all_calls = list(calls)
        called = {call.department for call in calls}
        for department, names in lookup.hit_departments.items():
            if department not in called:
                all_calls.append(PlainCall(department, CallOutcome.OK, 0.0, tuple(names), 0))
        return facts, all_calls

    def _entry(self, result: PlainFact, value: FactValue, bound: BoundFact) -> CachedFact:
        freshness = bound.definition.freshness
        retrieved_at = result.provenance.retrieved_at
        fresh_until = retrieved_at + min(self._ttl, freshness)
        keep_until = (
            retrieved_at + freshness + self._max_staleness if self._max_staleness else fresh_until
        )
        return CachedFact(
            value=value,
            department=result.provenance.department,
            source_as_of=result.provenance.source_as_of,
            retrieved_at=retrieved_at,
            fresh_until=fresh_until,
            keep_until=max(fresh_until, keep_until),
        )


def _served(bound: BoundFact, entry: CachedFact, rule_version: str, *, stale: bool) -> PlainFact:
    provenance = PlainProvenance(
        entry.department,
        entry.source_as_of,
        entry.retrieved_at,
        rule_version,
        cached=True,
        stale=stale,
    )
    return PlainFact(
        bound.name,
        bound.definition.id,
        bound.roles,
        FactStatus.KNOWN,
        entry.value,
        None,
        provenance,
    )
