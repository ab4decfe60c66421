"""Requests and errors: a VerifyRequest becomes an Application (or field violations)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, unknown_fields
from google.protobuf import message as pb_message
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status
from pydantic import ValidationError

from verifier._errors import FieldViolation, InvalidApplication, bounded_violations
from verifier.model import (
    Application,
    CallerIdentity,
    parse_application,
    violations_from,
)
from verifier.model._application import MAX_PARAMETERS, MAX_SUBJECTS, too_many
from verifier.service._convert._wire import (
    MAX_STATUS_MESSAGE,
    SUBJECT_KINDS,
    date_from_proto,
    date_to_proto,
    from_wire,
    status_details,
)
from verifier.service._generated.v1 import verification_pb2 as pb


def application_from_proto(message: pb.VerifyRequest) -> Application:
    """The application a request carries; InvalidApplication naming every bad field."""
    violations: list[FieldViolation] = []
    # A repeated field over its limit is refused by its count, and only the entries within
    # the limit are read: a request under the size limit can hold thousands of them.
    subjects = message.subjects[:MAX_SUBJECTS]
    if len(message.subjects) > MAX_SUBJECTS:
        violations.append(too_many("subjects", MAX_SUBJECTS, len(message.subjects)))
    data: dict[str, Any] = {
        "service_item": message.service_item,
        "subjects": [
            _subject_data(index, subject, violations) for index, subject in enumerate(subjects)
        ],
        "parameters": _parameters_data(message, violations),
    }
    for name in ("purpose", "legal_basis", "consent_reference", "case_number", "operator"):
        text = getattr(message, name)
        if text:  # proto3 has no absent strings: empty means "not given"
            data[name] = text
    _check_unknown_fields(message, "application", violations)
    for index, subject in enumerate(subjects):
        _check_unknown_fields(subject, f"subjects[{index}]", violations)
    if message.HasField("reference_date"):
        _check_unknown_fields(message.reference_date, "reference_date", violations)
        try:
            data["reference_date"] = date_from_proto(message.reference_date)
        except ValueError:
            violations.append(FieldViolation("reference_date", "not a valid calendar date"))
    try:
        application = parse_application(data)
    except InvalidApplication as exc:
        violations.extend(exc.violations)
    if violations:
        raise InvalidApplication(bounded_violations(violations))
    return application


def _check_unknown_fields(
    message: pb_message.Message, path: str, violations: list[FieldViolation]
) -> None:
    """Refuse fields this API does not define: protobuf keeps them quietly, and a field
    the caller thinks is honoured (a newer client's, a typo in a hand-built message)
    must not be silently ignored. Numbers only: an unknown field's value is never read."""
    found = unknown_fields.UnknownFieldSet(message)
    numbers = sorted({found[index].field_number for index in range(len(found))})
    if numbers:
        # A few numbers name the problem; thousands would only make the error big.
        listed = ", ".join(str(number) for number in numbers[:_LISTED_UNKNOWN_FIELDS])
        if len(numbers) > _LISTED_UNKNOWN_FIELDS:
            listed += f" and {len(numbers) - _LISTED_UNKNOWN_FIELDS:,} more"
        violations.append(FieldViolation(path, f"unknown field number(s) {listed}"))


_LISTED_UNKNOWN_FIELDS = 5


def _subject_data(
    index: int, subject: pb.Subject, violations: list[FieldViolation]
) -> dict[str, Any]:
    data: dict[str, Any] = {"role": subject.role, "id": subject.id}
    if subject.kind != pb.SUBJECT_KIND_UNSPECIFIED:
        try:
            data["kind"] = from_wire(SUBJECT_KINDS, subject.kind, "subject kind")
        except ValueError:
            violations.append(FieldViolation(f"subjects[{index}].kind", "unknown subject kind"))
    return data


_PARAMETER_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_BAD_PARAMETER_NAME = "a parameter name is not a lower-case identifier (a-z, 0-9, _; at most 64)"


def _parameters_data(
    message: pb.VerifyRequest, violations: list[FieldViolation]
) -> dict[str, str | int | bool]:
    parameters: dict[str, str | int | bool] = {}
    if len(message.parameters) > MAX_PARAMETERS:
        violations.append(too_many("parameters", MAX_PARAMETERS, len(message.parameters)))
        return parameters
    names = sorted(message.parameters)
    if any(_PARAMETER_NAME.fullmatch(name) is None for name in names):
        # A map key is input: it could be an ID number or hold a line break, so it never
        # goes into a field path (as ``parameters.<name>``) or a message.
        violations.append(FieldViolation("parameters", _BAD_PARAMETER_NAME))
    for name in names:
        if _PARAMETER_NAME.fullmatch(name) is None:
            continue
        value = message.parameters[name]
        _check_unknown_fields(value, f"parameters.{name}", violations)
        which = value.WhichOneof("value")
        if which is None:
            violations.append(FieldViolation(f"parameters.{name}", "no value given"))
        else:
            parameters[name] = getattr(value, which)
    return parameters


def caller_from_proto(message: pb.Caller) -> CallerIdentity:
    """The caller the request declares (taken at its word only in development mode)."""
    violations: list[FieldViolation] = []
    _check_unknown_fields(message, "caller", violations)
    try:
        caller = CallerIdentity(system=message.system, department=message.department or None)
    except ValidationError as exc:
        violations.extend(
            FieldViolation(f"caller.{violation.field}", violation.description)
            for violation in violations_from(exc)
        )
    if violations:
        raise InvalidApplication(violations)
    return caller


def verify_request_from_proto(
    message: pb.VerifyRequest, *, proven: CallerIdentity | None = None
) -> tuple[Application, CallerIdentity]:
    """Application and caller of one request, with the violations of both in one error.

    ``proven``: the caller the transport authenticated (mutual TLS, a token). It is final:
    the request's own ``caller`` message is then not read at all, so it can neither
    override the identity nor fail the request.
    """
    violations: list[FieldViolation] = []
    application = None
    caller = proven
    try:
        application = application_from_proto(message)
    except InvalidApplication as exc:
        violations.extend(exc.violations)
    if proven is None:
        try:
            caller = caller_from_proto(message.caller)
        except InvalidApplication as exc:
            violations.extend(exc.violations)
    if application is None or caller is None:
        raise InvalidApplication(bounded_violations(violations))
    return application, caller


def application_to_proto(
    application: Application, caller: CallerIdentity | None = None
) -> pb.VerifyRequest:
    """The request for an application (the inverse of ``verify_request_from_proto``)."""
    message = pb.VerifyRequest(
        service_item=application.service_item,
        subjects=[
            pb.Subject(role=subject.role, id=subject.id, kind=SUBJECT_KINDS[subject.kind])
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
    if len(summary) > MAX_STATUS_MESSAGE:
        summary = summary[: MAX_STATUS_MESSAGE - 1] + "…"
    return f"invalid request: {summary}"


def invalid_argument_status(error: InvalidApplication) -> grpc.Status:
    """INVALID_ARGUMENT with a google.rpc.BadRequest naming the offending fields.

    The status travels in a trailer, which clients cap (grpc's ``max_metadata_size``,
    8 KiB by default): if naming every field would make it larger than
    ``MAX_STATUS_DETAILS_BYTES``, the first ones are named and the rest counted.
    """
    message = _violation_summary(error)
    violations = list(error.violations)
    for named in range(len(violations), -1, -1):
        status = _invalid_argument(message, bounded_violations(violations, limit=named))
        if status.ByteSize() <= MAX_STATUS_DETAILS_BYTES:
            break
    return rpc_status.to_status(status)


MAX_STATUS_DETAILS_BYTES = 4096
"""The serialized google.rpc.Status of an INVALID_ARGUMENT at most: base64 in the
``grpc-status-details-bin`` trailer it is 5.4 KiB, which with the status message stays
within a client's 8 KiB metadata limit."""


def _invalid_argument(message: str, violations: Sequence[FieldViolation]) -> status_pb2.Status:
    bad_request = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field=violation.field, description=violation.description
            )
            for violation in violations
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(bad_request)
    return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])


def violations_from_error(error: grpc.aio.AioRpcError) -> list[FieldViolation]:
    """The field violations an INVALID_ARGUMENT carries (from its google.rpc.BadRequest)."""
    violations: list[FieldViolation] = []
    for detail in status_details(error):
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations.extend(
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            )
    return violations or [FieldViolation("request", error.details() or "invalid request")]


def batch_error_to_proto(
    code: grpc.StatusCode,
    message: str,
    error: InvalidApplication | None = None,
    refusals: Sequence[pb.AccessRefusal] = (),
) -> pb.VerifyBatchError:
    """The error result for one application of a batch, in google.rpc.Status's shape."""
    number: int = code.value[0]
    if error is None:
        return pb.VerifyBatchError(code=number, message=message, refusals=refusals)
    return pb.VerifyBatchError(
        code=number,
        message=_violation_summary(error),
        field_violations=[
            pb.FieldViolation(field=violation.field, description=violation.description)
            for violation in error.violations
        ],
    )


# ---- values -----------------------------------------------------------------------------
