"""Admission control: beyond the verification limit and its queue, RESOURCE_EXHAUSTED, fast."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service_support import StartServer, school_place_request, until
from support import ELIGIBLE_FACTS, mock_departments

from verifier.adapter import MockAdapter
from verifier.service._admission import AdmissionControl, Overloaded
from verifier.service._generated.v1 import verification_pb2 as pb

SLOW = 0.4
DEADLINE = 5.0


def slow_departments(delay: float = SLOW) -> tuple[MockAdapter, dict[str, MockAdapter]]:
    household = MockAdapter("household", values=ELIGIBLE_FACTS["household"], delay=delay)
    return household, mock_departments(household=household)  # type: ignore[return-value]


async def timed_verify(stub: object, request: pb.VerifyRequest) -> tuple[object, float]:
    started = time.perf_counter()
    try:
        response = await stub.Verify(request, timeout=DEADLINE)  # type: ignore[attr-defined]
    except grpc.aio.AioRpcError as error:
        return error, time.perf_counter() - started
    return response, time.perf_counter() - started


def retry_delay_ms(error: grpc.aio.AioRpcError) -> int | None:
    for key, value in error.trailing_metadata() or ():  # type: ignore[misc]
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return int(info.retry_delay.ToMilliseconds())
    return None


async def health_status(channel: grpc.aio.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
    return int(response.status)


async def test_excess_verifications_are_refused_fast_and_admitted_ones_succeed(
    start_server: StartServer,
) -> None:
    household, adapters = slow_departments()
    served = await start_server(
        adapters,
        max_in_flight_verifications=2,
        max_queued_verifications=1,
        queue_timeout_ms=3000,
    )

    burst = [
        asyncio.create_task(timed_verify(served.stub, school_place_request())) for _ in range(7)
    ]
    await until(lambda: household.calls == 2)
    # Overload is not unhealth: health answers, SERVING, while the server is full.
    assert await health_status(served.channel) == health_pb2.HealthCheckResponse.SERVING
    outcomes = await asyncio.gather(*burst)

    succeeded = [elapsed for outcome, elapsed in outcomes if isinstance(outcome, pb.VerifyResponse)]
    refused = [
        (outcome, elapsed)
        for outcome, elapsed in outcomes
        if isinstance(outcome, grpc.aio.AioRpcError)
    ]
    assert len(succeeded) == 3, "two in flight and one queued are admitted"
    assert len(refused) == 4
    for error, elapsed in refused:
        assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "overloaded" in (error.details() or "")
        assert retry_delay_ms(error) is not None
        assert elapsed < SLOW / 2, "refused at once, not after a wait"
    assert household.calls == 3

    # After the burst, the server takes work again.
    response, _ = await timed_verify(served.stub, school_place_request())
    assert isinstance(response, pb.VerifyResponse)
    assert await health_status(served.channel) == health_pb2.HealthCheckResponse.SERVING


async def test_a_queued_verification_waits_at_most_the_queue_timeout(
    start_server: StartServer,
) -> None:
    household, adapters = slow_departments()
    served = await start_server(
        adapters, max_in_flight_verifications=1, max_queued_verifications=4, queue_timeout_ms=50
    )
    first = asyncio.create_task(timed_verify(served.stub, school_place_request()))
    await until(lambda: household.calls == 1)
    queued, elapsed = await timed_verify(served.stub, school_place_request())
    assert isinstance(queued, grpc.aio.AioRpcError)
    assert queued.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert 0.04 <= elapsed < SLOW
    response, _ = await first
    assert isinstance(response, pb.VerifyResponse)


async def test_each_batch_item_in_flight_counts_as_a_verification(
    start_server: StartServer,
) -> None:
    _, adapters = slow_departments()
    served = await start_server(
        adapters,
        max_in_flight_verifications=1,
        max_queued_verifications=0,
        batch_in_flight=3,
    )
    requests = [
        pb.VerifyBatchRequest(client_id=f"app-{n}", request=school_place_request())
        for n in range(3)
    ]
    responses = [r async for r in served.stub.VerifyBatch(iter(requests), timeout=DEADLINE)]
    outcomes = sorted(r.WhichOneof("outcome") for r in responses)
    assert outcomes == ["error", "error", "result"]
    for response in responses:
        if response.WhichOneof("outcome") == "error":
            assert response.error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
            assert "retry after" in response.error.message


async def test_grpcs_own_rpc_limit_refuses_health_checks_too(start_server: StartServer) -> None:
    """Why admission control counts verifications: grpc's maximum_concurrent_rpcs also
    refuses health checks once full, so an overloaded server would look unhealthy."""
    household, adapters = slow_departments()
    served = await start_server(adapters, max_concurrent_rpcs=1)
    call = asyncio.create_task(timed_verify(served.stub, school_place_request()))
    await until(lambda: household.calls == 1)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await health_status(served.channel)
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    response, _ = await call
    assert isinstance(response, pb.VerifyResponse)


class Counter:
    def __init__(self) -> None:
        self.added: list[dict[str, str] | None] = []

    def add(self, amount: int, attributes: dict[str, str] | None = None, /) -> None:
        self.added.extend([attributes] * amount)


async def test_rejections_are_counted_and_a_cancelled_waiter_gives_its_turn_back() -> None:
    counter = Counter()
    admission = AdmissionControl(1, 1, 10.0, rejections=counter)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with admission.slot():
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    waiter = asyncio.create_task(hold())
    await until(lambda: admission.queued == 1)
    with pytest.raises(Overloaded):
        async with admission.slot():
            pass
    assert counter.added == [{"verifier.rejection_reason": "queue_full"}]
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert admission.queued == 0
    release.set()
    await holder
    assert admission.in_flight == 0
    async with admission.slot():
        assert admission.in_flight == 1
    assert admission.rejected == 1


async def test_a_slot_handed_over_as_the_waiter_is_cancelled_is_passed_on() -> None:
    admission = AdmissionControl(1, 2, 10.0)
    order: list[str] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with admission.slot():
            first_in.set()
            await release.wait()

    async def later(name: str) -> None:
        async with admission.slot():
            order.append(name)

    holder = asyncio.create_task(first())
    await first_in.wait()
    second = asyncio.create_task(later("second"))
    third = asyncio.create_task(later("third"))
    await until(lambda: admission.queued == 2)
    release.set()
    second.cancel()  # the slot is handed to "second" in the same loop turn it is cancelled
    await holder
    await asyncio.gather(second, third, return_exceptions=True)
    assert order == ["third"]
    assert admission.in_flight == 0
