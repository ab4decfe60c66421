"""PERMISSION_DENIED both ways: the library's ``AccessDenied`` as a google.rpc.Status (an
ErrorInfo for the first refusal, then one ``AccessRefusal`` per refusal) and back."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from verifier._errors import AccessDenied, Refusal
from verifier.catalogue import SharingClass
from verifier.service._convert._wire import SHARING, from_wire, status_details
from verifier.service._generated.v1 import verification_pb2 as pb

ERROR_DOMAIN = "onestop-verifier"


def refusal_to_proto(refusal: Refusal) -> pb.AccessRefusal:
    return pb.AccessRefusal(
        rule=refusal.rule,
        fact=refusal.fact or "",
        catalogue_fact=refusal.catalogue_fact or "",
        department=refusal.department or "",
        sharing=(
            SHARING[SharingClass(refusal.sharing)]
            if refusal.sharing
            else pb.SHARING_CLASS_UNSPECIFIED
        ),
        description=refusal.description,
    )


def refusal_from_proto(message: pb.AccessRefusal) -> Refusal:
    sharing = None
    if message.sharing:
        sharing = from_wire(SHARING, message.sharing, "sharing class").value
    return Refusal(
        rule=message.rule,
        description=message.description,
        fact=message.fact or None,
        catalogue_fact=message.catalogue_fact or None,
        department=message.department or None,
        sharing=sharing,
    )


def permission_denied_status(error: AccessDenied) -> grpc.Status:
    """PERMISSION_DENIED naming each refused fact and rule."""
    first = error.refusals[0]
    metadata = {
        key: value
        for key, value in (
            ("fact", first.fact),
            ("catalogue_fact", first.catalogue_fact),
            ("department", first.department),
            ("sharing", first.sharing),
        )
        if value
    }
    info = any_pb2.Any()
    info.Pack(
        error_details_pb2.ErrorInfo(
            reason=first.rule.upper(), domain=ERROR_DOMAIN, metadata=metadata
        )
    )
    details = [info]
    for refusal in error.refusals:
        detail = any_pb2.Any()
        detail.Pack(refusal_to_proto(refusal))
        details.append(detail)
    status = status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=str(error), details=details)
    return rpc_status.to_status(status)


def refusals_from_error(error: grpc.aio.AioRpcError) -> list[Refusal]:
    """The refusals a PERMISSION_DENIED carries (empty if it carries none of ours)."""
    refusals: list[Refusal] = []
    for detail in status_details(error):
        refusal = pb.AccessRefusal()
        if detail.Unpack(refusal):
            refusals.append(refusal_from_proto(refusal))
    return refusals
