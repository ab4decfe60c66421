"""Helpers for the fact-cache tests (importable as ``cache_support``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from verifier.adapter import DepartmentAdapter
from verifier.engine import Verifier
from verifier.engine._cache import CachePolicy

T0 = datetime(2026, 8, 31, 9, 0, tzinfo=UTC)


class FakeClock:
    """The engine's clock and the cache's timer, moved by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class MakeCachedVerifier(Protocol):
    def __call__(
        self,
        adapters: Mapping[str, DepartmentAdapter] | None = None,
        *,
        cache: CachePolicy | None = ...,
        timeout: float = ...,
    ) -> Verifier: ...
