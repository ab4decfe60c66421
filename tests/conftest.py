"""Fixtures shared by every test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from support import SMALL_CITY_PEOPLE, TEST_PSEUDONYM_KEY, MakeVerifier, mock_departments

from adapters.demo_city import DemoCityManifest, generate_demo_city
from verifier.adapter import DepartmentAdapter
from verifier.audit import ChainedAuditLog, Pseudonymiser, load_or_create_signing_key
from verifier.catalogue import load_catalogue
from verifier.engine import CachePolicy, Interceptor, ResiliencePolicy, Verifier
from verifier.rules import load_service_items

# The scenario files (``verifier_scenarios`` in pyproject.toml) are collected by the
# package's pytest plugin, turned on here as a deployment turns it on in its own conftest.
pytest_plugins = ["verifier.scenarios.pytest_plugin"]


@pytest.fixture
def make_test_verifier(tmp_path: Path) -> MakeVerifier:
    """Build a Verifier over the packaged catalogue and items, auditing into tmp_path."""
    catalogue = load_catalogue()
    items = load_service_items(catalogue)

    def make(
        adapters: Mapping[str, DepartmentAdapter] | None = None,
        audit_dir: Path | None = None,
        *,
        timeout: float = 2.0,
        cache: CachePolicy | None = None,
        resilience: ResiliencePolicy | None = None,
        interceptors: Sequence[Interceptor] = (),
    ) -> Verifier:
        directory = audit_dir or tmp_path / "audit"
        return Verifier(
            catalogue=catalogue,
            items=items,
            adapters=mock_departments() if adapters is None else adapters,
            audit=ChainedAuditLog(directory, load_or_create_signing_key(directory)),
            pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
            default_timeout=timeout,
            cache=cache,
            resilience=resilience,
            interceptors=interceptors,
        )

    return make


@pytest.fixture(scope="session")
def demo_city(tmp_path_factory: pytest.TempPathFactory) -> DemoCityManifest:
    """A small demo city (SQLite), generated once per test session."""
    return generate_demo_city(tmp_path_factory.mktemp("city"), people=SMALL_CITY_PEOPLE)
