"""Protobuf ↔ the library's models: the one module (with the servicer) that touches ``*_pb2``.

Requests become an ``Application`` and a ``CallerIdentity`` (raising ``InvalidApplication``
with field paths in the proto's field names, relative to ``VerifyRequest``); results and
service items become messages; ``result_from_proto`` turns a response back into a
``VerificationResult`` for Python clients.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

import grpc
from google.protobuf import any_pb2, duration_pb2, timestamp_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status
from pydantic import ValidationError

from verifier._errors import FieldViolation, InvalidApplication
from verifier.catalogue import SharingClass
from verifier.model import (
    Application,
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
    violations_from,
)
from verifier.rules import ApplicationParameterRef, PolicyParameterRef
from verifier.service._description import (
    FactParameterSource,
    ParameterDescription,
    ParameterType,
    RequiredFactDescription,
    RoleDescription,
    ServiceItemDescription,
)
from verifier.service._generated.v1 import verification_pb2 as pb

_E = TypeVar("_E", bound=StrEnum)
_W = TypeVar("_W", bound=int)

_MAX_STATUS_MESSAGE = 1000
"""Characters of violation summary in the status message; the details carry every one."""
_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _enum_map(model: type[_E], wire: type[_W], prefix: str) -> dict[_E, _W]:
    # Wire names are the model's member names behind the enum's prefix (buf's style); a
    # member with no wire counterpart fails here, at import, not on some rare answer.
    return {member: getattr(wire, f"{prefix}_{member.name}") for member in model}


_SUBJECT_KINDS = _enum_map(SubjectKind, pb.SubjectKind, "SUBJECT_KIND")
_FACT_STATUSES = _enum_map(FactStatus, pb.FactStatus, "FACT_STATUS")
_UNKNOWN_REASONS = _enum_map(UnknownReason, pb.UnknownReason, "UNKNOWN_REASON")
_TRUTHS = _enum_map(Truth, pb.Truth, "TRUTH")
_OUTCOMES = _enum_map(DecisionOutcome, pb.DecisionOutcome, "DECISION_OUTCOME")
_CALL_OUTCOMES = _enum_map(CallOutcome, pb.CallOutcome, "CALL_OUTCOME")
_SHARING = _enum_map(SharingClass, pb.SharingClass, "SHARING_CLASS")
_VALUE_TYPES = _enum_map(ValueType, pb.ValueType, "VALUE_TYPE")
_PARAMETER_TYPES: dict[ParameterType, pb.ParameterType] = {
    "string": pb.PARAMETER_TYPE_STRING,
    "integer": pb.PARAMETER_TYPE_INTEGER,
    "boolean": pb.PARAMETER_TYPE_BOOLEAN,
}
_PARAMETER_TYPE_NAMES: dict[int, ParameterType] = {
    number: name for name, number in _PARAMETER_TYPES.items()
}


def _from_wire(mapping: dict[_E, _W], value: int, what: str) -> _E:
    for member, number in mapping.items():
        if number == value:
            return member
    raise ValueError(f"unrecognised {what} {value} (is the server newer than this client?)")


# ---- requests -------------------------------------------------------------------------


def application_from_proto(message: pb.VerifyRequest) -> Application:
    """The application a request carries; InvalidApplication naming every bad field."""
    violations: list[FieldViolation] = []
    data: dict[str, Any] = {
        "service_item": message.service_item,
        "subjects": [
            _subject_data(index, subject, violations)
            for index, subject in enumerate(message.subjects)
        ],
        "parameters": _parameters_data(message, violations),
    }
    for name in ("purpose", "legal_basis", "consent_reference", "case_number", "operator"):
        text = getattr(message, name)
        if text:  # proto3 has no absent strings: empty means "not given"
            data[name] = text
    if message.HasField("reference_date"):
        try:
            data["reference_date"] = date_from_proto(message.reference_date)
        except ValueError:
            violations.append(FieldViolation("reference_date", "not a valid calendar date"))
    try:
        application = parse_application(data)
    except InvalidApplication as exc:
        violations.extend(exc.violations)
    if violations:
        raise InvalidApplication(violations)
    return application


def _subject_data(
    index: int, subject: pb.Subject, violations: list[FieldViolation]
) -> dict[str, Any]:
    data: dict[str, Any] = {"role": subject.role, "id": subject.id}
    if subject.kind != pb.SUBJECT_KIND_UNSPECIFIED:
        try:
            data["kind"] = _from_wire(_SUBJECT_KINDS, subject.kind, "subject kind")
        except ValueError:
            violations.append(FieldViolation(f"subjects[{index}].kind", "unknown subject kind"))
    return data


def _parameters_data(
    message: pb.VerifyRequest, violations: list[FieldViolation]
) -> dict[str, str | int | bool]:
    parameters: dict[str, str | int | bool] = {}
    for name in sorted(message.parameters):
        value = message.parameters[name]
        which = value.WhichOneof("value")
        if which is None:
            violations.append(FieldViolation(f"parameters.{name}", "no value given"))
        else:
            parameters[name] = getattr(value, which)
    return parameters


def caller_from_proto(message: pb.Caller, *, authenticated_system: str | None) -> CallerIdentity:
    """The caller to record: the TLS-authenticated system if any, else the declared one."""
    try:
        return CallerIdentity(
            system=authenticated_system or message.system,
            department=message.department or None,
        )
    except ValidationError as exc:
        raise InvalidApplication(
            [
                FieldViolation(f"caller.{violation.field}", violation.description)
                for violation in violations_from(exc)
            ]
        ) from None


def verify_request_from_proto(
    message: pb.VerifyRequest, *, authenticated_system: str | None = None
) -> tuple[Application, CallerIdentity]:
    """Application and caller of one request, with the violations of both in one error."""
    violations: list[FieldViolation] = []
    application = caller = None
    try:
        application = application_from_proto(message)
    except InvalidApplication as exc:
        violations.extend(exc.violations)
    try:
        caller = caller_from_proto(message.caller, authenticated_system=authenticated_system)
    except InvalidApplication as exc:
        violations.extend(exc.violations)
    if application is None or caller is None:
        raise InvalidApplication(violations)
    return application, caller


def application_to_proto(
    application: Application, caller: CallerIdentity | None = None
) -> pb.VerifyRequest:
    """The request for an application (the inverse of ``verify_request_from_proto``)."""
    message = pb.VerifyRequest(
        service_item=application.service_item,
        subjects=[
            pb.Subject(role=subject.role, id=subject.id, kind=_SUBJECT_KINDS[subject.kind])
            for subject in application.subjects
        ],
        purpose=application.purpose or "",
        legal_basis=application.legal_basis or "",
        consent_reference=application.consent_reference or "",
        case_number=application.case_number or "",
        operator=application.operator or "",
    )
    for name, value in application.parameters.items():
        entry = message.parameters[name]
        if isinstance(value, bool):  # before int: a bool is an int in Python
            entry.bool_value = value
        elif isinstance(value, int):
            entry.int_value = value
        else:
            entry.string_value = value
    if application.reference_date is not None:
        message.reference_date.CopyFrom(date_to_proto(application.reference_date))
    if caller is not None:
        message.caller.system = caller.system
        message.caller.department = caller.department or ""
    return message


# ---- errors -----------------------------------------------------------------------------


def _violation_summary(error: InvalidApplication) -> str:
    summary = "; ".join(f"{v.field}: {v.description}" for v in error.violations)
    if len(summary) > _MAX_STATUS_MESSAGE:
        summary = summary[: _MAX_STATUS_MESSAGE - 1] + "…"
    return f"invalid request: {summary}"


def invalid_argument_status(error: InvalidApplication) -> grpc.Status:
    """INVALID_ARGUMENT with a google.rpc.BadRequest naming every offending field."""
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=violation.field, description=violation.description
            )
            for violation in error.violations
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT, message=_violation_summary(error), details=[detail]
    )
    return rpc_status.to_status(status)


def violations_from_error(error: grpc.aio.AioRpcError) -> list[FieldViolation]:
    """The field violations an INVALID_ARGUMENT carries (from its google.rpc.BadRequest)."""
    violations: list[FieldViolation] = []
    # grpc-stubs types this as grpc.Call's; on the asyncio side it is (key, value) pairs.
    metadata = cast(Iterable[tuple[str, str | bytes]], error.trailing_metadata() or ())
    for key, value in metadata:
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        for detail in status_pb2.Status.FromString(value).details:
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(bad_request):
                violations.extend(
                    FieldViolation(v.field, v.description) for v in bad_request.field_violations
                )
    return violations or [FieldViolation("request", error.details() or "invalid request")]


def batch_error_to_proto(
    code: grpc.StatusCode, message: str, error: InvalidApplication | None = None
) -> pb.VerifyBatchError:
    """The error result for one application of a batch, in google.rpc.Status's shape."""
    number: int = code.value[0]
    if error is None:
        return pb.VerifyBatchError(code=number, message=message)
    return pb.VerifyBatchError(
        code=number,
        message=_violation_summary(error),
        field_violations=[
            pb.FieldViolation(field=violation.field, description=violation.description)
            for violation in error.violations
        ],
    )


# ---- values -----------------------------------------------------------------------------


def date_to_proto(value: date) -> pb.Date:
    return pb.Date(year=value.year, month=value.month, day=value.day)


def date_from_proto(message: pb.Date) -> date:
    """ValueError for a date that does not exist (month 13, 30 February, all zero)."""
    return date(message.year, message.month, message.day)


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    # Timestamp.FromDatetime goes through time tuples; this is exact and several times faster
    # (every fact carries one, on every answer).
    delta = (value if value.tzinfo else value.replace(tzinfo=UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1_000
    )


def _datetime(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _duration(milliseconds: float) -> duration_pb2.Duration:
    seconds, nanos = divmod(round(milliseconds * 1_000_000), 1_000_000_000)
    return duration_pb2.Duration(seconds=seconds, nanos=nanos)


def _milliseconds(duration: duration_pb2.Duration) -> float:
    return (duration.seconds * 1_000_000_000 + duration.nanos) / 1_000_000


# ---- results ----------------------------------------------------------------------------


def result_to_proto(result: VerificationResult) -> pb.VerifyResponse:
    return pb.VerifyResponse(
        request_id=result.request_id,
        service_item=result.service_item,
        item_version=result.item_version,
        reference_date=date_to_proto(result.reference_date),
        facts=[_fact_to_proto(fact) for fact in result.facts],
        decision=_decision_to_proto(result.decision),
        documents_not_required=result.documents_not_required,
        department_calls=[
            pb.DepartmentCall(
                department=call.department,
                outcome=_CALL_OUTCOMES[call.outcome],
                duration=_duration(call.duration_ms),
                facts=call.facts,
            )
            for call in result.department_calls
        ],
        duration=_duration(result.duration_ms),
    )


def _fact_to_proto(fact: FactResult) -> pb.Fact:
    message = pb.Fact(
        name=fact.name,
        fact=fact.fact,
        subjects=fact.subjects,
        status=_FACT_STATUSES[fact.status],
        provenance=pb.Provenance(
            department=fact.provenance.department,
            retrieved_at=_timestamp(fact.provenance.retrieved_at),
            cached=fact.provenance.cached,
            stale=fact.provenance.stale,
            rule_version=fact.provenance.rule_version,
        ),
    )
    if fact.provenance.source_as_of is not None:
        message.provenance.source_as_of.CopyFrom(_timestamp(fact.provenance.source_as_of))
    if isinstance(fact.value, bool):  # before int: a bool is an int in Python
        message.bool_value = fact.value
    elif isinstance(fact.value, int):
        message.int_value = fact.value
    if fact.reason is not None:
        message.reason = _UNKNOWN_REASONS[fact.reason]
    return message


def _decision_to_proto(decision: Decision) -> pb.Decision:
    message = pb.Decision(
        outcome=_OUTCOMES[decision.outcome],
        explanation=[
            pb.ClauseExplanation(
                clause=clause.clause,
                label=clause.label,
                outcome=_TRUTHS[clause.outcome],
                facts=clause.facts,
                threshold=clause.threshold,
                depth=clause.depth,
            )
            for clause in decision.explanation
        ],
        score_components=[
            pb.ScoreComponent(
                component=component.component,
                label=component.label,
                points=component.points,
                facts=component.facts,
                basis=component.basis,
            )
            for component in decision.score_components
        ],
    )
    if decision.score is not None:
        message.score = decision.score
    return message


def result_from_proto(message: pb.VerifyResponse) -> VerificationResult:
    """The inverse of ``result_to_proto`` (ValueError for an enum this client does not know)."""
    return VerificationResult(
        request_id=message.request_id,
        service_item=message.service_item,
        item_version=message.item_version,
        reference_date=date_from_proto(message.reference_date),
        facts=tuple(_fact_from_proto(fact) for fact in message.facts),
        decision=_decision_from_proto(message.decision),
        documents_not_required=tuple(message.documents_not_required),
        department_calls=tuple(
            DepartmentCall(
                department=call.department,
                outcome=_from_wire(_CALL_OUTCOMES, call.outcome, "call outcome"),
                duration_ms=_milliseconds(call.duration),
                facts=tuple(call.facts),
            )
            for call in message.department_calls
        ),
        duration_ms=_milliseconds(message.duration),
    )


def _fact_from_proto(message: pb.Fact) -> FactResult:
    which = message.WhichOneof("value")
    provenance = message.provenance
    return FactResult(
        name=message.name,
        fact=message.fact,
        subjects=dict(message.subjects),
        status=_from_wire(_FACT_STATUSES, message.status, "fact status"),
        value=None if which is None else getattr(message, which),
        reason=(
            None
            if message.reason == pb.UNKNOWN_REASON_UNSPECIFIED
            else _from_wire(_UNKNOWN_REASONS, message.reason, "unknown reason")
        ),
        provenance=Provenance(
            department=provenance.department,
            source_as_of=(
                _datetime(provenance.source_as_of) if provenance.HasField("source_as_of") else None
            ),
            retrieved_at=_datetime(provenance.retrieved_at),
            cached=provenance.cached,
            stale=provenance.stale,
            rule_version=provenance.rule_version,
        ),
    )


def _decision_from_proto(message: pb.Decision) -> Decision:
    return Decision(
        outcome=_from_wire(_OUTCOMES, message.outcome, "decision outcome"),
        explanation=tuple(
            ClauseExplanation(
                clause=clause.clause,
                label=clause.label,
                outcome=_from_wire(_TRUTHS, clause.outcome, "clause outcome"),
                facts=tuple(clause.facts),
                threshold=clause.threshold if clause.HasField("threshold") else None,
                depth=clause.depth,
            )
            for clause in message.explanation
        ),
        score=message.score if message.HasField("score") else None,
        score_components=tuple(
            ScoreComponent(
                component=component.component,
                label=component.label,
                points=component.points if component.HasField("points") else None,
                facts=tuple(component.facts),
                basis=component.basis if component.HasField("basis") else None,
            )
            for component in message.score_components
        ),
    )


# ---- service items ----------------------------------------------------------------------


def description_to_proto(item: ServiceItemDescription) -> pb.ServiceItem:
    return pb.ServiceItem(
        id=item.id,
        version=item.version,
        title=item.title,
        title_zh=item.title_zh,
        description=item.description,
        policy_reference=item.policy_reference,
        effective_from=date_to_proto(item.effective_from),
        roles=[
            pb.Role(
                name=role.name,
                kind=_SUBJECT_KINDS[role.kind],
                required=role.required,
                description=role.description,
            )
            for role in item.roles
        ],
        parameters=[
            pb.Parameter(
                name=parameter.name,
                type=_PARAMETER_TYPES[parameter.type],
                required=parameter.required,
                pattern=parameter.pattern or "",
                description=parameter.description,
                minimum=parameter.minimum,
                maximum=parameter.maximum,
            )
            for parameter in item.parameters
        ],
        facts=[_required_fact_to_proto(fact) for fact in item.facts],
        documents_replaced=item.documents_replaced,
    )


def _required_fact_to_proto(fact: RequiredFactDescription) -> pb.RequiredFact:
    return pb.RequiredFact(
        name=fact.name,
        fact=fact.fact,
        department=fact.department,
        sharing=_SHARING[fact.sharing],
        value_type=_VALUE_TYPES[fact.value_type],
        subjects=fact.subjects,
        parameters={name: _source_to_proto(source) for name, source in fact.parameters.items()},
        replaces_document=fact.replaces_document or "",
    )


def _source_to_proto(source: FactParameterSource) -> pb.FactParameterBinding:
    if isinstance(source, ApplicationParameterRef):
        return pb.FactParameterBinding(application_parameter=source.param)
    if isinstance(source, PolicyParameterRef):
        return pb.FactParameterBinding(policy_parameter=source.parameter)
    if isinstance(source, str):
        return pb.FactParameterBinding(string_value=source)
    return pb.FactParameterBinding(int_value=source)


def description_from_proto(message: pb.ServiceItem) -> ServiceItemDescription:
    return ServiceItemDescription(
        id=message.id,
        version=message.version,
        title=message.title,
        title_zh=message.title_zh,
        description=message.description,
        policy_reference=message.policy_reference,
        effective_from=date_from_proto(message.effective_from),
        roles=tuple(
            RoleDescription(
                name=role.name,
                kind=_from_wire(_SUBJECT_KINDS, role.kind, "subject kind"),
                required=role.required,
                description=role.description,
            )
            for role in message.roles
        ),
        parameters=tuple(
            ParameterDescription(
                name=parameter.name,
                type=_parameter_type(parameter.type),
                required=parameter.required,
                pattern=parameter.pattern or None,
                minimum=parameter.minimum if parameter.HasField("minimum") else None,
                maximum=parameter.maximum if parameter.HasField("maximum") else None,
                description=parameter.description,
            )
            for parameter in message.parameters
        ),
        facts=tuple(_required_fact_from_proto(fact) for fact in message.facts),
        documents_replaced=tuple(message.documents_replaced),
    )


def _required_fact_from_proto(message: pb.RequiredFact) -> RequiredFactDescription:
    return RequiredFactDescription(
        name=message.name,
        fact=message.fact,
        department=message.department,
        sharing=_from_wire(_SHARING, message.sharing, "sharing class"),
        value_type=_from_wire(_VALUE_TYPES, message.value_type, "value type"),
        subjects=dict(message.subjects),
        parameters={name: _source_from_proto(value) for name, value in message.parameters.items()},
        replaces_document=message.replaces_document or None,
    )


def _parameter_type(number: int) -> ParameterType:
    try:
        return _PARAMETER_TYPE_NAMES[number]
    except KeyError:
        raise ValueError(f"unrecognised parameter type {number}") from None


def _source_from_proto(message: pb.FactParameterBinding) -> FactParameterSource:
    which = message.WhichOneof("source")
    if which == "application_parameter":
        return ApplicationParameterRef(param=message.application_parameter)
    if which == "policy_parameter":
        return PolicyParameterRef(parameter=message.policy_parameter)
    if which == "string_value":
        return message.string_value
    if which == "int_value":
        return message.int_value
    raise ValueError("a fact parameter binding has no source")
