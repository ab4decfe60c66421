"""Fixtures for the fact-cache tests: a Verifier with a cache on a fake clock."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from cache_support import FakeClock, MakeCachedVerifier
from support import TEST_PSEUDONYM_KEY, mock_departments

from verifier.adapter import DepartmentAdapter
from verifier.audit import ChainedAuditLog, Pseudonymiser, load_or_create_signing_key
from verifier.catalogue import load_catalogue
from verifier.engine import Verifier
from verifier.engine._cache import CachePolicy
from verifier.rules import load_service_items


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


@pytest.fixture
def make_cached_verifier(clock: FakeClock, audit_dir: Path) -> MakeCachedVerifier:
    catalogue = load_catalogue()
    items = load_service_items(catalogue)

    def make(
        adapters: Mapping[str, DepartmentAdapter] | None = None,
        *,
        cache: CachePolicy | None = CachePolicy(),  # noqa: B008 - immutable
        timeout: float = 2.0,
    ) -> Verifier:
        return Verifier(
            catalogue=catalogue,
            items=items,
            adapters=mock_departments() if adapters is None else adapters,
            audit=ChainedAuditLog(audit_dir, load_or_create_signing_key(audit_dir)),
            pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
            default_timeout=timeout,
            clock=clock,
            cache=cache,
        )

    return make
