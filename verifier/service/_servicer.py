"""The ``verifier.v1.VerificationService`` handlers: protobuf in, the engine, protobuf out.

Every exception is mapped here, so nothing foreign or internal reaches the caller:

    Unauthenticated (no proven, registered caller)  → UNAUTHENTICATED
    InvalidApplication (incl. UnknownServiceItem)  → INVALID_ARGUMENT + google.rpc.BadRequest
    AccessDenied (catalogue or caller rights)      → PERMISSION_DENIED + google.rpc.ErrorInfo
                                                     and one AccessRefusal per refusal
    AuditUnavailable                               → UNAVAILABLE (no audit, no answer)
    ShuttingDown (the server drains)               → UNAVAILABLE (retry, on another replica)
    Overloaded (admission control)                 → RESOURCE_EXHAUSTED + google.rpc.RetryInfo
    anything else                                  → INTERNAL with an error id; logged here
                                                     with its stack, never its message

A department failure is not among them: the engine answers with UNKNOWN facts instead.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeAlias

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status
from opentelemetry import context as otel_context

from verifier._errors import AccessDenied, AuditUnavailable, FieldViolation, InvalidApplication
from verifier.engine import Verifier
from verifier.model import Application, CallerIdentity
from verifier.model._plain import PlainResult
from verifier.service import _convert
from verifier.service._admission import AdmissionControl, Overloaded
from verifier.service._auth import (
    Authenticator,
    CallAuthentication,
    LoopbackAuthenticator,
    Unauthenticated,
)
from verifier.service._batch import BatchTooLarge, bounded_as_completed
from verifier.service._description import describe_service_item
from verifier.service._drain import Drain, ShuttingDown
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc
from verifier.service._unauthenticated import UnauthenticatedAttempts
from verifier.telemetry import extract_trace_context

logger = logging.getLogger("verifier.service")

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["VerificationService"].full_name


class Undecodable:
    """A request whose bytes did not parse as its message (e.g. a string that is not UTF-8)."""


UNDECODABLE = Undecodable()
_UNDECODABLE_VIOLATION = FieldViolation(
    "request", "not a valid message of this RPC's request type (malformed protobuf or text)"
)


def lenient_parser(message_type: type[Message]) -> Callable[[bytes], object]:
    """A request deserializer that answers ``UNDECODABLE`` instead of raising, so that the
    handler can refuse the request with INVALID_ARGUMENT (grpc would answer UNKNOWN)."""

    def parse(raw: bytes) -> object:
        try:
            return message_type.FromString(raw)
        except DecodeError:
            return UNDECODABLE

    return parse


_Context: TypeAlias = "grpc.aio.ServicerContext[object, object]"


@dataclass(frozen=True, slots=True)
class _Failure:
    """What a caller may learn about a failed verification."""

    code: grpc.StatusCode
    message: str
    invalid: InvalidApplication | None = None
    denied: AccessDenied | None = None
    status: grpc.Status | None = None
    """The full status (with details) a unary call ends with, when there is more than a code."""


def _failure(error: Exception, method: str) -> _Failure:
    if isinstance(error, Unauthenticated):
        return _Failure(grpc.StatusCode.UNAUTHENTICATED, f"unauthenticated: {error}")
    if isinstance(error, InvalidApplication):
        return _Failure(grpc.StatusCode.INVALID_ARGUMENT, str(error), error)
    if isinstance(error, AccessDenied):
        return _Failure(
            grpc.StatusCode.PERMISSION_DENIED,
            str(error),
            denied=error,
            status=_convert.permission_denied_status(error),
        )
    if isinstance(error, AuditUnavailable):
        return _Failure(
            grpc.StatusCode.UNAVAILABLE,
            "the audit record could not be written, so no answer was given; retry later",
        )
    if isinstance(error, ShuttingDown):
        return _Failure(
            grpc.StatusCode.UNAVAILABLE,
            "the server is shutting down; retry (another replica will answer)",
        )
    if isinstance(error, Overloaded):
        message = (
            "server overloaded: too many verifications in progress; "
            f"retry after {round(error.retry_after * 1000)} ms"
        )
        return _Failure(
            grpc.StatusCode.RESOURCE_EXHAUSTED, message, status=_overloaded_status(error, message)
        )
    error_id = uuid.uuid4().hex
    # The stack and the type, never the message: it could quote an application's IDs.
    stack = "".join(traceback.format_tb(error.__traceback__))
    logger.error(
        "%s failed with %s (error id %s)\n%s", method, type(error).__name__, error_id, stack
    )
    return _Failure(grpc.StatusCode.INTERNAL, f"internal error (error id {error_id})")


def _overloaded_status(error: Overloaded, message: str) -> grpc.Status:
    """RESOURCE_EXHAUSTED with a google.rpc.RetryInfo saying when to try again."""
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(round(error.retry_after * 1000))
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=[detail])
    return rpc_status.to_status(status)


class _StatusOnError:
    """Ends a unary call whose handler raised with the status ``_failure`` maps it to."""

    def __init__(self, context: _Context, method: str) -> None:
        self._context = context
        self._method = method

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not isinstance(error, Exception) or isinstance(error, grpc.aio.AbortError):
            return  # success, cancellation, or a status the handler chose itself
        failure = _failure(error, self._method)
        status = failure.status
        if failure.invalid is not None:
            status = _convert.invalid_argument_status(failure.invalid)
        if status is not None:
            # grpc-stubs does not declare abort_with_status on the asyncio context yet.
            await self._context.abort_with_status(status)  # type: ignore[attr-defined]
        await self._context.abort(failure.code, failure.message)


def _batch_error(failure: _Failure) -> pb.VerifyBatchError:
    invalid = failure.invalid
    if invalid is not None:
        # Name fields by their path in VerifyBatchRequest, whose `request` is the application.
        invalid = InvalidApplication(
            [FieldViolation(f"request.{v.field}", v.description) for v in invalid.violations]
        )
    refusals = () if failure.denied is None else failure.denied.refusals
    return _convert.batch_error_to_proto(
        failure.code,
        failure.message,
        invalid,
        refusals=[_convert.refusal_to_proto(refusal) for refusal in refusals],
    )


_MISSING_CLIENT_ID = _convert.batch_error_to_proto(
    grpc.StatusCode.INVALID_ARGUMENT,
    "",
    InvalidApplication(
        [FieldViolation("client_id", "required: each result names its application by it")]
    ),
)


class VerificationServicer(pb_grpc.VerificationServiceServicer):
    def __init__(
        self,
        verifier: Verifier,
        *,
        batch_in_flight: int,
        admission: AdmissionControl | None = None,
        authenticator: Authenticator | None = None,
        drain: Drain | None = None,
    ) -> None:
        """``admission``: bounds the verifications running at once (default: unbounded).
        ``authenticator``: identifies each call's system (default: development mode, the
        request's caller from loopback peers). Refused calls are counted into the audit
        log (``unauthenticated``; written per minute, and by ``aclose``). ``drain``: the
        server's, which shutdown drains (default: one of its own)."""
        self._verifier = verifier
        self._drain = drain or Drain()
        self._authenticator = authenticator or LoopbackAuthenticator()
        self.unauthenticated = UnauthenticatedAttempts(verifier.audit, verifier.pseudonymiser)
        self._batch_in_flight = batch_in_flight
        self._admission = admission
        # Items are fixed for the verifier's life: describe them once, at start-up.
        self._items = {
            item.id: _convert.description_to_proto(describe_service_item(item, verifier.catalogue))
            for item in verifier.items
        }
        self._listing = pb.ListServiceItemsResponse(
            service_items=[self._items[name] for name in sorted(self._items)]
        )

    def _authenticate(self, context: _Context) -> CallAuthentication:
        try:
            return self._authenticator.authenticate(context)
        except Unauthenticated as error:
            self.unauthenticated.note(context.peer(), error.reason)
            raise

    async def _verify(
        self, request: pb.VerifyRequest, context: _Context, call: CallAuthentication
    ) -> pb.VerifyResponse:
        application, declared = _convert.verify_request_from_proto(request, proven=call.caller)
        try:
            caller = call.admit(declared)
        except Unauthenticated as error:
            self._authenticator.refused(context, error)
            self.unauthenticated.note(context.peer(), error.reason, declared.system)
            raise
        # A service hall's trace continues into ours (W3C traceparent / tracestate). The
        # context only parents our spans: it identifies no one and authorises nothing.
        token = otel_context.attach(extract_trace_context(context.invocation_metadata()))
        try:
            result = await self._drain.run(lambda: self._admitted(application, caller, context))
        finally:
            otel_context.detach(token)
        return _convert.result_to_proto(result)

    async def _admitted(
        self, application: Application, caller: CallerIdentity, context: _Context
    ) -> PlainResult:
        if self._admission is None:
            return await self._verifier.decide(
                application, caller=caller, timeout=context.time_remaining()
            )
        async with self._admission.slot(context.time_remaining()):
            # The deadline is read again: waiting for the slot spent part of it.
            return await self._verifier.decide(
                application, caller=caller, timeout=context.time_remaining()
            )

    async def Verify(  # noqa: N802 - the generated servicer's name
        self, request: pb.VerifyRequest | Undecodable, context: _Context
    ) -> pb.VerifyResponse:
        async with _StatusOnError(context, "Verify"):
            # Who is asking comes first: an unknown caller learns nothing, not even whether
            # its request was well formed.
            call = self._authenticate(context)
            if isinstance(request, Undecodable):
                raise InvalidApplication([_UNDECODABLE_VIOLATION])
            return await self._verify(request, context, call)

    async def VerifyBatch(  # noqa: N802 - the generated servicer's name
        self,
        request_iterator: AsyncIterator[pb.VerifyBatchRequest | Undecodable],
        context: _Context,
    ) -> AsyncIterator[pb.VerifyBatchResponse]:
        try:
            call = self._authenticate(context)
        except Unauthenticated as error:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"unauthenticated: {error}")

        async def verify_one(item: pb.VerifyBatchRequest | Undecodable) -> pb.VerifyBatchResponse:
            if isinstance(item, Undecodable):  # no client_id can be read from it
                failure = _failure(InvalidApplication([_UNDECODABLE_VIOLATION]), "VerifyBatch")
                return pb.VerifyBatchResponse(error=_batch_error(failure))
            if not item.client_id:
                return pb.VerifyBatchResponse(error=_MISSING_CLIENT_ID)
            try:
                result = await self._verify(item.request, context, call)
            except Exception as error:
                failure = _failure(error, "VerifyBatch")
                return pb.VerifyBatchResponse(client_id=item.client_id, error=_batch_error(failure))
            return pb.VerifyBatchResponse(client_id=item.client_id, result=result)

        try:
            async for response in bounded_as_completed(
                request_iterator, verify_one, limit=self._batch_in_flight
            ):
                yield response
        except BatchTooLarge as error:
            # Every result before the limit has been sent; the rest reached no department.
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))

    async def ListServiceItems(  # noqa: N802 - the generated servicer's name
        self, request: pb.ListServiceItemsRequest | Undecodable, context: _Context
    ) -> pb.ListServiceItemsResponse:
        async with _StatusOnError(context, "ListServiceItems"):
            self._authenticate(context)
            if isinstance(request, Undecodable):
                raise InvalidApplication([_UNDECODABLE_VIOLATION])
        return self._listing

    async def DescribeServiceItem(  # noqa: N802 - the generated servicer's name
        self, request: pb.DescribeServiceItemRequest | Undecodable, context: _Context
    ) -> pb.DescribeServiceItemResponse:
        async with _StatusOnError(context, "DescribeServiceItem"):
            self._authenticate(context)
            if isinstance(request, Undecodable):
                raise InvalidApplication([_UNDECODABLE_VIOLATION])
            item = self._items.get(request.service_item)
            if item is None:
                await context.abort(
                    grpc.StatusCode.NOT_FOUND, "no service item with that id (see ListServiceItems)"
                )
            return pb.DescribeServiceItemResponse(service_item=item)
