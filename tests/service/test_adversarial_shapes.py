"""No request under the size limit costs much more to handle than a normal one.

Raw request bodies of hostile shapes, each as large as the server accepts, go to a real
server; their handling time is compared with a normal verification's, measured in the same
test (a ratio, not a clock). Before the bound on field violations, 5,000 empty subjects
(10 KB) held the event loop for seconds and health checks waited behind them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service_support import GUARDIAN, Served, bad_request_of, school_place_request

from verifier._errors import MAX_REPORTED_VIOLATIONS
from verifier.service import DEFAULT_MAX_MESSAGE_BYTES
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

LIMIT = DEFAULT_MAX_MESSAGE_BYTES
"""The library's default request size limit, which the ``served`` server has."""
VERIFY = "/verifier.v1.VerificationService/Verify"
REPEATS = 5
MAX_RATIO = 20
"""Worst median handling time over a normal verification's. Measured on a shared 2-core
machine: a normal verification (four mock departments, an audit record) takes 3-6 ms and
the slowest hostile shape — a full-size body the server must parse and refuse — under 1.5×
that; 20× leaves room for a busy machine, while the quadratic collection it guards against
was over 500× at 10 KB and grows with the square of the size."""


def filled(unit: Callable[[int], bytes], head: bytes = b"", limit: int = LIMIT - 64) -> bytes:
    """``head`` and then numbered units, as many as fit in ``limit`` (the default leaves
    room for gRPC's framing under the server's limit)."""
    parts, size = [head], len(head)
    for index in itertools.count():
        part = unit(index)
        if size + len(part) > limit:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
    raise AssertionError("unreachable")


def varint(value: int) -> bytes:
    out = b""
    while value >= 128:
        out += bytes([value & 127 | 128])
        value >>= 7
    return out + bytes([value])


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def parameter(index: int, value: pb.ParameterValue) -> bytes:
    entry = pb.VerifyRequest(parameters={f"p{index:05d}": value})
    return entry.SerializeToString()


def every_rule_broken() -> bytes:
    """The most violations a request can carry within the repeated fields' limits."""
    request = pb.VerifyRequest(
        service_item="Not An Item",
        subjects=[pb.Subject(role=f"Role {i}", id=f"{i:018d}", kind=99) for i in range(16)],
        parameters={f"p{i:02d}": pb.ParameterValue(string_value="v" * 300) for i in range(32)},
        purpose="a\nb",
        legal_basis="\x00",
        consent_reference="\u202e",
        case_number="c" * 65,
        operator="\u2028",
        caller=pb.Caller(system="s" * 200, department="\x7f"),
    )
    unknown = b"".join(field(number, b"x") for number in range(20, 40))
    subjects = b"".join(field(2, s.SerializeToString() + unknown) for s in request.subjects)
    request.ClearField("subjects")
    return request.SerializeToString() + subjects + unknown


def shapes() -> Iterator[tuple[str, bytes]]:
    """The issue's instance first: against the old code it fails in seconds, not minutes."""
    yield "5,000 empty subjects", b"\x12\x00" * 5000
    yield "empty subjects to the limit", filled(lambda _: b"\x12\x00")
    yield (
        "subjects with bad IDs to the limit",
        filled(lambda i: field(2, pb.Subject(role="child", id=f"{i:018d}").SerializeToString())),
    )
    yield (
        "parameters to the limit",
        filled(lambda i: parameter(i, pb.ParameterValue(string_value="v")), b"\n\x0cschool_place"),
    )
    yield (
        "parameters without values to the limit",
        filled(lambda i: parameter(i, pb.ParameterValue())),
    )
    yield "every rule broken", every_rule_broken()
    unknown = lambda i: field(100 + i, b"")  # noqa: E731 - used twice, just below
    yield "a subject with unknown fields to the limit", field(2, filled(unknown, limit=LIMIT - 128))
    yield "unknown fields to the limit", filled(unknown)
    yield (
        "free text to the limit",
        pb.VerifyRequest(
            service_item="school_place",
            subjects=[pb.Subject(role="guardian", id=GUARDIAN)],
            **dict.fromkeys(FREE_TEXT, "长" * (LIMIT // 16)),
        ).SerializeToString(),
    )
    at_most = {"purpose": 200, "legal_basis": 500, "consent_reference": 128}
    at_most |= {"case_number": 64, "operator": 64}
    yield (
        "every free-text field at its maximum length",
        school_place_request(
            **{name: "长" * length for name, length in at_most.items()},
            caller=pb.Caller(system="s" * 128, department="d" * 128),
        ).SerializeToString(),
    )


FREE_TEXT = ("purpose", "legal_basis", "consent_reference", "case_number", "operator")


async def median_time(call: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def test_no_request_shape_costs_much_more_than_a_normal_one(served: Served) -> None:
    raw_verify = served.channel.unary_unary(VERIFY)  # no serializers: bytes in, bytes out
    health = health_pb2_grpc.HealthStub(served.channel)
    normal_request = school_place_request()

    async def normal() -> None:
        response = await served.stub.Verify(normal_request, timeout=30)
        assert response.decision.outcome == pb.DECISION_OUTCOME_ELIGIBLE

    await normal()  # warm up: the first call opens the connection and the audit file
    baseline = await median_time(normal)

    for name, body in shapes():
        assert len(body) <= LIMIT, name

        async def hostile(body: bytes = body) -> grpc.StatusCode:
            try:
                await raw_verify(body, timeout=300)
            except grpc.aio.AioRpcError as error:  # refusals are expected; their cost is not
                return error.code()
            return grpc.StatusCode.OK

        async def hostile_with_health_check() -> None:
            """A health check sent with the hostile call: answered, and not kept waiting."""
            _, answer = await asyncio.gather(
                hostile(), health.Check(health_pb2.HealthCheckRequest(), timeout=300)
            )
            assert answer.status == health_pb2.HealthCheckResponse.SERVING

        # The first call also warms up: the first call of a size grows grpc's buffers.
        assert await hostile() is not grpc.StatusCode.INTERNAL, name
        spent = await median_time(hostile_with_health_check)
        print(f"{name}: {len(body):,} bytes, {spent / baseline:.2f}× a normal verification")
        assert spent / baseline < MAX_RATIO, (
            f"{name} ({len(body):,} bytes): {spent * 1000:.1f} ms, "
            f"a normal verification {baseline * 1000:.1f} ms"
        )


async def test_too_many_entries_are_refused_by_count_and_violations_are_bounded(
    served: Served,
) -> None:
    raw_verify = served.channel.unary_unary(VERIFY)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await raw_verify(b"\x12\x00" * 5000, timeout=30)

    violations = bad_request_of(raised.value)
    assert violations["subjects"] == "at most 16 allowed, 5,000 given"
    # The 16 subjects within the limit are read (each lacks a role and an ID): the first
    # 20 problems are named, the rest counted in one last entry.
    assert len(violations) <= MAX_REPORTED_VIOLATIONS + 1
    assert re.fullmatch(r"… and [\d,]+ more problems", violations["application"])

    many_parameters = pb.VerifyRequest(
        parameters={f"p{i}": pb.ParameterValue(int_value=i) for i in range(1000)}
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await served.stub.Verify(many_parameters, timeout=30)
    assert bad_request_of(raised.value)["parameters"] == "at most 32 allowed, 1,000 given"


@pytest.mark.parametrize(
    "request_",
    [
        pb.VerifyRequest(subjects=[pb.Subject(role="child", id=f"{n:018d}") for n in range(300)]),
        pb.VerifyRequest(
            parameters={f"p{n:03d}": pb.ParameterValue(string_value="v" * 300) for n in range(150)}
        ),
        pb.VerifyRequest.FromString(every_rule_broken()),
    ],
    ids=["300 bad subjects", "150 bad parameters", "every rule broken"],
)
async def test_a_client_with_8_kib_of_metadata_still_reads_invalid_argument(
    served: Served, request_: pb.VerifyRequest
) -> None:
    # Before: the BadRequest naming every field outgrew the client's metadata limit, and the
    # client saw RESOURCE_EXHAUSTED instead of the field violations.
    options = [("grpc.max_metadata_size", 8192)]
    async with grpc.aio.insecure_channel(served.address, options=options) as channel:
        stub = pb_grpc.VerificationServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.Verify(request_, timeout=30)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert len(bad_request_of(raised.value)) > 1
