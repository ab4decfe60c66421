"""Trace context in from a gRPC caller, out to an HTTP department: W3C trace context only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from support import SCHOOL_PLACE_ACCESS, mock_departments, resident_id
from telemetry_support import MakeTracedVerifier, Recorded

from verifier import parse_application
from verifier.adapter import DepartmentAnswer, DepartmentQuery, MockAdapter
from verifier.engine import Verifier
from verifier.service import create_server, graceful_shutdown, mark_serving
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc
from verifier.telemetry import extract_trace_context, inject_trace_headers

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def school_place_request() -> pb.VerifyRequest:
    return pb.VerifyRequest(
        service_item="school_place",
        subjects=[pb.Subject(role="guardian", id=GUARDIAN), pb.Subject(role="child", id=CHILD)],
        parameters={"district": pb.ParameterValue(string_value="440305")},
        reference_date=pb.Date(year=2026, month=8, day=31),
        caller=pb.Caller(system="service-hall"),
        **SCHOOL_PLACE_ACCESS,
    )


def test_inject_writes_the_current_span_as_w3c_traceparent(recorded: Recorded) -> None:
    assert recorded.handle.tracer_provider is not None
    tracer = recorded.handle.tracer_provider.get_tracer("test")
    outside: dict[str, str] = {}
    inject_trace_headers(outside)
    assert outside == {}, "no span, nothing to continue"

    with tracer.start_as_current_span("outgoing") as span:
        # Baggage is never sent to a department, whatever the process propagator says.
        token = otel_context.attach(baggage.set_baggage("subject", "someone"))
        try:
            headers = {"accept": "application/json"}
            inject_trace_headers(headers)
        finally:
            otel_context.detach(token)
    context = span.get_span_context()
    ids = f"{context.trace_id:032x}-{context.span_id:016x}"
    assert headers == {
        "accept": "application/json",
        "traceparent": f"00-{ids}-{context.trace_flags:02x}",
    }
    assert int(headers["traceparent"][-2:], 16) & 0x01, "sampled"


class HeaderRecordingAdapter(MockAdapter):
    """A department that, like the coming HTTP backend, puts the trace into its headers."""

    def __init__(self, department: str, base: MockAdapter) -> None:
        super().__init__(department, values=dict.fromkeys(base.supported_facts(), True))
        self._base = base
        self.headers: dict[str, str] = {}

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        inject_trace_headers(self.headers)
        return await self._base.fetch(query)


async def test_a_department_call_carries_its_own_span_as_parent(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    base = mock_departments()["household"]
    assert isinstance(base, MockAdapter)
    household = HeaderRecordingAdapter("household", base)
    async with make_traced_verifier(mock_departments(household=household)) as verifier:
        await verifier.verify(
            parse_application(
                {
                    "service_item": "school_place",
                    "subjects": [
                        {"role": "guardian", "id": GUARDIAN},
                        {"role": "child", "id": CHILD},
                    ],
                    "parameters": {"district": "440305"},
                    "reference_date": "2026-08-31",
                    **SCHOOL_PLACE_ACCESS,
                }
            )
        )
    span_context = recorded.span("department household").get_span_context()
    assert span_context is not None
    _, trace_id, parent_id, _ = household.headers["traceparent"].split("-")
    assert (trace_id, parent_id) == (
        f"{span_context.trace_id:032x}",
        f"{span_context.span_id:016x}",
    )


def test_extract_reads_only_text_trace_context_from_metadata() -> None:
    metadata = (
        ("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),
        ("baggage", "subject=someone"),
        ("x-bin", b"\x00\x01"),
    )
    context = extract_trace_context(metadata)
    remote = trace.get_current_span(context).get_span_context()
    assert (format(remote.trace_id, "032x"), remote.is_remote) == (CALLER_TRACE, True)
    assert baggage.get_all(context) == {}, "a caller's baggage is not ours to carry"
    empty = trace.get_current_span(extract_trace_context(None)).get_span_context()
    assert not empty.is_valid


@pytest.fixture
async def traced_server(
    make_traced_verifier: MakeTracedVerifier,
) -> AsyncIterator[pb_grpc.VerificationServiceStub]:
    verifier: Verifier = make_traced_verifier()
    server, port = await create_server(verifier)
    await server.start()
    await verifier.start()
    await mark_serving(server)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield pb_grpc.VerificationServiceStub(channel)
    finally:
        await channel.close(grace=None)
        await graceful_shutdown(server, verifier, grace=0)


async def test_a_callers_traceparent_over_grpc_is_continued(
    traced_server: pb_grpc.VerificationServiceStub, recorded: Recorded
) -> None:
    metadata = (("traceparent", f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"),)
    response = await traced_server.Verify(school_place_request(), metadata=metadata, timeout=5)

    verify = recorded.span("verify school_place")
    context = verify.get_span_context()
    assert context is not None
    assert format(context.trace_id, "032x") == CALLER_TRACE
    assert verify.parent is not None
    assert (format(verify.parent.span_id, "016x"), verify.parent.is_remote) == (CALLER_SPAN, True)
    assert verify.attributes is not None
    assert verify.attributes["verifier.request_id"] == response.request_id


async def test_without_or_with_a_malformed_traceparent_a_new_trace_starts(
    traced_server: pb_grpc.VerificationServiceStub, recorded: Recorded
) -> None:
    await traced_server.Verify(school_place_request(), timeout=5)
    bad = (("traceparent", "00-not-a-trace-01"),)
    await traced_server.Verify(school_place_request(), metadata=bad, timeout=5)

    verifies = [span for span in recorded.spans() if span.name.startswith("verify")]
    assert len(verifies) == 2
    assert all(span.parent is None for span in verifies)
    trace_ids = {span.context.trace_id for span in verifies if span.context is not None}
    assert len(trace_ids) == 2
