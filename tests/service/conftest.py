"""Fixtures for the gRPC tests: real grpc.aio servers on port 0 over mock departments."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
from service_support import Served, StartServer
from support import MakeVerifier

from verifier.adapter import DepartmentAdapter
from verifier.engine import ResiliencePolicy
from verifier.service import ServerOptions, create_server, mark_serving
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc


@pytest.fixture
async def start_server(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> AsyncIterator[StartServer]:
    """Start a server (verifier started, health SERVING); every one is shut down afterwards.
    Keyword arguments beyond the verifier's are ``ServerOptions`` fields."""
    started: list[Served] = []
    numbers = itertools.count()

    async def start(
        adapters: Mapping[str, DepartmentAdapter] | None = None,
        *,
        verifier_timeout: float = 2.0,
        resilience: ResiliencePolicy | None = None,
        **options: Any,
    ) -> Served:
        verifier = make_test_verifier(
            adapters,
            tmp_path / f"audit-{next(numbers)}",
            timeout=verifier_timeout,
            resilience=resilience,
        )
        server, port = await create_server(verifier, options=ServerOptions(**options))
        await server.start()
        await verifier.start()
        await mark_serving(server)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        served = Served(server, port, verifier, channel, pb_grpc.VerificationServiceStub(channel))
        started.append(served)
        return served

    yield start
    for served in started:
        await served.close()


@pytest.fixture
async def served(start_server: StartServer) -> Served:
    """A server over four mock departments that make the sample applications ELIGIBLE."""
    return await start_server()
