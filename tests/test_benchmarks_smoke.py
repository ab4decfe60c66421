"""Every benchmark still runs: each ``bench/*_bench.py`` with ``--smoke`` (a few iterations)
as its own process, as a person would run it.

A benchmark passes when it exits 0 and prints at least one ``ratio … (against …, same
run)`` line: a number against a baseline it measured itself (absolute times on a shared
machine mean little). A new benchmark is picked up by its name. What a benchmark needs from
the machine is checked first: ``h2load`` (load_bench's native client, installed by .ci/run),
Redis (cache_bench), PostgreSQL (audit_store_bench) and both (replicas_bench) are skipped
with the reason when missing, and fail the run under ``VERIFIER_REQUIRE_SERVICES=1`` (CI),
like the other service-backed tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import (
    POSTGRES_URL,
    REDIS_URL,
    java_missing,
    reachable_postgres,
    reachable_redis,
    service_unavailable,
)

BENCH = Path(__file__).resolve().parents[1] / "bench"
BENCHMARKS = sorted(BENCH.glob("*_bench.py"))
RATIO = re.compile(r"^ratio (?P<what>.+) = (?P<value>[0-9.]+)× \(against .+, same run\)$", re.M)
SMOKE_SECONDS = 120
"""A smoke run takes seconds; this only stops a hung one."""
SPARK_SMOKE_SECONDS = 600
"""Spark's smoke run starts a JVM (10-20 s, a minute or more on a loaded box) twice over."""
FAN_OUT_FLOOR = 0.8
"""Fan-out cannot beat its slowest department alone by much (both wait the same added
latency); cache hits did: 0.04× the slowest department."""


EXPECTED_BENCHMARKS = {
    "access_bench.py",
    "adapters_bench.py",
    "audit_bench.py",
    "audit_store_bench.py",
    "cache_bench.py",
    "fanout_bench.py",
    "http_adapter_bench.py",
    "import_bench.py",
    "load_bench.py",
    "recheck_bench.py",
    "recheck_run_bench.py",
    "replicas_bench.py",
    "resilience_bench.py",
    "spark_bench.py",
    "telemetry_bench.py",
    "verify_bench.py",
}
"""Named, so that a benchmark renamed or deleted is noticed here, not silently no longer run;
a new one is run by the glob and fails this test until it is added."""


def test_every_benchmark_is_collected() -> None:
    assert {path.name for path in BENCHMARKS} == EXPECTED_BENCHMARKS


def machine_arguments(name: str) -> list[str]:
    """Check what the benchmark needs from this machine; the arguments that point it there."""
    if name == "load_bench.py" and shutil.which("h2load") is None:
        service_unavailable("h2load is not installed (Debian: apt-get install nghttp2-client)")
    if name == "spark_bench.py":
        missing = java_missing()
        if missing:
            service_unavailable(missing)
    if name == "cache_bench.py":
        reachable_redis().close()
        return ["--redis-url", REDIS_URL]
    if name == "audit_store_bench.py":
        reachable_postgres().dispose()
        return ["--postgres-url", POSTGRES_URL]
    if name == "replicas_bench.py":
        reachable_redis().close()
        reachable_postgres().dispose()
        return ["--redis-url", REDIS_URL, "--postgres-url", POSTGRES_URL]
    return []


@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda path: path.name)
def test_benchmark_runs_in_smoke_mode(bench: Path) -> None:
    argv = [sys.executable, bench.name, "--smoke", *machine_arguments(bench.name)]
    done = subprocess.run(
        argv,
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=SPARK_SMOKE_SECONDS if bench.name == "spark_bench.py" else SMOKE_SECONDS,
        check=False,
    )
    tail = f"\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{bench.name} --smoke exited {done.returncode}{tail}"
    ratios = {match["what"]: float(match["value"]) for match in RATIO.finditer(done.stdout)}
    assert ratios, f"{bench.name} printed no 'ratio … (against …, same run)' line{tail}"
    if bench.name == "load_bench.py":
        assert any("h2load" in what for what in ratios), f"no h2load row{tail}"
    if bench.name == "replicas_bench.py":  # two replicas measured against one, files row too
        assert {"postgres x2 req/s", "postgres x1 req/s"} <= set(ratios), tail
    if bench.name == "fanout_bench.py":
        fan_out = {what: value for what, value in ratios.items() if what.startswith("verify")}
        assert fan_out, tail
        assert min(fan_out.values()) >= FAN_OUT_FLOOR, f"fan-out not measured: {fan_out}{tail}"
