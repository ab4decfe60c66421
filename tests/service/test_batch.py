"""VerifyBatch: every id answered once, as completed, with bounded in-flight work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from service_support import (
    GUARDIAN,
    CountingAdapter,
    Served,
    StartServer,
    school_place_request,
    until,
    with_wrong_check_character,
)
from support import ELIGIBLE_FACTS, mock_departments

from verifier.adapter import DepartmentAnswer, DepartmentQuery, MockAdapter
from verifier.service._batch import bounded_as_completed
from verifier.service._generated.v1 import verification_pb2 as pb


def batch_of(count: int, **changes: object) -> list[pb.VerifyBatchRequest]:
    return [
        pb.VerifyBatchRequest(client_id=f"app-{n}", request=school_place_request(**changes))
        for n in range(count)
    ]


async def test_every_application_is_answered_once_by_its_id(served: Served) -> None:
    requests = batch_of(12)
    responses = [r async for r in served.stub.VerifyBatch(iter(requests), timeout=10)]

    assert sorted(r.client_id for r in responses) == sorted(r.client_id for r in requests)
    assert all(r.WhichOneof("outcome") == "result" for r in responses)
    assert all(r.result.decision.outcome == pb.DECISION_OUTCOME_ELIGIBLE for r in responses)
    assert len({r.result.request_id for r in responses}) == len(requests)


class SlowInDistrict(MockAdapter):
    """Answers queries about one district late."""

    def __init__(self, slow_district: str) -> None:
        super().__init__("household", values=ELIGIBLE_FACTS["household"])
        self.slow_district = slow_district

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        if any(r.parameters.get("district") == self.slow_district for r in query.requests):
            await asyncio.sleep(0.15)
        return await super().fetch(query)


async def test_results_come_as_completed_not_in_request_order(start_server: StartServer) -> None:
    served = await start_server(mock_departments(household=SlowInDistrict("440305")))
    elsewhere = {"district": pb.ParameterValue(string_value="440306")}
    requests = [
        pb.VerifyBatchRequest(client_id="slow", request=school_place_request()),
        pb.VerifyBatchRequest(client_id="fast", request=school_place_request(parameters=elsewhere)),
    ]

    responses = [r async for r in served.stub.VerifyBatch(iter(requests), timeout=10)]

    assert [r.client_id for r in responses] == ["fast", "slow"]


async def test_in_flight_work_is_bounded(start_server: StartServer) -> None:
    counting = CountingAdapter("household", ELIGIBLE_FACTS["household"], delay=0.05)
    served = await start_server(mock_departments(household=counting), batch_in_flight=3)

    responses = [r async for r in served.stub.VerifyBatch(iter(batch_of(10)), timeout=10)]

    assert len(responses) == 10
    assert counting.calls == 10
    assert counting.most_running == 3, "three at a time: bounded, and actually concurrent"


async def test_server_reads_the_next_application_only_when_a_slot_is_free(
    start_server: StartServer,
) -> None:
    hanging = MockAdapter("household", hang=True)
    served = await start_server(mock_departments(household=hanging), batch_in_flight=2)

    call = served.stub.VerifyBatch(iter(batch_of(50)), timeout=10)
    await until(lambda: hanging.calls == 2)
    await asyncio.sleep(0.05)

    # Unread applications stay in the transport (whose flow control pushes back on the
    # client); the server holds two.
    assert hanging.calls == 2
    call.cancel()


async def test_bad_application_is_an_error_result_and_the_stream_goes_on(
    served: Served,
) -> None:
    bad_guardian = [pb.Subject(role="guardian", id=with_wrong_check_character(GUARDIAN))]
    requests = [
        *batch_of(2),
        pb.VerifyBatchRequest(client_id="bad", request=school_place_request(subjects=bad_guardian)),
        pb.VerifyBatchRequest(request=school_place_request()),  # no client_id
        *[
            pb.VerifyBatchRequest(client_id=f"late-{n}", request=school_place_request())
            for n in range(2)
        ],
    ]

    responses = {r.client_id: r async for r in served.stub.VerifyBatch(iter(requests), timeout=10)}

    assert set(responses) == {"app-0", "app-1", "bad", "", "late-0", "late-1"}
    bad = responses["bad"]
    assert bad.WhichOneof("outcome") == "error"
    assert bad.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "request.subjects[0].id" in {v.field for v in bad.error.field_violations}
    assert GUARDIAN not in bad.error.message
    assert [v.field for v in responses[""].error.field_violations] == ["client_id"]
    assert all(responses[i].WhichOneof("outcome") == "result" for i in ("late-0", "late-1"))


async def test_each_application_gets_the_remaining_deadline(start_server: StartServer) -> None:
    hanging = MockAdapter("housing", hang=True)
    served = await start_server(mock_departments(housing=hanging), verifier_timeout=10.0)

    responses = [r async for r in served.stub.VerifyBatch(iter(batch_of(3)), timeout=0.3)]

    assert len(responses) == 3
    for response in responses:
        housing = [f for f in response.result.facts if f.provenance.department == "housing"]
        assert all(f.reason == pb.UNKNOWN_REASON_DEADLINE_EXCEEDED for f in housing)


# ---- the flow-control helper on its own -------------------------------------------------


async def numbers(count: int) -> AsyncIterator[int]:
    for number in range(count):
        yield number


async def test_helper_yields_each_result_once_within_its_limit() -> None:
    running = most = 0

    async def work(number: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001 * (number % 3))
        running -= 1
        return number * 10

    results = [r async for r in bounded_as_completed(numbers(20), work, limit=4)]
    assert sorted(results) == [n * 10 for n in range(20)]
    assert most == 4


async def test_helper_holds_a_slot_until_the_consumer_takes_the_result() -> None:
    started: list[int] = []

    async def work(number: int) -> int:
        started.append(number)
        return number

    results = bounded_as_completed(numbers(10), work, limit=2)
    first = await anext(results)
    await asyncio.sleep(0.01)  # the consumer dawdles: two results held, nothing more starts
    assert first == 0
    assert len(started) <= 3
    await results.aclose()


async def test_helper_raises_a_failure_and_cancels_the_rest() -> None:
    cancelled = 0

    async def work(number: int) -> int:
        nonlocal cancelled
        if number == 1:
            raise ValueError("broken")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return number

    with pytest.raises(ValueError, match="broken"):
        _ = [r async for r in bounded_as_completed(numbers(5), work, limit=3)]
    assert cancelled == 2


async def test_helper_rejects_a_limit_below_one() -> None:
    async def work(number: int) -> int:
        return number

    with pytest.raises(ValueError, match="at least 1"):
        await anext(bounded_as_completed(numbers(1), work, limit=0))
