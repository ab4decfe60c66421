"""Helpers for the gRPC tests (importable as ``service_support``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from support import SCHOOL_PLACE_ACCESS, resident_id

from verifier.adapter import DepartmentAnswer, DepartmentQuery, MockAdapter
from verifier.engine import Verifier
from verifier.model import FactValue
from verifier.service import SERVICE_NAME, graceful_shutdown
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")


def with_wrong_check_character(identifier: str) -> str:
    return identifier[:-1] + ("0" if identifier[-1] != "0" else "1")


def school_place_request(**changes: object) -> pb.VerifyRequest:
    """A school-place request the mock departments make ELIGIBLE; fields replaced by changes."""
    fields: dict[str, object] = {
        "service_item": "school_place",
        "subjects": [pb.Subject(role="guardian", id=GUARDIAN), pb.Subject(role="child", id=CHILD)],
        "parameters": {"district": pb.ParameterValue(string_value="440305")},
        "reference_date": pb.Date(year=2026, month=8, day=31),
        **SCHOOL_PLACE_ACCESS,
        "operator": "clerk-0042",
        "caller": pb.Caller(system="test-service-hall", department="education"),
    }
    fields.update(changes)
    return pb.VerifyRequest(**fields)  # type: ignore[arg-type]


def bad_request_of(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The BadRequest field violations of an INVALID_ARGUMENT, as field → description."""
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    violations: dict[str, str] = {}
    for key, value in error.trailing_metadata() or ():  # type: ignore[misc]
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            for detail in status.details:
                bad_request = error_details_pb2.BadRequest()
                assert detail.Unpack(bad_request)
                violations.update({v.field: v.description for v in bad_request.field_violations})
    return violations


class CountingAdapter(MockAdapter):
    """A mock department that records how many of its queries run at the same time."""

    def __init__(self, department: str, values: Mapping[str, FactValue], delay: float) -> None:
        super().__init__(department, values=values, delay=delay)
        self.running = 0
        self.most_running = 0

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            return await super().fetch(query)
        finally:
            self.running -= 1


@dataclass
class Served:
    """A started server on 127.0.0.1, its verifier, and a client channel to it."""

    server: grpc.aio.Server
    port: int
    verifier: Verifier
    channel: grpc.aio.Channel
    stub: pb_grpc.VerificationServiceStub
    closed: bool = field(default=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def shut_down(self, grace: float = 1.0) -> None:
        if not self.closed:
            self.closed = True
            await graceful_shutdown(self.server, self.verifier, grace=grace)

    async def close(self) -> None:
        await self.channel.close(grace=None)
        await self.shut_down(grace=0)


async def health_of(channel: grpc.aio.Channel) -> dict[str, int]:
    """The server's own health statuses: the whole server ("") and the verification service."""
    stub = health_pb2_grpc.HealthStub(channel)
    statuses = {}
    for service in ("", SERVICE_NAME):
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        statuses[service] = response.status
    return statuses


async def until(condition: Callable[[], bool], *, within: float = 2.0) -> None:
    """Wait until ``condition()`` is true: polls a mock's counters, which signal nothing."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - nothing to wait on but the counter
            await asyncio.sleep(0.005)


StartServer = Callable[..., Awaitable[Served]]
"""The type of the ``start_server`` fixture."""
