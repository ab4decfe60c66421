"""The server's life: health states, reflection, graceful shutdown, signals."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from service_support import StartServer, health_of, school_place_request, until
from support import ELIGIBLE_FACTS, MakeVerifier, mock_departments

from verifier._errors import ConfigurationError
from verifier.adapter import MockAdapter
from verifier.audit import read_audit_entries
from verifier.service import (
    SERVICE_NAME,
    ServerOptions,
    create_server,
    graceful_shutdown,
    mark_serving,
    serve,
)
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_health_follows_the_verifier_from_start_to_shutdown(
    make_test_verifier: MakeVerifier,
) -> None:
    slow = MockAdapter("household", values=ELIGIBLE_FACTS["household"], delay=0.15)
    verifier = make_test_verifier(mock_departments(household=slow))
    server, port = await create_server(verifier)
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        assert await health_of(channel) == {"": NOT_SERVING, SERVICE_NAME: NOT_SERVING}

        await verifier.start()
        await mark_serving(server)
        assert await health_of(channel) == {"": SERVING, SERVICE_NAME: SERVING}

        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5
        )
        assert (await watch.read()).status == SERVING
        in_flight = asyncio.ensure_future(
            pb_grpc.VerificationServiceStub(channel).Verify(school_place_request(), timeout=5)
        )
        await until(lambda: slow.calls == 1)
        shutdown = asyncio.create_task(graceful_shutdown(server, verifier, grace=5))

        assert (await watch.read()).status == NOT_SERVING
        watch.cancel()  # a watcher would otherwise hold the shutdown for the whole grace
        await in_flight
        await shutdown


async def test_shutdown_finishes_every_call_in_flight_and_refuses_new_ones(
    make_test_verifier: MakeVerifier,
) -> None:
    slow = MockAdapter("household", values=ELIGIBLE_FACTS["household"], delay=0.15)
    verifier = make_test_verifier(mock_departments(household=slow))
    server, port = await create_server(verifier)
    await server.start()
    await verifier.start()
    await mark_serving(server)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.VerificationServiceStub(channel)
        calls = [
            asyncio.ensure_future(stub.Verify(school_place_request(), timeout=5)) for _ in range(5)
        ]
        await until(lambda: slow.calls == 5)

        shutdown = asyncio.create_task(graceful_shutdown(server, verifier, grace=5))
        await asyncio.sleep(0.01)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Verify(school_place_request(), timeout=1)

        responses = await asyncio.gather(*calls)
        await asyncio.wait_for(shutdown, timeout=1)  # well before the grace ran out
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert all(response.request_id for response in responses)
    assert slow.calls == 5


async def test_serve_runs_until_sigterm_then_closes_the_verifier(
    make_test_verifier: MakeVerifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = make_test_verifier()
    closed = asyncio.Event()
    original_aclose = verifier.aclose

    async def aclose() -> None:
        await original_aclose()
        closed.set()

    monkeypatch.setattr(verifier, "aclose", aclose)
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    options = ServerOptions(shutdown_grace_seconds=1)
    serving = asyncio.create_task(serve(verifier, options=options, ready=port.set_result))

    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{await port}") as channel:
            assert await health_of(channel) == {"": SERVING, SERVICE_NAME: SERVING}
            response = await pb_grpc.VerificationServiceStub(channel).Verify(
                school_place_request(), timeout=5
            )
            assert response.request_id
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(serving, timeout=2)
    finally:
        # A failure above must not leave a live server behind the test's event loop: grpc
        # crashes the whole test process when the loop is torn down under it.
        if not serving.done():
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
    assert closed.is_set()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "handlers are removed after"


async def test_serve_closes_the_verifier_even_if_it_fails_to_start(
    make_test_verifier: MakeVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = make_test_verifier()
    closed = False

    async def fail() -> None:
        raise OSError("department backend unreachable")

    async def aclose() -> None:
        nonlocal closed
        closed = True

    monkeypatch.setattr(verifier, "start", fail)
    monkeypatch.setattr(verifier, "aclose", aclose)
    with pytest.raises(OSError, match="unreachable"):
        await serve(verifier, options=ServerOptions(shutdown_grace_seconds=0), stop=asyncio.Event())
    assert closed


async def test_reflection_lists_the_services_and_serves_the_contract(
    make_test_verifier: MakeVerifier,
) -> None:
    verifier = make_test_verifier()
    server, port = await create_server(verifier)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            requests = [
                reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME),
            ]
            listed, contract = [r async for r in stub.ServerReflectionInfo(iter(requests))]
    finally:
        await graceful_shutdown(server, verifier, grace=0)

    names = {service.name for service in listed.list_services_response.service}
    assert names == {
        SERVICE_NAME,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in contract.file_descriptor_response.file_descriptor_proto
    ]
    assert "verifier/v1/verification.proto" in {f.name for f in files}


async def test_an_address_it_cannot_listen_on_is_a_configuration_error(
    make_test_verifier: MakeVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (A port already in use is not one: grpc sets SO_REUSEPORT, so that several server
    # processes can share a port.)
    verifier = make_test_verifier()
    closed = False

    async def aclose() -> None:
        nonlocal closed
        closed = True

    monkeypatch.setattr(verifier, "aclose", aclose)
    with pytest.raises(ConfigurationError, match=r"256\.0\.0\.1:1"):
        await asyncio.wait_for(serve(verifier, "256.0.0.1:1"), timeout=5)
    assert closed


async def test_a_call_still_running_when_the_grace_is_up_gets_unavailable_not_cancelled(
    start_server: StartServer,
) -> None:
    hung = MockAdapter("household", values=ELIGIBLE_FACTS["household"], hang=True)
    served = await start_server(mock_departments(household=hung))
    call = asyncio.ensure_future(served.stub.Verify(school_place_request(), timeout=30))
    await until(lambda: hung.calls == 1)
    await asyncio.wait_for(served.shut_down(grace=0.5), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "shutting down" in (refused.value.details() or "")
    # The department read it caused is in the log all the same.
    records = [
        e.body for e in read_audit_entries(served.verifier.audit.directory) if e.type == "record"
    ]  # type: ignore[attr-defined]
    assert [
        c["outcome"]
        for r in records
        for c in r["department_calls"]
        if c["department"] == "household"
    ] == ["CANCELLED"]
