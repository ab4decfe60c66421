"""``verifier simulate``: starts the simulators, prints a usable configuration, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
import yaml
from http_support import all_queries

from adapters.demo_city import DemoCityManifest
from adapters.http import HttpDepartmentAdapter, settings_from
from verifier import DepartmentUnavailable
from verifier.cli import main


async def read_until_ready(stdout: asyncio.StreamReader) -> list[str]:
    """Lines up to the configuration snippet's last department (tax, in catalogue order)."""
    printed: list[str] = []
    while not printed or not printed[-1].startswith("  tax: "):
        line = await asyncio.wait_for(stdout.readline(), timeout=60)
        assert line, "simulate exited before it was ready: " + "".join(printed)
        printed.append(line.decode())
    return printed


async def test_simulate_serves_until_sigterm(demo_city: DemoCityManifest) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "verifier.cli", "simulate", "--data-dir", str(demo_city.data_dir),
        "--port-base", "0", "--department", "housing", "--department", "tax",
        "--latency-ms", "1", "--error-rate", "1",
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    try:
        printed = await read_until_ready(process.stdout)
        urls = {
            words[1]: words[3]
            for words in (line.split() for line in printed)
            if words[0] == "simulating"
        }
        assert set(urls) == {"housing", "tax"}
        snippet = yaml.safe_load("".join(printed[printed.index("departments:\n") :]))
        housing = snippet["departments"]["housing"]
        assert housing["adapter"] == "http"
        assert housing["url"] == urls["housing"]
        assert "owns_no_home_in_city" in housing["facts"]
        adapter = HttpDepartmentAdapter(settings_from({**housing, "department": "housing"}))
        query = next(q for _, q in all_queries(demo_city) if q.department == "housing")
        try:
            with pytest.raises(DepartmentUnavailable, match="HTTP 503"):
                await adapter.fetch(query)
        finally:
            await adapter.aclose()
    finally:
        process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stdout.read(), timeout=30)
        code = await asyncio.wait_for(process.wait(), timeout=30)
    assert code == 0
    assert b"simulators stopped" in rest


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--department", "police"], "--department: 'police' is not in the catalogue"),
        (["--error-rate", "0.7", "--hang-rate", "0.7"], "sum to at most 1"),
        (["--latency-ms", "50", "--latency-p99-ms", "5"], "p99_ms must be at least p50_ms"),
    ],
)
def test_simulate_refuses_bad_arguments(
    arguments: list[str],
    message: str,
    demo_city: DemoCityManifest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["simulate", "--data-dir", str(demo_city.data_dir), "--port-base", "0", *arguments])
    assert code == 2
    assert message in capsys.readouterr().err
