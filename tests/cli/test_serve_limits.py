"""``verifier serve`` and the library's server have one set of limits (``ServerOptions``).

Before, the configuration kept its own defaults: ``verifier serve`` accepted 1 MiB requests
and 512 concurrent RPCs while the library's server took 64 KiB and 1024.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from support import MakeVerifier
from test_cli import verifier_serve

from adapters.demo_city import DemoCityManifest
from verifier.config import ServerConfig
from verifier.service import ServerOptions, create_server, graceful_shutdown, mark_serving
from verifier.service._generated.v1 import verification_pb2 as pb

VERIFY = "/verifier.v1.VerificationService/Verify"


def test_the_configurations_server_defaults_are_the_librarys() -> None:
    options = ServerOptions()
    config = ServerConfig()
    assert {name: getattr(config, name) for name in ServerOptions.model_fields} == dict(options)


@pytest.fixture
def cli_server(demo_city: DemoCityManifest) -> Iterator[str]:
    """``verifier serve`` on the embedded default, as a process; its address."""
    with verifier_serve("--port", "0", "--data-dir", str(demo_city.data_dir)) as (address, _):
        yield address


async def refusal_of(address: str, size: int) -> grpc.StatusCode:
    """The code a Verify of about ``size`` bytes gets (its purpose is too long: never OK)."""
    body = pb.VerifyRequest(service_item="school_place", purpose="p" * size).SerializeToString()
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await channel.unary_unary(VERIFY)(body, timeout=30)
    return raised.value.code()


async def test_verifier_serve_has_the_librarys_request_size_limit(
    cli_server: str, make_test_verifier: MakeVerifier
) -> None:
    verifier = make_test_verifier()
    server, port = await create_server(verifier)
    await server.start()
    await verifier.start()
    await mark_serving(server)
    try:
        limit = ServerOptions().max_message_bytes
        library = f"127.0.0.1:{port}"
        for address in (library, cli_server):
            assert await refusal_of(address, 100 * 1024) is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert await refusal_of(address, limit - 1024) is grpc.StatusCode.INVALID_ARGUMENT
    finally:
        await graceful_shutdown(server, verifier, grace=0)
