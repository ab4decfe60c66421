"""Applications per VerifyBatch stream are bounded (``_batch.MAX_BATCH_ITEMS``, 10,000).

Item ``MAX_BATCH_ITEMS + 1`` is never worked on: the results of the items before it are
all delivered, then the stream ends with an error and the client sends the rest anew.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from fuzz_support import school_place_request
from support import MakeVerifier, mock_departments

from verifier.adapter import MockAdapter
from verifier.service import _batch, create_server, mark_serving
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc


async def numbers(count: int) -> AsyncIterator[int]:
    for number in range(count):
        yield number
        await asyncio.sleep(0)


async def doubled(number: int) -> int:
    await asyncio.sleep(0)
    return 2 * number


def test_the_default_limit() -> None:
    assert _batch.MAX_BATCH_ITEMS == 10_000


async def test_a_stream_of_exactly_the_limit_ends_normally() -> None:
    results = [
        r async for r in _batch.bounded_as_completed(numbers(5), doubled, limit=2, max_items=5)
    ]
    assert sorted(results) == [0, 2, 4, 6, 8]


async def test_the_item_past_the_limit_ends_the_stream_after_the_others() -> None:
    worked: list[int] = []

    async def work(number: int) -> int:
        worked.append(number)
        return await doubled(number)

    results: list[int] = []

    async def consume() -> None:
        async for result in _batch.bounded_as_completed(numbers(8), work, limit=3, max_items=5):
            results.append(result)

    with pytest.raises(_batch.BatchTooLarge) as raised:
        await consume()
    assert sorted(results) == [0, 2, 4, 6, 8]
    assert sorted(worked) == [0, 1, 2, 3, 4]
    assert raised.value.max_items == 5
    assert "at most 5 applications" in str(raised.value)


async def test_max_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_items"):
        await anext(_batch.bounded_as_completed(numbers(1), doubled, limit=1, max_items=0))


async def run_batch(
    make_test_verifier: MakeVerifier, tmp_path: Path, count: int
) -> tuple[list[pb.VerifyBatchResponse], grpc.aio.AioRpcError | None, int]:
    """Results, the error that ended the stream (if any), and department calls made."""
    adapters = mock_departments()
    verifier = make_test_verifier(adapters, tmp_path / "audit")
    server, port = await create_server(verifier, "127.0.0.1:0")
    await server.start()
    await verifier.start()
    await mark_serving(server)
    results: list[pb.VerifyBatchResponse] = []
    failure = None
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
            items = (
                pb.VerifyBatchRequest(client_id=f"a{n}", request=school_place_request())
                for n in range(count)
            )
            try:
                async for response in stub.VerifyBatch(iter(items), timeout=20):
                    results.append(response)
            except grpc.aio.AioRpcError as error:
                failure = error
    finally:
        await server.stop(0)
        await verifier.aclose()
    calls = sum(a.calls for a in adapters.values() if isinstance(a, MockAdapter))
    return results, failure, calls


async def test_a_server_stream_past_the_limit_gets_its_results_then_an_error(
    make_test_verifier: MakeVerifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_batch, "MAX_BATCH_ITEMS", 5)
    results, failure, calls = await run_batch(make_test_verifier, tmp_path, 8)
    assert sorted(r.client_id for r in results) == [f"a{n}" for n in range(5)]
    assert all(r.WhichOneof("outcome") == "result" for r in results)
    assert failure is not None
    assert failure.code() is not grpc.StatusCode.OK
    one, _, calls_for_one = await run_batch(make_test_verifier, tmp_path / "one", 1)
    assert len(one) == 1
    assert calls == 5 * calls_for_one, "items past the limit reach no department"


async def test_a_server_stream_past_the_limit_ends_with_resource_exhausted(
    make_test_verifier: MakeVerifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_batch, "MAX_BATCH_ITEMS", 2)
    _, failure, _ = await run_batch(make_test_verifier, tmp_path, 3)
    assert failure is not None
    assert failure.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
