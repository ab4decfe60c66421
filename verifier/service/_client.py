"""An asyncio client for Python callers (the CLI, the demo): the library's models both ways.

Errors come back as the library's own, as if the verifier were local: INVALID_ARGUMENT
raises ``InvalidApplication`` with the server's field violations, NOT_FOUND from
``describe_item`` raises ``UnknownServiceItem``. Anything else is ``grpc.aio.AioRpcError``.
"""

from __future__ import annotations

from types import TracebackType

import grpc

from verifier._errors import InvalidApplication, UnknownServiceItem
from verifier.model import Application, CallerIdentity, VerificationResult
from verifier.service import _convert
from verifier.service._description import ServiceItemDescription
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc


class VerifierClient:
    """Calls a VerificationService over ``channel`` on behalf of ``caller``.

    ``async with VerifierClient.connect("host:port", caller=…) as client:`` owns its channel;
    a client built on a channel you pass leaves closing it to you.
    """

    def __init__(self, channel: grpc.aio.Channel, *, caller: CallerIdentity) -> None:
        self._channel = channel
        self._stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
        self.caller = caller
        self._owns_channel = False

    @classmethod
    def connect(cls, address: str, *, caller: CallerIdentity) -> VerifierClient:
        """A client on a new plaintext channel to ``address``, closed with the client."""
        client = cls(grpc.aio.insecure_channel(address), caller=caller)
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
            response: pb.VerifyResponse = await self._stub.Verify(request, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidApplication(_convert.violations_from_error(error)) from None
            raise
        return _convert.result_from_proto(response)

    async def list_items(self, *, timeout: float | None = None) -> list[ServiceItemDescription]:
        """Every service item the server verifies, sorted by id."""
        response: pb.ListServiceItemsResponse = await self._stub.ListServiceItems(
            pb.ListServiceItemsRequest(), timeout=timeout
        )
        return [_convert.description_from_proto(item) for item in response.service_items]

    async def describe_item(
        self, item_id: str, *, timeout: float | None = None
    ) -> ServiceItemDescription:
        try:
            response: pb.DescribeServiceItemResponse = await self._stub.DescribeServiceItem(
                pb.DescribeServiceItemRequest(service_item=item_id), timeout=timeout
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                raise UnknownServiceItem(item_id) from None
            raise
        return _convert.description_from_proto(response.service_item)
