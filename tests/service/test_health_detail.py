"""Per-department health names follow the circuit breakers, over a real server on port 0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service_support import school_place_request
from support import ELIGIBLE_FACTS, TEST_PSEUDONYM_KEY, mock_departments

from verifier import DepartmentUnavailable
from verifier.adapter import MockAdapter
from verifier.audit import ChainedAuditLog, Pseudonymiser, load_or_create_signing_key
from verifier.catalogue import load_catalogue
from verifier.engine import Verifier
from verifier.engine._resilience_policy import ResiliencePolicy
from verifier.rules import load_service_items
from verifier.service import SERVICE_NAME, create_server, graceful_shutdown, mark_serving
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc
from verifier.service._server import DEPARTMENT_HEALTH_PREFIX, _health_of, department_health

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
DEPARTMENTS = ("household", "social_insurance", "housing", "tax")
OPEN_SECONDS = 0.3


def resilient_verifier(tmp_path: Path, household: MockAdapter) -> Verifier:
    catalogue = load_catalogue()
    return Verifier(
        catalogue=catalogue,
        items=load_service_items(catalogue),
        adapters=mock_departments(household=household),
        audit=ChainedAuditLog(tmp_path, load_or_create_signing_key(tmp_path), fsync=False),
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
        default_timeout=2.0,
        resilience=ResiliencePolicy.model_validate(
            {
                "retry": {"max_attempts": 1},
                "breaker": {"failure_threshold": 2, "open_seconds": OPEN_SECONDS},
            }
        ),
    )


@dataclass
class Running:
    server: grpc.aio.Server
    verifier: Verifier
    channel: grpc.aio.Channel
    household: MockAdapter

    async def health(self) -> dict[str, int]:
        stub = health_pb2_grpc.HealthStub(self.channel)
        names = ("", SERVICE_NAME, *(department_health(d) for d in DEPARTMENTS))
        statuses = {}
        for name in names:
            request = health_pb2.HealthCheckRequest(service=name)
            statuses[name] = (await stub.Check(request, timeout=5)).status
        return statuses

    shut = False

    async def shut_down(self) -> None:
        if not self.shut:
            self.shut = True
            await graceful_shutdown(self.server, self.verifier, grace=1)

    def statuses(self) -> dict[str, int]:
        """Every status the health servicer holds (in-process: the server may be stopped)."""
        return dict(_health_of[self.server].servicer._server_status)

    async def verify(self) -> pb.VerifyResponse:
        stub = pb_grpc.VerificationServiceStub(self.channel)
        response: pb.VerifyResponse = await stub.Verify(school_place_request(), timeout=5)
        return response


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"])
    verifier = resilient_verifier(tmp_path, household)
    server, port = await create_server(verifier)
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        running = Running(server, verifier, channel, household)
        yield running
        await running.shut_down()


def all_of(status: int) -> dict[str, int]:
    names = ("", SERVICE_NAME, *(department_health(d) for d in DEPARTMENTS))
    return dict.fromkeys(names, status)


def test_department_health_names() -> None:
    assert DEPARTMENT_HEALTH_PREFIX == "verifier.v1.VerificationService/department/"
    assert department_health("tax") == "verifier.v1.VerificationService/department/tax"


async def test_department_statuses_follow_the_breakers_from_start_to_shutdown(
    running: Running,
) -> None:
    # Registered at creation, NOT_SERVING like the rest until the verifier is started.
    assert await running.health() == all_of(NOT_SERVING)
    await running.verifier.start()
    await mark_serving(running.server)
    assert await running.health() == all_of(SERVING)

    running.household.error = DepartmentUnavailable("household down")  # retryable
    for _ in range(2):  # failure_threshold
        await running.verify()
    assert running.verifier.breaker_states()["household"] == "open"
    opened = await running.health()
    # One department down is degradation, not unhealth: the server stays SERVING.
    assert opened == {**all_of(SERVING), department_health("household"): NOT_SERVING}

    # After open_seconds the circuit goes half-open, with no traffic needed to notice it.
    running.household.error = None
    await asyncio.sleep(OPEN_SECONDS + 0.05)
    assert await running.health() == all_of(SERVING)
    assert running.verifier.breaker_states()["household"] == "half_open"

    # A successful trial closes it; still SERVING.
    response = await running.verify()
    assert response.decision.outcome == pb.DECISION_OUTCOME_ELIGIBLE
    assert running.verifier.breaker_states()["household"] == "closed"
    assert await running.health() == all_of(SERVING)

    assert running.household.calls == 3

    # During a graceful shutdown every name goes NOT_SERVING, departments included.
    watch = health_pb2_grpc.HealthStub(running.channel).Watch(
        health_pb2.HealthCheckRequest(service=department_health("tax")), timeout=5
    )
    assert (await watch.read()).status == SERVING
    shutdown = asyncio.create_task(running.shut_down())
    assert (await watch.read()).status == NOT_SERVING
    watch.cancel()  # a watcher would otherwise hold the shutdown for the whole grace
    await shutdown
    assert running.statuses() == all_of(NOT_SERVING)


async def test_a_watcher_hears_the_circuit_reopen_and_shutdown_wins(running: Running) -> None:
    await running.verifier.start()
    await mark_serving(running.server)
    stub = health_pb2_grpc.HealthStub(running.channel)
    watch = stub.Watch(
        health_pb2.HealthCheckRequest(service=department_health("household")), timeout=5
    )
    assert (await watch.read()).status == SERVING

    running.household.error = DepartmentUnavailable("household down")
    for _ in range(2):
        await running.verify()
    assert (await watch.read()).status == NOT_SERVING
    await asyncio.sleep(OPEN_SECONDS + 0.05)  # half-open: SERVING again
    assert (await watch.read()).status == SERVING
    await running.verify()  # the trial fails: open again
    assert (await watch.read()).status == NOT_SERVING
    watch.cancel()

    # The reopened circuit's half-open timer fires after the shutdown began: it must not
    # bring the department back (nor anything else).
    await running.shut_down()
    await asyncio.sleep(OPEN_SECONDS + 0.05)
    assert running.statuses() == all_of(NOT_SERVING)
