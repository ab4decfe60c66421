"""A span per verification and per department call: names, attributes, linkage, failures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, StatusCode, TraceFlags
from support import (
    FIRST_HOME_ACCESS,
    SCHOOL_PLACE_ACCESS,
    TEST_PSEUDONYM_KEY,
    mock_departments,
    resident_id,
)
from telemetry_support import CapturingAuditSink, MakeTracedVerifier, Recorded, recorded_telemetry

from verifier import (
    AuditUnavailable,
    CallOutcome,
    DecisionOutcome,
    DepartmentUnavailable,
    InvalidApplication,
    MockAdapter,
    UnknownServiceItem,
    parse_application,
)
from verifier.audit import (
    AuditRecord,
    AuditSink,
    ChainedAuditLog,
    Pseudonymiser,
    load_or_create_signing_key,
    read_audit_entries,
)
from verifier.engine import (
    DepartmentInput,
    DepartmentOutcome,
    Interceptor,
    Stages,
    VerifyInput,
)
from verifier.model import CallerIdentity
from verifier.model._plain import PlainResult

GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")
SECRET = "CANARY-message-440305198503122015"


def school_place(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
        "parameters": {"district": "440305"},
        "reference_date": "2026-08-31",
        **SCHOOL_PLACE_ACCESS,
    }
    data.update(changes)
    return data


def trace_hex(span_context: SpanContext | None) -> str:
    assert span_context is not None
    return format(span_context.trace_id, "032x")


async def test_one_verify_span_with_a_child_per_department(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded, tmp_path: Path
) -> None:
    directory = tmp_path / "audit"
    audit = ChainedAuditLog(directory, load_or_create_signing_key(directory))
    caller = CallerIdentity(system="hall-7", department="education")
    async with make_traced_verifier(audit=audit) as verifier:
        result = await verifier.verify(parse_application(school_place()), caller=caller)

    verify = recorded.span("verify school_place")
    pseudonymiser = Pseudonymiser(TEST_PSEUDONYM_KEY)
    assert verify.attributes == {
        "verifier.request_id": result.request_id,
        "verifier.caller": "hall-7",
        "verifier.subjects": (pseudonymiser.pseudonym(GUARDIAN), pseudonymiser.pseudonym(CHILD)),
        "verifier.service_item": "school_place",
        "verifier.item_version": result.item_version,
        "verifier.decision": "ELIGIBLE",
        "verifier.cached_facts": 0,
    }
    assert verify.parent is None
    assert verify.status.status_code is StatusCode.UNSET

    departments = [span for span in recorded.spans() if span is not verify]
    assert sorted(span.name for span in departments) == sorted(
        f"department {call.department}" for call in result.department_calls
    )
    verify_context = verify.get_span_context()
    assert verify_context is not None
    for call in result.department_calls:
        span = recorded.span(f"department {call.department}")
        assert span.parent is not None
        assert span.parent.span_id == verify_context.span_id
        assert trace_hex(span.get_span_context()) == trace_hex(verify_context)
        assert span.attributes == {
            "verifier.department": call.department,
            "verifier.facts": call.facts,
            "verifier.cache_hit": False,
            "verifier.outcome": "OK",
            "verifier.attempts": 1,
        }
        assert span.status.status_code is StatusCode.UNSET
        assert span.start_time is not None
        assert verify.start_time is not None
        assert span.end_time is not None
        assert verify.end_time is not None
        assert verify.start_time <= span.start_time <= span.end_time <= verify.end_time

    # The record as the audit log holds it, read back as an auditor's tool would.
    [record] = [
        entry.body
        for entry in read_audit_entries(directory)
        if entry.type == "record" and entry.body.get("kind") == "verification"
    ]
    assert record["request_id"] == result.request_id
    assert record["trace_id"] == trace_hex(verify_context)


async def test_failing_and_hanging_departments_mark_their_spans_without_messages(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    def explode(request: object) -> bool:
        raise RuntimeError(SECRET)

    adapters = mock_departments(
        household=MockAdapter("household", error=DepartmentUnavailable(SECRET)),
        housing=MockAdapter("housing", hang=True),
        social_insurance=MockAdapter("social_insurance", responder=explode),
    )
    async with make_traced_verifier(adapters, timeout=0.3) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    assert result.decision.outcome is not DecisionOutcome.ELIGIBLE

    expected = {
        "household": ("ERROR", "DepartmentUnavailable"),
        "housing": ("TIMEOUT", None),
        "social_insurance": ("ERROR", "RuntimeError"),
    }
    for department, (outcome, error_type) in expected.items():
        span = recorded.span(f"department {department}")
        assert span.attributes is not None
        assert span.attributes["verifier.outcome"] == outcome
        assert span.attributes.get("error.type") == error_type
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == f"department call {outcome}"
        assert not span.events, "no exception events: they would quote the message"
    assert len(recorded.spans()) == 1 + len(expected)
    everything = "\n".join(span.to_json() for span in recorded.spans())
    assert "CANARY" not in everything
    assert GUARDIAN not in everything
    assert CHILD not in everything


async def test_a_malformed_answer_fails_its_department_span(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    adapters = mock_departments(tax=MockAdapter("tax", responder=lambda request: -1))
    async with make_traced_verifier(adapters) as verifier:
        first_home = {
            "service_item": "first_home_purchase",
            "subjects": [{"role": "buyer", "id": GUARDIAN}],
            "reference_date": "2026-08-31",
            **FIRST_HOME_ACCESS,
        }
        result = await verifier.verify(parse_application(first_home))
    [call] = [call for call in result.department_calls if call.department == "tax"]
    span = recorded.span("department tax")
    assert span.attributes is not None
    assert span.attributes["verifier.outcome"] == call.outcome == CallOutcome.INVALID_ANSWER
    assert span.status.status_code is StatusCode.ERROR


async def test_invalid_input_fails_the_span_by_type_and_calls_no_department(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    async with make_traced_verifier() as verifier:
        with pytest.raises(InvalidApplication):
            await verifier.verify(parse_application(school_place(parameters={})))
        with pytest.raises(UnknownServiceItem):
            await verifier.verify(parse_application(school_place(service_item="no_such_item")))

    invalid = recorded.span("verify school_place")
    assert invalid.attributes is not None
    assert invalid.attributes["error.type"] == "InvalidApplication"
    assert "verifier.decision" not in invalid.attributes
    assert invalid.status.status_code is StatusCode.ERROR
    assert invalid.status.description == "verification failed"
    unknown = recorded.span("verify")  # a made-up item never names a span
    assert unknown.attributes is not None
    assert unknown.attributes["error.type"] == "UnknownServiceItem"
    assert "verifier.service_item" not in unknown.attributes
    assert len(recorded.spans()) == 2, "no department span for refused input"


class RefusingSink(AuditSink):
    async def append(self, record: object) -> None:
        raise OSError(SECRET)


async def test_no_audit_no_answer_and_no_decision_on_the_span(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    async with make_traced_verifier(audit=RefusingSink()) as verifier:
        with pytest.raises(AuditUnavailable):
            await verifier.verify(parse_application(school_place()))
    span = recorded.span("verify school_place")
    assert span.attributes is not None
    assert span.attributes["error.type"] == "AuditUnavailable"
    assert "verifier.decision" not in span.attributes
    assert "CANARY" not in span.to_json()


async def test_a_cancelled_verification_ends_every_span(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    adapters = mock_departments(housing=MockAdapter("housing", hang=True))
    async with make_traced_verifier(adapters, timeout=10) as verifier:
        task = asyncio.ensure_future(verifier.verify(parse_application(school_place())))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    verify = recorded.span("verify school_place")
    assert verify.attributes is not None
    assert verify.attributes["error.type"] == "CancelledError"
    housing = recorded.span("department housing")
    assert housing.status.status_code is StatusCode.ERROR
    assert housing.status.description == "verification cancelled"
    assert len(recorded.spans()) == 4, "verify and its three departments, all ended"


async def test_without_telemetry_the_audit_record_has_no_trace_id(
    make_traced_verifier: MakeTracedVerifier,
) -> None:
    """The API's no-op tracer passes a caller's sampled context through unchanged: that is
    not a span of ours, so its trace id must not be recorded as the verification's."""
    audit = CapturingAuditSink()
    remote = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )

    class NoProviders:
        tracer_provider = trace.NoOpTracerProvider()
        meter_provider = None

        def shutdown(self) -> None:
            pass

    async with make_traced_verifier(audit=audit, telemetry=NoProviders()) as verifier:
        await verifier.verify(parse_application(school_place()))
        token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
        try:
            await verifier.verify(parse_application(school_place()))
        finally:
            otel_context.detach(token)
    assert [record.trace_id for record in audit.records] == [None, None]


async def test_unsampled_verifications_record_no_trace_id(
    make_traced_verifier: MakeTracedVerifier,
) -> None:
    telemetry = recorded_telemetry(sample_ratio=0.0)
    audit = CapturingAuditSink()
    async with make_traced_verifier(audit=audit, telemetry=telemetry.handle) as verifier:
        await verifier.verify(parse_application(school_place()))
    assert telemetry.spans() == []
    assert isinstance(audit.records[0], AuditRecord)
    assert audit.records[0].trace_id is None


class SpanWitness(Interceptor):
    """An embedder's interceptor: notes the span current in each stage it is shown."""

    def __init__(self) -> None:
        self.current: list[tuple[str, str]] = []

    def intercept(self, next: Stages) -> Stages:
        return _SpanWitness(next, self.current)


class _SpanWitness(Stages):
    def __init__(self, next: Stages, current: list[tuple[str, str]]) -> None:
        super().__init__(next)
        self._current = current

    def _note(self, stage: str) -> None:
        span = trace.get_current_span()
        name = span.name if isinstance(span, ReadableSpan) else "none"
        self._current.append((stage, name))

    async def verify(self, input: VerifyInput) -> PlainResult:
        self._note("verify")
        return await self.next.verify(input)

    async def department(self, input: DepartmentInput) -> DepartmentOutcome:
        self._note(f"department {input.plan.department}")
        return await self.next.department(input)


async def test_telemetry_is_the_outermost_interceptor_its_spans_hold_the_others(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded
) -> None:
    # Telemetry plugs in as an interceptor: an embedder's own stages run inside the verify
    # span and inside each department's span, so their logs and spans nest under ours.
    witness = SpanWitness()
    async with make_traced_verifier(interceptors=[witness]) as verifier:
        result = await verifier.verify(parse_application(school_place()))
    departments = sorted(call.department for call in result.department_calls)
    assert witness.current[0] == ("verify", "verify school_place")
    assert sorted(witness.current[1:]) == [
        (f"department {name}", f"department {name}") for name in departments
    ]
    assert len(recorded.spans()) == 1 + len(departments)
