"""Wire-level pieces shared by the converters: enum maps, dates, timestamps, durations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TypeVar, cast

import grpc
from google.protobuf import any_pb2, duration_pb2, timestamp_pb2
from google.rpc import status_pb2  # type: ignore[import-untyped]

from verifier.catalogue import SharingClass
from verifier.model import (
    CallOutcome,
    DecisionOutcome,
    FactStatus,
    SubjectKind,
    Truth,
    UnknownReason,
    ValueType,
)
from verifier.service._description import (
    ParameterType,
)
from verifier.service._generated.v1 import verification_pb2 as pb

_E = TypeVar("_E", bound=StrEnum)
_W = TypeVar("_W", bound=int)

MAX_STATUS_MESSAGE = 1000
"""Characters of violation summary in the status message; the details name more."""
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_details(error: grpc.aio.AioRpcError) -> list[any_pb2.Any]:
    """The google.rpc.Status details an error carries in its trailing metadata."""
    details: list[any_pb2.Any] = []
    # grpc-stubs types this as grpc.Call's; on the asyncio side it is (key, value) pairs.
    metadata = cast(Iterable[tuple[str, str | bytes]], error.trailing_metadata() or ())
    for key, value in metadata:
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            details.extend(status_pb2.Status.FromString(value).details)
    return details


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def enum_map(model: type[_E], wire: type[_W], prefix: str) -> dict[_E, _W]:
    # Wire names are the model's member names behind the enum's prefix (buf's style); a
    # member with no wire counterpart fails here, at import, not on some rare answer.
    return {member: getattr(wire, f"{prefix}_{member.name}") for member in model}


SUBJECT_KINDS = enum_map(SubjectKind, pb.SubjectKind, "SUBJECT_KIND")
FACT_STATUSES = enum_map(FactStatus, pb.FactStatus, "FACT_STATUS")
UNKNOWN_REASONS = enum_map(UnknownReason, pb.UnknownReason, "UNKNOWN_REASON")
TRUTHS = enum_map(Truth, pb.Truth, "TRUTH")
OUTCOMES = enum_map(DecisionOutcome, pb.DecisionOutcome, "DECISION_OUTCOME")
CALL_OUTCOMES = enum_map(CallOutcome, pb.CallOutcome, "CALL_OUTCOME")
SHARING = enum_map(SharingClass, pb.SharingClass, "SHARING_CLASS")
VALUE_TYPES = enum_map(ValueType, pb.ValueType, "VALUE_TYPE")
PARAMETER_TYPES: dict[ParameterType, pb.ParameterType] = {
    "string": pb.PARAMETER_TYPE_STRING,
    "integer": pb.PARAMETER_TYPE_INTEGER,
    "boolean": pb.PARAMETER_TYPE_BOOLEAN,
}
PARAMETER_TYPE_NAMES: dict[int, ParameterType] = {
    number: name for name, number in PARAMETER_TYPES.items()
}


def from_wire(mapping: dict[_E, _W], value: int, what: str) -> _E:
    for member, number in mapping.items():
        if number == value:
            return member
    raise ValueError(f"unrecognised {what} {value} (is the server newer than this client?)")


# ---- requests -------------------------------------------------------------------------


def date_to_proto(value: date) -> pb.Date:
    return pb.Date(year=value.year, month=value.month, day=value.day)


def date_from_proto(message: pb.Date) -> date:
    """ValueError for a date that does not exist (month 13, 30 February, all zero)."""
    return date(message.year, message.month, message.day)


def timestamp_to_proto(value: datetime) -> timestamp_pb2.Timestamp:
    # Timestamp.FromDatetime goes through time tuples; this is exact and several times faster
    # (every fact carries one, on every answer).
    delta = (value if value.tzinfo else value.replace(tzinfo=UTC)) - EPOCH
    return timestamp_pb2.Timestamp(
        seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1_000
    )


def datetime_from_proto(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def duration_to_proto(milliseconds: float) -> duration_pb2.Duration:
    seconds, nanos = divmod(round(milliseconds * 1_000_000), 1_000_000_000)
    return duration_pb2.Duration(seconds=seconds, nanos=nanos)


def milliseconds_from_proto(duration: duration_pb2.Duration) -> float:
    return (duration.seconds * 1_000_000_000 + duration.nanos) / 1_000_000


# ---- results ----------------------------------------------------------------------------
