"""An embedder pays only for what it uses (issue 11): ``import verifier``, and verifying on
the embedded default, load neither the gRPC edge nor the CLI, the OpenTelemetry SDK and its
exporters or the department simulators; the optional backends (SQLAlchemy's witness,
Redis, PostgreSQL, HTTP departments) load when configured, not at import.

Each check runs a fresh interpreter: this test process has long since imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import SMALL_CITY_PEOPLE

ROOT = Path(__file__).resolve().parents[1]
"""The children run here: ``-c`` puts the working directory first on ``sys.path``, so they
import this checkout's ``verifier``, whichever is installed."""

EDGES = (
    "grpc",
    "google.protobuf",
    "verifier.service",
    "verifier.cli",
    "opentelemetry.exporter",
    "opentelemetry.sdk",  # set up only when telemetry exports (the default is ``none``)
    "prometheus_client",  # the metrics endpoint, only with telemetry.prometheus_port
    "aiohttp",
    "adapters.simulator",
    "verifier.console",  # the auditors' web console (issue 15), and its framework
    "starlette",
    "jinja2",
    "uvicorn",
    "verifier.spark",
    "pyspark",
    "pandas",
)
"""What neither ``import verifier`` nor an embedded verification needs."""

OPTIONAL_BACKENDS = ("sqlalchemy", "redis", "psycopg", "httpx", "adapters")
"""Loaded once a configuration uses them (the embedded default's SQLite departments use
SQLAlchemy), never by the import alone."""


def modules_left_by(script: str, *args: str) -> set[str]:
    """The modules in ``sys.modules`` after ``script`` ran in a fresh interpreter."""
    report = "\nimport json as _json, sys as _sys\nprint(_json.dumps(sorted(_sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script + report, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """Which of ``packages`` (or modules inside them) are among ``modules``."""
    return sorted(
        package
        for package in packages
        if any(name == package or name.startswith(f"{package}.") for name in modules)
    )


def test_import_verifier_loads_no_edge_and_no_optional_backend() -> None:
    modules = modules_left_by("import verifier")
    assert "verifier" in modules
    assert loaded(modules, EDGES + OPTIONAL_BACKENDS) == []


EMBED = """
import asyncio, json, sys
from pathlib import Path

import verifier

config = verifier.load_config(data_dir=Path(sys.argv[1]))
verifier.ensure_demo_city(config.data_dir, people=int(sys.argv[2]))
samples = json.loads((config.data_dir / "samples.json").read_text(encoding="utf-8"))
sample = samples["samples"][0]


async def verify_one() -> verifier.VerificationResult:
    async with verifier.build_verifier(config) as engine:
        return await engine.verify(verifier.parse_application(sample["application"]))


result = asyncio.run(verify_one())
assert result.decision.outcome == sample["expected"], (result.decision.outcome, sample["name"])
"""


def test_verifying_on_the_embedded_default_loads_no_edge(tmp_path: Path) -> None:
    modules = modules_left_by(EMBED, str(tmp_path / "city"), str(SMALL_CITY_PEOPLE))
    assert "adapters.household" in modules  # the departments really were built and asked
    assert loaded(modules, EDGES) == []
