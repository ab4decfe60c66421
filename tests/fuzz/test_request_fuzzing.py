"""Fuzzing the request path: bad input is refused by field, and reaches no department.

In process (``VERIFIER_TEST_FUZZ_EXAMPLES`` examples; 1,000 locally, 10,000 in CI): a
VerifyRequest goes through the servicer's own conversion and then ``Verifier.verify``, as
``Verify`` does.
Over a real server on port 0 (fewer examples): only OK or INVALID_ARGUMENT with a
google.rpc.BadRequest ever comes back. See docs/fuzzing.md for longer runs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fuzz_support import (
    FUZZ_EXAMPLES,
    Drawn,
    Expect,
    MemoryAuditSink,
    bad_request_of,
    check_violations,
    requests,
    school_place_request,
)
from hypothesis import HealthCheck, given, settings
from support import TEST_PSEUDONYM_KEY, MakeVerifier, mock_departments

from verifier import InvalidApplication
from verifier._errors import FieldViolation
from verifier.adapter import MockAdapter
from verifier.audit import Pseudonymiser
from verifier.catalogue import load_catalogue
from verifier.engine import Verifier
from verifier.model import VerificationResult
from verifier.rules import load_service_items
from verifier.service import create_server, mark_serving
from verifier.service._convert import verify_request_from_proto
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SERVER_EXAMPLES = max(1, min(300, FUZZ_EXAMPLES // 10))


def department_calls(adapters: dict[str, MockAdapter]) -> int:
    return sum(adapter.calls for adapter in adapters.values())


def mock_adapters() -> dict[str, MockAdapter]:
    adapters = mock_departments()
    assert all(isinstance(adapter, MockAdapter) for adapter in adapters.values())
    return {name: adapter for name, adapter in adapters.items() if isinstance(adapter, MockAdapter)}


@pytest.fixture
def engine() -> Iterator[tuple[asyncio.Runner, Verifier, dict[str, MockAdapter]]]:
    """A started Verifier over mock departments, on an event loop of its own."""
    catalogue = load_catalogue()
    adapters = mock_adapters()
    verifier = Verifier(
        catalogue=catalogue,
        items=load_service_items(catalogue),
        adapters=adapters,
        audit=MemoryAuditSink(),
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
    )
    with asyncio.Runner() as runner:
        runner.run(verifier.start())
        yield runner, verifier, adapters
        runner.run(verifier.aclose())


def verify_in_process(
    runner: asyncio.Runner, verifier: Verifier, request: pb.VerifyRequest
) -> VerificationResult | InvalidApplication:
    """What the servicer's Verify does, minus the transport; any other exception escapes."""
    try:
        application, caller = verify_request_from_proto(request)
        return runner.run(verifier.verify(application, caller=caller))
    except InvalidApplication as refused:
        return refused


def test_fuzzed_requests_are_answered_or_refused_by_field(
    engine: tuple[asyncio.Runner, Verifier, dict[str, MockAdapter]],
) -> None:
    runner, verifier, adapters = engine
    outcomes: Counter[str] = Counter()

    @settings(FUZZ_SETTINGS, max_examples=FUZZ_EXAMPLES)
    @given(requests)
    def check(drawn: Drawn) -> None:
        before = department_calls(adapters)
        outcome = verify_in_process(runner, verifier, drawn.request)
        context = (drawn.mutations, drawn.request)
        if isinstance(outcome, InvalidApplication):
            outcomes["refused"] += 1
            assert drawn.expect is not Expect.VALID, context
            check_violations(outcome.violations, drawn.subject_ids(), context)
            assert department_calls(adapters) == before, context
        else:
            outcomes["answered"] += 1
            assert drawn.expect is not Expect.INVALID, context
            assert department_calls(adapters) > before
            text = outcome.model_dump_json()
            assert not [subject for subject in drawn.subject_ids() if subject in text], context

    check()
    # Not degenerate: both outcomes are exercised in earnest.
    assert outcomes["refused"] > FUZZ_EXAMPLES // 4, outcomes
    assert outcomes["answered"] > FUZZ_EXAMPLES // 50, outcomes


def test_lone_surrogates_cannot_be_sent() -> None:
    """protobuf refuses a str holding a lone surrogate: it cannot be encoded as UTF-8."""
    with pytest.raises(UnicodeEncodeError):
        pb.VerifyRequest(purpose="clerk \ud800")
    request = pb.VerifyRequest()
    with pytest.raises(UnicodeEncodeError):
        request.caller.system = "\udfff"


def test_non_ascii_district_is_refused(
    engine: tuple[asyncio.Runner, Verifier, dict[str, MockAdapter]],
) -> None:
    runner, verifier, adapters = engine
    request = school_place_request()
    request.parameters["district"].string_value = "４４０３０５"
    outcome = verify_in_process(runner, verifier, request)
    assert department_calls(adapters) == 0
    assert isinstance(outcome, InvalidApplication)


# ---- over a real server -------------------------------------------------------------------


class _Server:
    def __init__(self, verifier: Verifier, server: grpc.aio.Server, port: int) -> None:
        self.verifier = verifier
        self.server = server
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = pb_grpc.VerificationServiceStub(self.channel)  # type: ignore[no-untyped-call]

    async def verify(self, request: pb.VerifyRequest) -> grpc.aio.AioRpcError | None:
        """The call's error, or None if it answered."""
        try:
            await self.stub.Verify(request, timeout=10)
        except grpc.aio.AioRpcError as error:
            return error
        return None

    async def close(self) -> None:
        await self.channel.close(grace=None)
        await self.server.stop(0)
        await self.verifier.aclose()


async def _serve(verifier: Verifier) -> _Server:
    server, port = await create_server(verifier, "127.0.0.1:0")
    await server.start()
    await verifier.start()
    await mark_serving(server)
    return _Server(verifier, server, port)


@pytest.fixture
def served(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> Iterator[tuple[asyncio.Runner, _Server, dict[str, MockAdapter]]]:
    adapters = mock_adapters()
    with asyncio.Runner() as runner:
        server = runner.run(_serve(make_test_verifier(adapters, tmp_path / "audit")))
        try:
            yield runner, server, adapters
        finally:
            runner.run(server.close())


def test_fuzzed_requests_over_grpc_get_ok_or_invalid_argument(
    served: tuple[asyncio.Runner, _Server, dict[str, MockAdapter]],
) -> None:
    runner, server, adapters = served
    codes: Counter[grpc.StatusCode] = Counter()

    @settings(FUZZ_SETTINGS, max_examples=SERVER_EXAMPLES)
    @given(requests)
    def check(drawn: Drawn) -> None:
        before = department_calls(adapters)
        context = (drawn.mutations, drawn.request)
        error = runner.run(server.verify(drawn.request))
        if error is not None:
            codes[error.code()] += 1
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (error, context)
            found = bad_request_of(error)  # parses the google.rpc.BadRequest
            violations = [FieldViolation(field, text) for field, text in found.items()]
            assert drawn.expect is not Expect.VALID, context
            check_violations(violations, drawn.subject_ids(), context)
            assert department_calls(adapters) == before, context
        else:
            codes[grpc.StatusCode.OK] += 1
            assert department_calls(adapters) > before
            assert drawn.expect is not Expect.INVALID, context

    check()
    assert codes[grpc.StatusCode.INVALID_ARGUMENT] > 0, codes


async def test_invalid_utf8_on_the_wire_is_invalid_argument(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    adapters = mock_adapters()
    server = await _serve(make_test_verifier(adapters, tmp_path / "audit"))
    try:
        verify = server.channel.unary_unary(
            "/verifier.v1.VerificationService/Verify",
            request_serializer=None,
            response_deserializer=None,
        )
        body = school_place_request().SerializeToString().replace(b"hall", b"h\xffll")
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await verify(body, timeout=5)
    finally:
        await server.close()
    assert department_calls(adapters) == 0
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
