"""The health-only port (``server.health_address``): what a probe that speaks no TLS sees
through a server's life, and that it serves nothing but health."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2
from service_support import health_of, school_place_request, until
from support import ELIGIBLE_FACTS, MakeVerifier, mock_departments

from verifier.adapter import MockAdapter
from verifier.service import SERVICE_NAME, ServerOptions, serve
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_the_health_port_follows_the_server_and_serves_only_health(
    make_test_verifier: MakeVerifier,
) -> None:
    slow = MockAdapter("household", values=ELIGIBLE_FACTS["household"], delay=0.3)
    verifier = make_test_verifier(mock_departments(household=slow))
    loop = asyncio.get_running_loop()
    port: asyncio.Future[int] = loop.create_future()
    health_port: asyncio.Future[int] = loop.create_future()
    stop = asyncio.Event()
    serving = asyncio.create_task(
        serve(
            verifier,
            options=ServerOptions(shutdown_grace_seconds=5),
            ready=port.set_result,
            stop=stop,
            health_address="127.0.0.1:0",
            health_ready=health_port.set_result,
        )
    )
    try:
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{await port}") as main,
            grpc.aio.insecure_channel(f"127.0.0.1:{await health_port}") as probe,
        ):
            assert await health_port != await port
            assert await health_of(probe) == {"": SERVING, SERVICE_NAME: SERVING}
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await pb_grpc.VerificationServiceStub(probe).Verify(
                    school_place_request(), timeout=5
                )
            assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED

            in_flight = asyncio.ensure_future(
                pb_grpc.VerificationServiceStub(main).Verify(school_place_request(), timeout=5)
            )
            await until(lambda: slow.calls == 1)
            stop.set()  # as SIGTERM does
            # While the call in flight drains, the probe hears NOT_SERVING (the pod leaves
            # the Service's endpoints), and the call is still answered.
            async with asyncio.timeout(2):
                while (statuses := await health_of(probe))[""] == SERVING:  # noqa: ASYNC110 - a remote status
                    await asyncio.sleep(0.01)
            assert statuses == {"": NOT_SERVING, SERVICE_NAME: NOT_SERVING}
            assert not in_flight.done()
            assert (await in_flight).request_id
            await asyncio.wait_for(serving, timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as gone:
                await health_of(probe)
            assert gone.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        if not serving.done():
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
