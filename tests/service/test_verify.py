"""Verify over a real grpc.aio server: answers, field errors, deadlines, failures mapped."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest
from service_support import (
    CHILD,
    GUARDIAN,
    Served,
    StartServer,
    bad_request_of,
    school_place_request,
    with_wrong_check_character,
)
from support import ELIGIBLE_FACTS, mock_departments

from verifier._errors import AuditUnavailable
from verifier.adapter import MockAdapter
from verifier.audit import ChainedAuditLog
from verifier.service._generated.v1 import verification_pb2 as pb


async def test_verify_answers_facts_decision_and_documents(served: Served) -> None:
    response = await served.stub.Verify(school_place_request(), timeout=5)

    assert response.request_id
    assert response.service_item == "school_place"
    assert response.item_version
    assert (response.reference_date.year, response.reference_date.month) == (2026, 8)
    assert response.decision.outcome == pb.DECISION_OUTCOME_ELIGIBLE
    assert response.decision.explanation[0].outcome == pb.TRUTH_TRUE
    assert all(fact.status == pb.FACT_STATUS_KNOWN for fact in response.facts)
    guardianship = next(f for f in response.facts if f.fact == "guardian_of")
    assert guardianship.WhichOneof("value") == "bool_value"
    assert guardianship.bool_value
    assert guardianship.provenance.department == "household"
    assert guardianship.provenance.HasField("retrieved_at")
    months = next(f for f in response.facts if f.fact == "social_insurance_continuous_months")
    assert months.WhichOneof("value") == "int_value"
    assert months.int_value == ELIGIBLE_FACTS["social_insurance"][months.fact]
    assert response.documents_not_required
    assert {call.department for call in response.department_calls} >= {"household", "housing"}
    assert all(call.outcome == pb.CALL_OUTCOME_OK for call in response.department_calls)
    assert response.HasField("duration")


async def test_answer_carries_no_personal_id(served: Served) -> None:
    response = await served.stub.Verify(school_place_request(), timeout=5)
    wire = response.SerializeToString()
    assert GUARDIAN.encode() not in wire
    assert CHILD.encode() not in wire


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param(
            {
                "subjects": [
                    pb.Subject(role="guardian", id=with_wrong_check_character(GUARDIAN)),
                    pb.Subject(role="child", id=CHILD),
                ]
            },
            "subjects[0].id",
            id="bad-check-character",
        ),
        pytest.param(
            {
                "subjects": [
                    pb.Subject(role="guardian", id=GUARDIAN),
                    pb.Subject(role="child", id=with_wrong_check_character(CHILD)),
                ]
            },
            "subjects[1].id",
            id="bad-check-character-second-subject",
        ),
        pytest.param({"service_item": "no_such_item"}, "service_item", id="unknown-item"),
        pytest.param(
            {"subjects": [pb.Subject(role="guardian", id=GUARDIAN)]}, "subjects", id="missing-role"
        ),
        pytest.param(
            {
                "parameters": {
                    "district": pb.ParameterValue(string_value="440305"),
                    "shoe_size": pb.ParameterValue(int_value=42),
                }
            },
            "parameters.shoe_size",
            id="unknown-parameter",
        ),
        pytest.param({"case_number": "C" * 65}, "case_number", id="oversized-field"),
        pytest.param(
            {"reference_date": pb.Date(year=2026, month=2, day=30)},
            "reference_date",
            id="impossible-date",
        ),
        pytest.param({"caller": pb.Caller()}, "caller.system", id="missing-caller"),
    ],
)
async def test_bad_input_is_invalid_argument_naming_the_field(
    served: Served, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await served.stub.Verify(school_place_request(**changes), timeout=5)

    violations = bad_request_of(raised.value)
    assert field in violations, violations
    details = raised.value.details() or ""
    assert field in details
    for leak in ("Traceback", "/verifier/", ".py", GUARDIAN, CHILD):
        assert leak not in details
        assert all(leak not in text for text in violations.values())


async def test_bad_input_reaches_no_department(start_server: StartServer) -> None:
    adapters = mock_departments()
    served = await start_server(adapters)
    bad_guardian = [pb.Subject(role="guardian", id=with_wrong_check_character(GUARDIAN))]
    with pytest.raises(grpc.aio.AioRpcError):
        await served.stub.Verify(school_place_request(subjects=bad_guardian), timeout=5)
    assert all(isinstance(a, MockAdapter) and a.calls == 0 for a in adapters.values())


async def test_every_violation_is_reported_at_once(served: Served) -> None:
    request = school_place_request(case_number="C" * 65, caller=pb.Caller())
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await served.stub.Verify(request, timeout=5)
    assert {"case_number", "caller.system"} <= bad_request_of(raised.value).keys()


async def test_a_resident_id_in_free_text_is_refused_and_kept_out_of_the_audit_log(
    served: Served,
) -> None:
    typed = f"经办人核对身份证{GUARDIAN}原件"  # the guardian's ID, typed into the purpose
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await served.stub.Verify(school_place_request(purpose=typed), timeout=5)
    violations = bad_request_of(raised.value)
    assert violations == {
        "purpose": "contains what looks like a resident ID number; "
        "free text must not carry personal identifiers"
    }
    assert "purpose" in (raised.value.details() or "")
    await served.stub.Verify(school_place_request(), timeout=5)  # the log is written to
    await served.shut_down()

    answer = (raised.value.details() or "").encode() + b"".join(
        value if isinstance(value, bytes) else value.encode()
        for _, value in raised.value.trailing_metadata() or ()  # type: ignore[misc]
    )
    assert GUARDIAN.encode() not in answer
    assert isinstance(served.verifier.audit, ChainedAuditLog)
    audit_files = list(served.verifier.audit.directory.iterdir())
    assert any(path.name.startswith("audit-") for path in audit_files)
    for path in audit_files:
        assert GUARDIAN.encode() not in path.read_bytes(), path.name


async def test_hanging_department_costs_its_facts_not_the_deadline(
    start_server: StartServer,
) -> None:
    hanging = MockAdapter("housing", hang=True)
    served = await start_server(mock_departments(housing=hanging), verifier_timeout=10.0)

    # The client's own deadline is the assertion: an answer after 0.2 s would raise
    # DEADLINE_EXCEEDED here (a stopwatch around the call would only time the machine's load).
    response = await served.stub.Verify(school_place_request(), timeout=0.2)

    housing = [f for f in response.facts if f.provenance.department == "housing"]
    assert housing
    assert all(f.status == pb.FACT_STATUS_UNKNOWN for f in housing)
    assert all(f.reason == pb.UNKNOWN_REASON_DEADLINE_EXCEEDED for f in housing)
    assert all(f.WhichOneof("value") is None for f in housing)
    assert hanging.cancelled == 1
    household = [f for f in response.facts if f.provenance.department == "household"]
    assert all(f.status == pb.FACT_STATUS_KNOWN for f in household)


async def test_failed_department_is_an_answer_not_an_error(start_server: StartServer) -> None:
    from verifier._errors import DepartmentUnavailable

    failing = MockAdapter("household", error=DepartmentUnavailable("connection refused"))
    served = await start_server(mock_departments(household=failing))

    response = await served.stub.Verify(school_place_request(), timeout=5)

    household = [f for f in response.facts if f.provenance.department == "household"]
    assert household
    assert all(f.status == pb.FACT_STATUS_UNKNOWN for f in household)
    assert response.decision.outcome in (
        pb.DECISION_OUTCOME_NEEDS_REVIEW,
        pb.DECISION_OUTCOME_NOT_ELIGIBLE,
    )


async def test_audit_failure_is_unavailable(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(record: object) -> None:
        raise AuditUnavailable("disk full")

    # Records, and verifications' records encoded straight to the log's JSON, both refused.
    monkeypatch.setattr(served.verifier.audit, "append", refuse)
    monkeypatch.setattr(served.verifier.audit, "append_encoded", refuse)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await served.stub.Verify(school_place_request(), timeout=5)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "audit" in (raised.value.details() or "")


async def test_unexpected_failure_is_internal_with_an_error_id_and_no_detail(
    served: Served, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    message = f"internal detail about {GUARDIAN}"

    async def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError(message)

    monkeypatch.setattr(served.verifier, "decide", explode)
    with (
        caplog.at_level(logging.ERROR, logger="verifier.service"),
        pytest.raises(grpc.aio.AioRpcError) as raised,
    ):
        await served.stub.Verify(school_place_request(), timeout=5)

    assert raised.value.code() is grpc.StatusCode.INTERNAL
    details = raised.value.details() or ""
    assert "error id" in details
    assert "detail" not in details
    assert "RuntimeError" not in details
    assert ".py" not in details
    error_id = details.rsplit(" ", 1)[-1].rstrip(")")
    assert any(error_id in record.getMessage() for record in caplog.records)
    # The log has the stack, for the operator, but not the message: it quotes an ID.
    assert all(GUARDIAN not in record.getMessage() for record in caplog.records)
    assert all(message not in record.getMessage() for record in caplog.records)


async def test_oversized_message_is_refused(start_server: StartServer) -> None:
    served = await start_server(max_message_bytes=4096)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await served.stub.Verify(school_place_request(purpose="p" * 8192), timeout=5)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_calls_beyond_the_concurrency_limit_are_refused(start_server: StartServer) -> None:
    slow = MockAdapter("household", values=ELIGIBLE_FACTS["household"], delay=0.2)
    served = await start_server(mock_departments(household=slow), max_concurrent_rpcs=2)

    outcomes = await asyncio.gather(
        *(served.stub.Verify(school_place_request(), timeout=5) for _ in range(4)),
        return_exceptions=True,
    )

    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert refused
    assert all(o.code() is grpc.StatusCode.RESOURCE_EXHAUSTED for o in refused)
    assert sum(isinstance(o, pb.VerifyResponse) for o in outcomes) >= 2
