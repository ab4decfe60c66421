"""An asyncio client for Python callers (the CLI, the demo): the library's models both ways.

Errors come back as the library's own, as if the verifier were local: INVALID_ARGUMENT
raises ``InvalidApplication`` with the server's field violations, PERMISSION_DENIED raises
``AccessDenied`` with the server's refusals, NOT_FOUND from ``describe_item`` raises
``UnknownServiceItem``. Anything else (UNAUTHENTICATED included) is ``grpc.aio.AioRpcError``.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import grpc

from verifier._errors import AccessDenied, InvalidApplication, UnknownServiceItem
from verifier.model import Application, CallerIdentity, VerificationResult
from verifier.service import _convert
from verifier.service._description import ServiceItemDescription
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc


def client_credentials(
    ca: Path, certificate: Path | None = None, key: Path | None = None
) -> grpc.ChannelCredentials:
    """TLS to a verifier whose certificate chains to ``ca``, presenting ``certificate`` and
    ``key`` (PEM files) as the calling system's identity for mutual TLS."""
    if (certificate is None) != (key is None):
        raise ValueError("give both the client certificate and its key, or neither")
    return grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=key.read_bytes() if key is not None else None,
        certificate_chain=certificate.read_bytes() if certificate is not None else None,
    )


class VerifierClient:
    """Calls a VerificationService over ``channel`` on behalf of ``caller``.

    ``async with VerifierClient.connect("host:port", caller=…) as client:`` owns its channel;
    a client built on a channel you pass leaves closing it to you.
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        caller: CallerIdentity,
        token: str | None = None,
    ) -> None:
        """``caller``: who the requests say is calling; a server in mTLS or token mode
        ignores it for the identity its transport proves. ``token``: a development bearer
        token sent on every call (token mode; on a plaintext channel, loopback only)."""
        self._channel = channel
        self._stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
        self.caller = caller
        self._metadata = () if token is None else (("authorization", f"Bearer {token}"),)
        self._owns_channel = False

    @classmethod
    def connect(
        cls,
        address: str,
        *,
        caller: CallerIdentity,
        credentials: grpc.ChannelCredentials | None = None,
        server_name: str | None = None,
        token: str | None = None,
    ) -> VerifierClient:
        """A client on a new channel to ``address``, closed with the client: TLS with
        ``credentials`` (see ``client_credentials``), else plaintext. ``server_name``: the
        name to check the server's certificate against, if not the address's host."""
        if credentials is None:
            channel = grpc.aio.insecure_channel(address)
        else:
            options = (
                [] if server_name is None else [("grpc.ssl_target_name_override", server_name)]
            )
            channel = grpc.aio.secure_channel(address, credentials, options=options)
        client = cls(channel, caller=caller, token=token)
        client._owns_channel = True
        return client

    async def close(self) -> None:
        if self._owns_channel:
            await self._channel.close(grace=None)

    async def __aenter__(self) -> VerifierClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def verify(
        self, application: Application, *, timeout: float | None = None
    ) -> VerificationResult:
        """Verify one application; ``timeout`` (seconds) becomes the call's deadline."""
        request = _convert.application_to_proto(application, self.caller)
        try:
            response: pb.VerifyResponse = await self._stub.Verify(
                request, timeout=timeout, metadata=self._metadata
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidApplication(_convert.violations_from_error(error)) from None
            refusals = _convert.refusals_from_error(error)
            if error.code() is grpc.StatusCode.PERMISSION_DENIED and refusals:
                raise AccessDenied(refusals) from None
            raise
        return _convert.result_from_proto(response)

    async def list_items(self, *, timeout: float | None = None) -> list[ServiceItemDescription]:
        """Every service item the server verifies, sorted by id."""
        response: pb.ListServiceItemsResponse = await self._stub.ListServiceItems(
            pb.ListServiceItemsRequest(), timeout=timeout, metadata=self._metadata
        )
        return [_convert.description_from_proto(item) for item in response.service_items]

    async def describe_item(
        self, item_id: str, *, timeout: float | None = None
    ) -> ServiceItemDescription:
        try:
            response: pb.DescribeServiceItemResponse = await self._stub.DescribeServiceItem(
                pb.DescribeServiceItemRequest(service_item=item_id),
                timeout=timeout,
                metadata=self._metadata,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise UnknownServiceItem(item_id) from None
            raise
        return _convert.description_from_proto(response.service_item)
