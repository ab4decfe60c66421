"""The console over the PostgreSQL audit store: the same pages, read through the same
source as ``verifier audit --audit-url`` (a real store, in a schema of its own)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from console_support import start_console, stop_console
from pg_support import fresh_schema
from support import POSTGRES_URL, TEST_PSEUDONYM_KEY

import verifier
from adapters.demo_city import DemoCityManifest

SAMPLES = 4


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema()


async def _verify(config: verifier.VerifierConfig, city: DemoCityManifest) -> list[str]:
    async with verifier.build_verifier(config) as engine:
        return [
            (await engine.verify(verifier.parse_application(sample.application))).request_id
            for sample in city.samples[:SAMPLES]
        ]


def test_the_console_reads_the_postgresql_store(
    demo_city: DemoCityManifest, schema: str, tmp_path: Path
) -> None:
    settings = {
        "data_dir": str(demo_city.data_dir),
        "audit": {
            "backend": "postgres", "url": POSTGRES_URL, "postgres_schema": schema,
            "directory": str(tmp_path / "audit"), "pseudonym_key": TEST_PSEUDONYM_KEY.hex(),
        },
        "console": {},  # development mode: this machine, no sign-in
    }  # fmt: skip
    config_file = tmp_path / "verifier.yaml"
    config_file.write_text(yaml.safe_dump(settings), encoding="utf-8")
    request_ids = asyncio.run(_verify(verifier.load_config(config_file), demo_city))
    process, url = start_console(config_file)
    try:
        chain = httpx.get(f"{url}/chain", timeout=30)
        assert chain.status_code == 200
        assert f"schema {schema}, replica" in chain.text
        assert ">INTACT<" in chain.text
        found = httpx.get(f"{url}/search?since=2000-01-01", timeout=30)
        assert found.text.count("<tr>") - 1 == SAMPLES
        trace = httpx.get(f"{url}/requests/{request_ids[0]}", timeout=30)
        assert trace.status_code == 200
        assert request_ids[0] in trace.text
    finally:
        stop_console(process)
