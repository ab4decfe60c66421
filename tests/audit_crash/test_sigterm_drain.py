"""SIGTERM drains: health goes NOT_SERVING first, calls already accepted are answered, calls
that cannot be served get UNAVAILABLE (never CANCELLED), nothing hangs, and every answered
call is audited — ``verifier serve`` in a child process, under load, over slow departments."""

from __future__ import annotations

import asyncio
import json
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from serve_support import STARTUP_SECONDS, Server

from adapters.demo_city import generate_demo_city
from adapters.simulator import FaultPlan, FixedLatency, RunningSimulators, run_simulators
from verifier import Application, CallerIdentity, parse_application
from verifier.audit import read_audit_entries
from verifier.service import VerifierClient

CALLERS = 24
"""Concurrent callers: more than enough to keep calls in flight at every moment."""
DEPARTMENT_MS = 300.0
"""How late each department answers: the callers move in waves, every one in flight at once,
then all of them calling anew at once."""
WAVES_BEFORE_SIGTERM = 2
GRACE_SECONDS = 10.0
CALLER = CallerIdentity(system="demo-service-hall")
DEPARTMENTS = ("household", "social_insurance", "housing", "tax")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("drain-city")
    generate_demo_city(directory, people=300)
    return directory


@pytest.fixture
async def slow_departments(city: Path) -> AsyncIterator[RunningSimulators]:
    slow = FaultPlan(latency=FixedLatency(ms=DEPARTMENT_MS))
    async with run_simulators(city, dict.fromkeys(DEPARTMENTS, 0), slow) as running:
        yield running


def write_config(city: Path, departments: RunningSimulators, path: Path) -> Path:
    settings = {
        "data_dir": str(city),
        "timeout_seconds": 5,
        # Every call asks the departments: cached answers would not keep calls in flight.
        "cache": {"enabled": False},
        "server": {"shutdown_grace_seconds": GRACE_SECONDS},
        **yaml.safe_load(departments.config_snippet()),
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


async def call_until_refused(
    address: str,
    applications: list[Application],
    seed: int,
    ended: Counter[str],
    answered: Callable[[str], None],
) -> None:
    """One caller verifying in a loop until a call fails; how each call ended is counted."""
    rng = random.Random(seed)
    async with VerifierClient.connect(address, caller=CALLER) as client:
        while True:
            try:
                result = await client.verify(rng.choice(applications), timeout=5.0)
            except grpc.aio.AioRpcError as error:
                ended[error.code().name] += 1
                return
            ended["OK"] += 1
            answered(result.request_id)


async def test_sigterm_answers_accepted_calls_and_refuses_the_rest_with_unavailable(
    city: Path, slow_departments: RunningSimulators, tmp_path: Path
) -> None:
    samples = json.loads((city / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications = [parse_application(sample["application"]) for sample in samples]
    config = write_config(city, slow_departments, tmp_path / "verifier.yaml")
    server = await Server.start(["--config", str(config)], tmp_path / "server.log", {})
    ended: Counter[str] = Counter()
    answered: list[str] = []

    def answer(request_id: str) -> None:
        answered.append(request_id)
        if len(answered) == WAVES_BEFORE_SIGTERM * CALLERS:
            # The end of a wave: as the signal goes, the callers are calling anew.
            server.process.send_signal(signal.SIGTERM)

    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=""), timeout=STARTUP_SECONDS
            )
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
            load = asyncio.gather(
                *(
                    call_until_refused(server.address, applications, n, ended, answer)
                    for n in range(CALLERS)
                )
            )
            # Health says NOT_SERVING before the server goes away.
            not_serving = await asyncio.wait_for(watch.read(), STARTUP_SECONDS)
            assert not_serving.status == health_pb2.HealthCheckResponse.NOT_SERVING
            await asyncio.wait_for(load, GRACE_SECONDS)
        exit_code = await asyncio.wait_for(server.stop(signal.SIGTERM), GRACE_SECONDS)
    finally:
        await server.stop(signal.SIGKILL)

    assert exit_code == 0
    assert set(ended) == {"OK", "UNAVAILABLE"}, ended  # never CANCELLED, nothing timed out
    assert ended["UNAVAILABLE"] == CALLERS  # each caller stopped at its first refusal
    recorded = Counter(
        entry.body["request_id"]
        for entry in read_audit_entries(city / "audit")
        if entry.type == "record"
    )
    assert [request for request in answered if recorded[request] != 1] == []
