"""The Prometheus endpoint of a real ``verifier serve``: scraped as a scraper would, its
metrics move with the calls made, and it shows no raw value and no ID."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from adapters.demo_city import DemoCityManifest
from verifier import parse_application
from verifier.model import CallerIdentity
from verifier.service import VerifierClient

STARTUP_SECONDS = 60.0
ROUNDS = 2
"""Each sample is verified twice: the second time its facts are cache hits."""


@dataclass
class Served:
    address: str
    metrics_url: str


@pytest.fixture
async def served(demo_city: DemoCityManifest, tmp_path: Path) -> AsyncIterator[Served]:
    config = tmp_path / "verifier.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(demo_city.data_dir),
                "audit": {"directory": str(tmp_path / "audit"), "fsync": False},
                "telemetry": {"prometheus_port": 0},
            }
        ),
        encoding="utf-8",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "verifier.cli", "serve", "--config", str(config), "--port", "0",
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        yield await asyncio.wait_for(_announced(process), STARTUP_SECONDS)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        await process.stdout.read()
        assert await process.wait() == 0


async def _announced(process: asyncio.subprocess.Process) -> Served:
    assert process.stdout is not None
    address = ""
    while line := await process.stdout.readline():
        text = line.decode().strip()
        if text.startswith("verifier listening on "):
            address = text.removeprefix("verifier listening on ")
        elif text.startswith("metrics on "):
            return Served(address, text.removeprefix("metrics on "))
    raise AssertionError(f"the server exited with {await process.wait()} before its metrics")


def samples_of(city: DemoCityManifest) -> list[dict[str, object]]:
    # Those the CLI's caller may verify in one go: every item (development callers).
    return [dict(sample.application) for sample in city.samples[:4]]


def values(scrape: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Each sample of metric family ``name``'s series ``name`` (labels → value)."""
    found = {}
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(scrape: str, name: str, **labels: str) -> float:
    return sum(
        value
        for key, value in values(scrape, name).items()
        if all((label, wanted) in key for label, wanted in labels.items())
    )


async def test_the_scrape_counts_the_calls_made(
    served: Served, demo_city: DemoCityManifest
) -> None:
    async with httpx.AsyncClient() as http:
        before = (await http.get(served.metrics_url)).text
        assert total(before, "verifier_verifications_total") == 0
        applications = samples_of(demo_city)
        async with VerifierClient.connect(
            served.address, caller=CallerIdentity(system="verifier-cli")
        ) as client:
            for _ in range(ROUNDS):
                for application in applications:
                    await client.verify(parse_application(application), timeout=10)
        response = await http.get(served.metrics_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    scrape = response.text
    calls = ROUNDS * len(applications)

    assert total(scrape, "verifier_verifications_total") == calls
    assert total(scrape, "verifier_verification_duration_milliseconds_count") == calls
    # Every record made durable before its answer, and nothing left waiting.
    assert total(scrape, "verifier_audit_commit_duration_milliseconds_count") == calls
    assert total(scrape, "verifier_audit_backlog") == 0
    # Per department: latency and outcome of the calls of the first round; the second
    # round's facts were cache hits, as many as the first round's misses.
    departments = {
        dict(key)["verifier_department"]
        for key in values(scrape, "verifier_department_duration_milliseconds_count")
    }
    assert {"household", "social_insurance", "housing"} <= departments
    assert total(scrape, "verifier_department_duration_milliseconds_count", verifier_outcome="OK")
    hits = total(scrape, "verifier_cache_lookups_total", verifier_cache_result="hit")
    misses = total(scrape, "verifier_cache_lookups_total", verifier_cache_result="miss")
    assert hits == misses > 0
    # Every department's circuit, closed.
    breakers = values(scrape, "verifier_breaker_state")
    assert {dict(key)["verifier_department"] for key in breakers} >= departments
    assert set(breakers.values()) == {0.0}


async def test_the_scrape_carries_no_raw_value_and_no_id(
    served: Served, demo_city: DemoCityManifest
) -> None:
    applications = samples_of(demo_city)
    async with VerifierClient.connect(
        served.address, caller=CallerIdentity(system="verifier-cli")
    ) as client:
        for application in applications:
            await client.verify(parse_application(application), timeout=10)
    async with httpx.AsyncClient() as http:
        scrape = (await http.get(served.metrics_url)).text
    assert total(scrape, "verifier_verifications_total") == len(applications)
    leaked = [canary for canary in demo_city.canaries if canary in scrape]
    assert not leaked, f"{len(leaked)} canaries in the scrape, e.g. {leaked[0]!r}"
    ids = {
        str(subject["id"])
        for application in applications
        for subject in application["subjects"]  # type: ignore[attr-defined]
    }
    assert not [identifier for identifier in ids if identifier in scrape]
