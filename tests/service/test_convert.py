"""The protobuf ↔ model conversions, without a server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from service_support import CHILD, GUARDIAN, school_place_request, with_wrong_check_character

from verifier._errors import FieldViolation, InvalidApplication, bounded_violations
from verifier.catalogue import SharingClass
from verifier.model import (
    CallerIdentity,
    CallOutcome,
    ClauseExplanation,
    Decision,
    DecisionOutcome,
    DepartmentCall,
    FactResult,
    FactStatus,
    Provenance,
    ScoreComponent,
    SubjectKind,
    Truth,
    UnknownReason,
    ValueType,
    VerificationResult,
    parse_application,
)
from verifier.rules import ApplicationParameterRef, PolicyParameterRef
from verifier.service import (
    ParameterDescription,
    RequiredFactDescription,
    RoleDescription,
    ServiceItemDescription,
    _convert,
)
from verifier.service._generated.v1 import verification_pb2 as pb

RETRIEVED = datetime(2026, 8, 31, 9, 30, 15, 123456, tzinfo=UTC)


def provenance(department: str, **changes: object) -> Provenance:
    fields: dict[str, object] = {
        "department": department,
        "source_as_of": datetime(2026, 8, 30, tzinfo=UTC),
        "retrieved_at": RETRIEVED,
        "rule_version": "school_place@2026.1",
    }
    fields.update(changes)
    return Provenance.model_validate(fields)


def full_result() -> VerificationResult:
    """A result using every optional and every kind of value."""
    return VerificationResult(
        request_id="4f1c",
        service_item="school_place",
        item_version="2026.1",
        reference_date=date(2026, 8, 31),
        facts=(
            FactResult(
                name="guardian_is_parent",
                fact="guardian_of",
                subjects={"guardian": "guardian", "child": "child"},
                status=FactStatus.KNOWN,
                value=True,
                provenance=provenance("household", cached=True),
            ),
            FactResult(
                name="child_registered_in_district",
                fact="household_registered_in_district",
                subjects={"subject": "child"},
                status=FactStatus.KNOWN,
                value=False,
                provenance=provenance("household", stale=True),
            ),
            FactResult(
                name="guardian_rental_months",
                fact="registered_rental_months_in_district",
                subjects={"subject": "guardian"},
                status=FactStatus.KNOWN,
                value=0,
                provenance=provenance("housing", source_as_of=None),
            ),
            FactResult(
                name="guardian_social_insurance_months",
                fact="social_insurance_continuous_months",
                subjects={"subject": "guardian"},
                status=FactStatus.UNKNOWN,
                reason=UnknownReason.DEADLINE_EXCEEDED,
                provenance=provenance("social_insurance", source_as_of=None),
            ),
        ),
        decision=Decision(
            outcome=DecisionOutcome.NEEDS_REVIEW,
            explanation=(
                ClauseExplanation(
                    clause="eligible", label="eligible", outcome=Truth.UNKNOWN, facts=()
                ),
                ClauseExplanation(
                    clause="months",
                    label="insured long enough",
                    outcome=Truth.UNKNOWN,
                    facts=("guardian_social_insurance_months",),
                    threshold=">= 12",
                    depth=2,
                ),
            ),
            score=12.5,
            score_components=(
                ScoreComponent(component="rental", label="rental", points=0.0, facts=("a",)),
                ScoreComponent(
                    component="insurance",
                    label="insurance",
                    points=None,
                    facts=("b",),
                    basis="0.5 per month, at most 30",
                ),
            ),
        ),
        documents_not_required=("户口簿（本市户籍证明）", "出生医学证明 / 亲子关系证明"),
        department_calls=(
            DepartmentCall(
                department="household",
                outcome=CallOutcome.OK,
                duration_ms=3.125,
                facts=("guardian_is_parent", "child_registered_in_district"),
            ),
            DepartmentCall(
                department="social_insurance",
                outcome=CallOutcome.TIMEOUT,
                duration_ms=1500.0,
                facts=("guardian_social_insurance_months",),
            ),
        ),
        duration_ms=1502.5,
    )


def test_result_survives_the_wire() -> None:
    result = full_result()
    wire = pb.VerifyResponse.FromString(_convert.result_to_proto(result).SerializeToString())
    assert _convert.result_from_proto(wire) == result


def test_fact_values_keep_their_type() -> None:
    message = _convert.result_to_proto(full_result())
    kinds = [fact.WhichOneof("value") for fact in message.facts]
    assert kinds == ["bool_value", "bool_value", "int_value", None]
    assert message.facts[3].reason == pb.UNKNOWN_REASON_DEADLINE_EXCEEDED
    assert not message.facts[2].provenance.HasField("source_as_of")
    assert not message.decision.explanation[0].HasField("threshold")
    assert message.decision.score_components[0].HasField("points")
    assert not message.decision.score_components[1].HasField("points")


def test_no_score_stays_no_score() -> None:
    result = full_result()
    unscored = result.model_copy(
        update={"decision": result.decision.model_copy(update={"score": None})}
    )
    message = _convert.result_to_proto(unscored)
    assert not message.decision.HasField("score")
    assert _convert.result_from_proto(message).decision.score is None


@pytest.mark.parametrize(
    ("model", "wire", "prefix"),
    [
        (SubjectKind, pb.SubjectKind, "SUBJECT_KIND"),
        (FactStatus, pb.FactStatus, "FACT_STATUS"),
        (UnknownReason, pb.UnknownReason, "UNKNOWN_REASON"),
        (Truth, pb.Truth, "TRUTH"),
        (DecisionOutcome, pb.DecisionOutcome, "DECISION_OUTCOME"),
        (CallOutcome, pb.CallOutcome, "CALL_OUTCOME"),
        (SharingClass, pb.SharingClass, "SHARING_CLASS"),
        (ValueType, pb.ValueType, "VALUE_TYPE"),
    ],
)
def test_model_and_wire_enums_match_one_to_one(model: type, wire: object, prefix: str) -> None:
    names = wire.DESCRIPTOR.values_by_name  # type: ignore[attr-defined]
    wire_names = {name for name in names if name != f"{prefix}_UNSPECIFIED"}
    assert wire_names == {f"{prefix}_{member.name}" for member in model}


def test_an_enum_value_this_client_does_not_know_is_a_clear_error() -> None:
    message = _convert.result_to_proto(full_result())
    message.decision.outcome = 99  # type: ignore[assignment]
    with pytest.raises(ValueError, match="unrecognised decision outcome 99"):
        _convert.result_from_proto(message)


def test_application_survives_the_wire() -> None:
    application = parse_application(
        {
            "service_item": "school_place",
            "subjects": [
                {"role": "guardian", "id": GUARDIAN},
                {"role": "child", "id": CHILD},
                {"role": "school", "id": "91350100M000100Y43", "kind": "legal_person"},
            ],
            "parameters": {"district": "440305", "places": 3, "boarding": False},
            "reference_date": "2026-08-31",
            "purpose": "admission",
            "legal_basis": "义务教育法 第十二条",
            "consent_reference": "consent-1",
            "case_number": "C-1",
            "operator": "clerk-0042",
        }
    )
    caller = CallerIdentity(system="hall", department="education")
    wire = pb.VerifyRequest.FromString(
        _convert.application_to_proto(application, caller).SerializeToString()
    )
    assert _convert.verify_request_from_proto(wire) == (application, caller)
    assert type(_convert.application_from_proto(wire).parameters["boarding"]) is bool


def test_empty_strings_and_no_date_mean_not_given() -> None:
    request = school_place_request(purpose="", operator="")
    request.ClearField("reference_date")
    application = _convert.application_from_proto(request)
    assert application.purpose is None
    assert application.operator is None
    assert application.reference_date is None


def test_the_proven_caller_wins_over_the_declared_one() -> None:
    proven = CallerIdentity(system="hall-by-certificate", department="housing")
    declared = school_place_request()
    assert (declared.caller.system, declared.caller.department) != (
        proven.system,
        proven.department,
    )
    _, caller = _convert.verify_request_from_proto(declared, proven=proven)
    assert caller == proven
    # The declared caller is not read at all: not even a malformed one fails the request.
    forged = school_place_request(caller=pb.Caller(system="hall\nforged line"))
    assert _convert.verify_request_from_proto(forged, proven=proven)[1] == proven


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        pytest.param(
            school_place_request(
                subjects=[
                    pb.Subject(role="guardian", id=with_wrong_check_character(GUARDIAN)),
                    pb.Subject(role="child", id="123"),
                ]
            ),
            {"subjects[0].id", "subjects[1].id"},
            id="every-bad-id-and-no-spurious-count",
        ),
        pytest.param(
            school_place_request(subjects=[pb.Subject(role="guardian", id=GUARDIAN, kind=7)]),  # type: ignore[arg-type]
            {"subjects[0].kind"},
            id="unknown-kind",
        ),
        pytest.param(
            school_place_request(
                subjects=[
                    pb.Subject(role="company", id=GUARDIAN, kind=pb.SUBJECT_KIND_LEGAL_PERSON)
                ]
            ),
            {"subjects[0].id"},
            id="resident-id-as-credit-code",
        ),
        pytest.param(
            school_place_request(parameters={"district": pb.ParameterValue()}),
            {"parameters.district"},
            id="parameter-without-value",
        ),
        pytest.param(school_place_request(subjects=[]), {"subjects"}, id="no-subjects"),
        pytest.param(
            school_place_request(reference_date=pb.Date()), {"reference_date"}, id="zero-date"
        ),
        pytest.param(
            school_place_request(caller=pb.Caller(system="hall\nforged line")),
            {"caller.system"},
            id="control-character",
        ),
    ],
)
def test_violations_name_fields_by_the_proto_names(
    request_: pb.VerifyRequest, fields: set[str]
) -> None:
    with pytest.raises(InvalidApplication) as raised:
        _convert.verify_request_from_proto(request_)
    assert {v.field for v in raised.value.violations} == fields


def test_invalid_argument_status_carries_a_bad_request() -> None:
    error = InvalidApplication([FieldViolation("subjects[0].id", "check character does not match")])
    status = _convert.invalid_argument_status(error)

    assert status.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "subjects[0].id" in status.details
    ((key, value),) = status.trailing_metadata
    rich = status_pb2.Status.FromString(value)
    assert key == "grpc-status-details-bin"
    assert rich.code == code_pb2.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    assert rich.details[0].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("subjects[0].id", "check character does not match")
    ]


def test_a_long_violation_list_keeps_the_status_small_and_counts_what_it_leaves_out() -> None:
    # Before: all 200 went into the trailer, over a client's 8 KiB metadata limit.
    many = [FieldViolation(f"parameters.p{n}", "unknown parameter " * 5) for n in range(200)]
    status = _convert.invalid_argument_status(InvalidApplication(many))
    assert len(status.details) <= 1100
    ((_, details),) = status.trailing_metadata
    assert len(details) <= 4096
    rich = status_pb2.Status.FromString(details)
    bad_request = error_details_pb2.BadRequest()
    rich.details[0].Unpack(bad_request)
    *named, summary = bad_request.field_violations
    assert [v.field for v in named] == [f"parameters.p{n}" for n in range(len(named))]
    assert len(named) >= 10
    assert (summary.field, summary.description) == (
        "application",
        f"… and {200 - len(named)} more problems",
    )


def test_the_status_adds_up_violations_counted_before() -> None:
    counted = bounded_violations(
        [FieldViolation(f"subjects[{n}].id", "x" * 300) for n in range(100)]
    )
    rich = status_pb2.Status.FromString(
        _convert.invalid_argument_status(InvalidApplication(counted)).trailing_metadata[0][1]
    )
    bad_request = error_details_pb2.BadRequest()
    rich.details[0].Unpack(bad_request)
    *named, summary = bad_request.field_violations
    assert summary.description == f"… and {100 - len(named)} more problems"


def test_description_survives_the_wire() -> None:
    description = ServiceItemDescription(
        id="school_place",
        version="2026.1",
        title="School place",
        title_zh="义务教育学位申请",
        description="A guardian applies.",
        policy_reference="《义务教育法》第十二条",
        effective_from=date(2026, 1, 1),
        roles=(
            RoleDescription(
                name="guardian", kind=SubjectKind.NATURAL_PERSON, required=True, description="g"
            ),
            RoleDescription(
                name="school", kind=SubjectKind.LEGAL_PERSON, required=False, description=""
            ),
        ),
        parameters=(
            ParameterDescription(name="district", type="string", required=True, pattern=r"^\d{6}$"),
            ParameterDescription(name="places", type="integer", required=False, minimum=1),
            ParameterDescription(name="boarding", type="boolean", required=False),
        ),
        facts=(
            RequiredFactDescription(
                name="in_district",
                fact="household_registered_in_district",
                department="household",
                sharing=SharingClass.UNCONDITIONAL,
                value_type=ValueType.BOOLEAN,
                subjects={"subject": "child"},
                parameters={
                    "district": ApplicationParameterRef(param="district"),
                    "months": PolicyParameterRef(parameter="school_place.min_rental_months"),
                    "code": "440305",
                    "window": 24,
                },
                replaces_document="户口簿",
            ),
            RequiredFactDescription(
                name="months",
                fact="social_insurance_continuous_months",
                department="social_insurance",
                sharing=SharingClass.CONDITIONAL,
                value_type=ValueType.INTEGER,
                subjects={"subject": "guardian"},
                parameters={},
            ),
        ),
        documents_replaced=("户口簿",),
    )
    wire = pb.ServiceItem.FromString(_convert.description_to_proto(description).SerializeToString())
    assert _convert.description_from_proto(wire) == description


@pytest.mark.parametrize(
    "moment",
    [
        RETRIEVED,
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 9, 1, 8, 0, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 9, 1, 8, 0),  # naive: read as UTC, as Timestamp.FromDatetime does
    ],
)
def test_timestamps_match_protobufs_own_conversion(moment: datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(moment)
    assert _convert.timestamp_to_proto(moment) == expected
