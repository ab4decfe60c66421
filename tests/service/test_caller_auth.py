"""Who is calling, over a real port: mutual TLS, development tokens and loopback mode.

Certificates are made here with trustme: a CA for the server, a CA for the calling
systems, and a foreign CA nobody trusts. Every rejected call must reach no department.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from service_support import school_place_request
from support import TEST_PSEUDONYM_KEY, mock_departments, resident_id

from verifier import AccessDenied, MockAdapter, Verifier, parse_application
from verifier.access import AccessPolicy, CallerGrant
from verifier.adapter import DepartmentAdapter
from verifier.audit import (
    ChainedAuditLog,
    Pseudonymiser,
    load_or_create_signing_key,
    read_audit_entries,
)
from verifier.catalogue import load_catalogue
from verifier.model import CallerIdentity
from verifier.rules import load_service_items
from verifier.service import (
    Authenticator,
    CertificateAuthenticator,
    LoopbackAuthenticator,
    TokenAuthenticator,
    VerifierClient,
    client_credentials,
    create_server,
    graceful_shutdown,
    mark_serving,
    token_digest,
)
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

GRANTS = {
    "school-portal": CallerGrant(items=("school_place",), department="education"),
    "housing-window": CallerGrant(items=("first_home_purchase",), department="housing"),
}
CERTIFICATE_NAMES = {"school-portal": ["school-portal"], "housing-window": ["housing-window"]}
SCHOOL_TOKEN = "dev-token-school-portal-0123456789"
NOW = dt.datetime.now(dt.UTC)


@dataclass
class Running:
    server: grpc.aio.Server
    port: int
    verifier: Verifier
    adapters: Mapping[str, DepartmentAdapter]
    audit_dir: Path
    closed: bool = False

    async def shut_down(self) -> None:
        """Graceful shutdown (which writes the unauthenticated calls counted so far)."""
        if not self.closed:
            self.closed = True
            await graceful_shutdown(self.server, self.verifier, grace=0)

    def audit_bytes(self) -> bytes:
        """Every file of the audit directory, to search for what must not be there."""
        return b"".join(path.read_bytes() for path in sorted(self.audit_dir.iterdir()))

    def unauthenticated(self) -> list[dict[str, Any]]:
        return [record for record in self.audited() if record["kind"] == "unauthenticated"]

    def department_calls(self) -> int:
        return sum(a.calls for a in self.adapters.values() if isinstance(a, MockAdapter))

    def audited(self) -> list[dict[str, Any]]:
        return [
            dict(entry.body)
            for entry in read_audit_entries(self.audit_dir)
            if entry.type == "record"
        ]


Start = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    running: list[Running] = []

    async def start_one(
        authenticator: Authenticator, credentials: grpc.ServerCredentials | None = None
    ) -> Running:
        catalogue = load_catalogue()
        adapters = mock_departments()
        audit_dir = tmp_path / f"audit-{len(running)}"
        verifier = Verifier(
            catalogue=catalogue,
            items=load_service_items(catalogue),
            adapters=adapters,
            audit=ChainedAuditLog(audit_dir, load_or_create_signing_key(audit_dir)),
            pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
            access=AccessPolicy(GRANTS),
        )
        server, port = await create_server(
            verifier, "127.0.0.1:0", authenticator=authenticator, credentials=credentials
        )
        await server.start()
        await verifier.start()
        await mark_serving(server)
        one = Running(server, port, verifier, adapters, audit_dir)
        running.append(one)
        return one

    yield start_one
    for one in running:
        await one.shut_down()


# ---- mutual TLS ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    server_ca: trustme.CA
    client_ca: trustme.CA
    foreign_ca: trustme.CA
    server_key: bytes
    server_chain: bytes


@pytest.fixture(scope="module")
def pki() -> Pki:
    server_ca, client_ca, foreign_ca = trustme.CA(), trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("localhost", "127.0.0.1")
    return Pki(
        server_ca,
        client_ca,
        foreign_ca,
        server.private_key_pem.bytes(),
        b"".join(blob.bytes() for blob in server.cert_chain_pems),
    )


def mtls_credentials(pki: Pki) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(pki.server_key, pki.server_chain)],
        root_certificates=pki.client_ca.cert_pem.bytes(),
        require_client_auth=True,
    )


def client_channel(
    pki: Pki, port: int, leaf: trustme.LeafCert | None, *, server_name: str | None = None
) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.server_ca.cert_pem.bytes(),
        private_key=leaf.private_key_pem.bytes() if leaf else None,
        certificate_chain=b"".join(b.bytes() for b in leaf.cert_chain_pems) if leaf else None,
    )
    options = [] if server_name is None else [("grpc.ssl_target_name_override", server_name)]
    return grpc.aio.secure_channel(f"localhost:{port}", credentials, options=options)


def certificate_auth() -> CertificateAuthenticator:
    return CertificateAuthenticator(GRANTS, CERTIFICATE_NAMES)


async def verify_over(
    channel: grpc.aio.Channel, request: pb.VerifyRequest | None = None, **kwargs: Any
) -> pb.VerifyResponse:
    stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
    async with channel:
        response: pb.VerifyResponse = await stub.Verify(
            request or school_place_request(legal_basis="《义务教育法》第十二条"),
            timeout=5,
            **kwargs,
        )
    return response


async def test_a_valid_certificate_is_the_callers_identity(start: Start, pki: Pki) -> None:
    running = await start(certificate_auth(), mtls_credentials(pki))
    leaf = pki.client_ca.issue_cert("school-portal", common_name="school-portal")
    response = await verify_over(client_channel(pki, running.port, leaf))
    assert response.decision.outcome == pb.DECISION_OUTCOME_ELIGIBLE
    [record] = running.audited()
    assert record["caller_system"] == "school-portal"
    assert record["caller_department"] == "education"  # from the configuration


async def test_a_certificate_for_a_plus_metadata_claiming_b_is_a(start: Start, pki: Pki) -> None:
    running = await start(certificate_auth(), mtls_credentials(pki))
    leaf = pki.client_ca.issue_cert("school-portal", common_name="school-portal")
    claims_b = school_place_request(
        legal_basis="《义务教育法》第十二条",
        caller=pb.Caller(system="housing-window", department="housing"),
    )
    metadata = (("x-caller-system", "housing-window"), ("authorization", "Bearer whatever"))
    await verify_over(client_channel(pki, running.port, leaf), claims_b, metadata=metadata)
    assert running.audited()[-1]["caller_system"] == "school-portal"

    # B's right (first_home_purchase) is not A's: claiming B gets A refused.
    first_home = pb.VerifyRequest(
        service_item="first_home_purchase",
        subjects=[pb.Subject(role="buyer", id=claims_b.subjects[0].id)],
        legal_basis="x",
        consent_reference="AUTH-1",
        caller=pb.Caller(system="housing-window"),
    )
    calls_before = running.department_calls()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await verify_over(client_channel(pki, running.port, leaf), first_home, metadata=metadata)
    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "item_not_granted" in (raised.value.details() or "")
    assert running.department_calls() == calls_before
    refusal = running.audited()[-1]
    assert refusal["kind"] == "refusal"
    assert refusal["caller_system"] == "school-portal"


@pytest.mark.parametrize(
    "case",
    ["no certificate", "foreign CA", "expired", "not yet valid", "wrong server name"],
)
async def test_bad_certificates_never_reach_a_department(start: Start, pki: Pki, case: str) -> None:
    running = await start(certificate_auth(), mtls_credentials(pki))
    server_name = None
    leaf: trustme.LeafCert | None
    if case == "no certificate":
        leaf = None
    elif case == "foreign CA":
        leaf = pki.foreign_ca.issue_cert("school-portal", common_name="school-portal")
    elif case == "expired":
        leaf = pki.client_ca.issue_cert(
            "school-portal",
            common_name="school-portal",
            not_before=NOW - dt.timedelta(days=30),
            not_after=NOW - dt.timedelta(days=1),
        )
    elif case == "not yet valid":
        leaf = pki.client_ca.issue_cert(
            "school-portal",
            common_name="school-portal",
            not_before=NOW + dt.timedelta(days=1),
            not_after=NOW + dt.timedelta(days=30),
        )
    else:  # the client expects another server: the server's certificate does not name it
        leaf = pki.client_ca.issue_cert("school-portal", common_name="school-portal")
        server_name = "verifier.other-city.example"
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await verify_over(client_channel(pki, running.port, leaf, server_name=server_name))
    # The TLS handshake fails: grpc reports the connection as unavailable.
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert running.department_calls() == 0
    assert running.audited() == []


async def test_a_valid_certificate_of_an_unknown_system_is_unauthenticated(
    start: Start, pki: Pki
) -> None:
    running = await start(certificate_auth(), mtls_credentials(pki))
    leaf = pki.client_ca.issue_cert("estate-agency", common_name="estate-agency")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await verify_over(client_channel(pki, running.port, leaf))
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "no registered system" in (raised.value.details() or "")
    assert running.department_calls() == 0


async def test_an_ip_or_email_san_never_passes_for_a_system_name(start: Start, pki: Pki) -> None:
    running = await start(
        CertificateAuthenticator(GRANTS, {"school-portal": ["10.1.2.3", "ops@city.example"]}),
        mtls_credentials(pki),
    )
    leaf = pki.client_ca.issue_cert("10.1.2.3", "ops@city.example", common_name="someone")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await verify_over(client_channel(pki, running.port, leaf))
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_the_client_with_mtls_raises_access_denied_with_the_refusals(
    start: Start, pki: Pki, tmp_path: Path
) -> None:
    running = await start(certificate_auth(), mtls_credentials(pki))
    leaf = pki.client_ca.issue_cert("housing-window", common_name="housing-window")
    paths = {}
    for name, blob in (
        ("ca", pki.server_ca.cert_pem.bytes()),
        ("cert", b"".join(b.bytes() for b in leaf.cert_chain_pems)),
        ("key", leaf.private_key_pem.bytes()),
    ):
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_bytes(blob)
    credentials = client_credentials(paths["ca"], paths["cert"], paths["key"])
    application = parse_application(
        {
            "service_item": "first_home_purchase",
            "subjects": [{"role": "buyer", "id": resident_id("44030519850312201")}],
            "legal_basis": "《不动产登记暂行条例》第二十七条",
        }
    )
    async with VerifierClient.connect(
        f"127.0.0.1:{running.port}",
        caller=CallerIdentity(system="ignored"),
        credentials=credentials,
        server_name="localhost",
    ) as client:
        with pytest.raises(AccessDenied) as raised:
            await client.verify(application, timeout=5)
    assert {(r.fact, r.rule) for r in raised.value.refusals} >= {
        ("buyer_owns_no_home", "no_consent")
    }
    assert all(r.rule == "no_consent" for r in raised.value.refusals)
    assert running.department_calls() == 0


# ---- development modes ------------------------------------------------------------------


def plaintext(port: int) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("metadata", "served"),
    [
        ((), False),
        ((("authorization", "Bearer not-the-token"),), False),
        ((("authorization", f"Basic {SCHOOL_TOKEN}"),), False),
        ((("authorization", f"Bearer {SCHOOL_TOKEN}"),), True),
    ],
    ids=["no token", "wrong token", "wrong scheme", "right token"],
)
async def test_token_mode(
    start: Start, metadata: tuple[tuple[str, str], ...], served: bool
) -> None:
    running = await start(TokenAuthenticator(GRANTS, {"school-portal": token_digest(SCHOOL_TOKEN)}))
    request = school_place_request(
        legal_basis="《义务教育法》第十二条", caller=pb.Caller(system="housing-window")
    )
    if served:
        await verify_over(plaintext(running.port), request, metadata=metadata)
        assert running.audited()[-1]["caller_system"] == "school-portal"
        return
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await verify_over(plaintext(running.port), request, metadata=metadata)
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert SCHOOL_TOKEN not in (raised.value.details() or "")
    assert running.department_calls() == 0


async def test_token_mode_guards_every_rpc(start: Start) -> None:
    running = await start(TokenAuthenticator(GRANTS, {"school-portal": token_digest(SCHOOL_TOKEN)}))
    async with plaintext(running.port) as channel:
        stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.aio.AioRpcError) as listing:
            await stub.ListServiceItems(pb.ListServiceItemsRequest(), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as describing:
            await stub.DescribeServiceItem(
                pb.DescribeServiceItemRequest(service_item="school_place"), timeout=5
            )
        batch = stub.VerifyBatch(timeout=5)
        await batch.write(pb.VerifyBatchRequest(client_id="1", request=school_place_request()))
        await batch.done_writing()
        with pytest.raises(grpc.aio.AioRpcError) as batching:
            async for _ in batch:
                pass
    for raised in (listing, describing, batching):
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert running.department_calls() == 0


async def test_loopback_mode_admits_only_registered_systems(start: Start) -> None:
    running = await start(LoopbackAuthenticator(GRANTS))
    stranger = school_place_request(
        legal_basis="《义务教育法》第十二条", caller=pb.Caller(system="estate-agency")
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await verify_over(plaintext(running.port), stranger)
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert running.department_calls() == 0
    known = school_place_request(
        legal_basis="《义务教育法》第十二条",
        caller=pb.Caller(system="school-portal", department="claimed-department"),
    )
    await verify_over(plaintext(running.port), known)
    [record] = running.audited()
    assert (record["caller_system"], record["caller_department"]) == ("school-portal", "education")


async def test_permission_denied_carries_error_info_and_every_refusal(start: Start) -> None:
    running = await start(LoopbackAuthenticator(GRANTS))
    request = school_place_request(legal_basis="", caller=pb.Caller(system="school-portal"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await verify_over(plaintext(running.port), request)
    error = raised.value
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    details = dict(error.trailing_metadata() or ())  # type: ignore[arg-type]
    status = status_pb2.Status.FromString(details["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("NO_LEGAL_BASIS", "onestop-verifier")
    assert info.metadata["fact"] == "guardian_is_parent"
    refusals = []
    for detail in status.details[1:]:
        refusal = pb.AccessRefusal()
        assert detail.Unpack(refusal)
        refusals.append((refusal.fact, refusal.rule, refusal.sharing))
    assert ("guardian_is_parent", "no_legal_basis", pb.SHARING_CLASS_CONDITIONAL) in refusals
    assert {rule for _, rule, _ in refusals} == {"no_legal_basis"}
    assert running.department_calls() == 0
    assert running.audited()[-1]["kind"] == "refusal"


async def test_a_refused_batch_item_is_a_result_and_the_stream_goes_on(start: Start) -> None:
    running = await start(LoopbackAuthenticator(GRANTS))
    allowed = school_place_request(
        legal_basis="《义务教育法》第十二条", caller=pb.Caller(system="school-portal")
    )
    refused = school_place_request(legal_basis="", caller=pb.Caller(system="school-portal"))
    async with plaintext(running.port) as channel:
        stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
        batch = stub.VerifyBatch(timeout=5)
        await batch.write(pb.VerifyBatchRequest(client_id="refused", request=refused))
        await batch.write(pb.VerifyBatchRequest(client_id="allowed", request=allowed))
        await batch.done_writing()
        responses = {response.client_id: response async for response in batch}
    assert responses["allowed"].HasField("result")
    error = responses["refused"].error
    assert error.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert {r.rule for r in error.refusals} == {"no_legal_basis"}
    assert {r.fact for r in error.refusals} >= {"guardian_is_parent"}
    # Only the allowed application's three departments (household, social insurance, housing).
    assert running.department_calls() == 3


async def test_refusals_are_logged_and_counted_without_the_credential(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    reader = InMemoryMetricReader()
    authenticator = TokenAuthenticator(
        GRANTS,
        {"school-portal": token_digest(SCHOOL_TOKEN)},
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    running = await start(authenticator)
    wrong = "Bearer " + SCHOOL_TOKEN[::-1]
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError):
            await verify_over(plaintext(running.port), metadata=(("authorization", wrong),))
    data = reader.get_metrics_data()
    assert data is not None
    [point] = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "verifier.auth.failures"
        for point in metric.data.data_points
    ]
    assert point.value == 2
    assert point.attributes == {"verifier.auth.mode": "token"}
    logged = [r.getMessage() for r in caplog.records if r.name == "verifier.service.auth"]
    assert len(logged) == 2
    assert all("127.0.0.1" in line and "belongs to no registered system" in line for line in logged)
    assert SCHOOL_TOKEN[::-1] not in caplog.text


# ---- unauthenticated calls in the audit log ---------------------------------------------


async def test_a_burst_of_bad_tokens_is_audited_per_host_and_minute_without_them(
    start: Start,
) -> None:
    running = await start(TokenAuthenticator(GRANTS, {"school-portal": token_digest(SCHOOL_TOKEN)}))
    wrong_tokens = [f"stolen-or-guessed-token-{n:04d}" for n in range(12)]
    for token in wrong_tokens:
        with pytest.raises(grpc.aio.AioRpcError):
            await verify_over(
                plaintext(running.port), metadata=(("authorization", f"Bearer {token}"),)
            )
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError):
            await verify_over(plaintext(running.port))
    async with plaintext(running.port) as channel:
        stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.ListServiceItems(
                pb.ListServiceItemsRequest(),
                metadata=(("authorization", f"Bearer {wrong_tokens[0]}"),),
                timeout=5,
            )
    await verify_over(
        plaintext(running.port), metadata=(("authorization", f"Bearer {SCHOOL_TOKEN}"),)
    )
    await running.shut_down()

    counted = running.unauthenticated()
    # One minute, one host — unless the burst straddled a minute boundary.
    assert 1 <= len(counted) <= 2
    assert {record["peer_host"] for record in counted} == {"127.0.0.1"}
    assert sum(record["attempts"] for record in counted) == 16
    reasons: dict[str, int] = {}
    for record in counted:
        for reason, count in record["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    assert reasons == {"unknown_bearer_token": 13, "no_bearer_token": 3}
    assert [r["kind"] for r in running.audited()].count("verification") == 1
    log = running.audit_bytes()
    for credential in (*wrong_tokens, SCHOOL_TOKEN, token_digest(SCHOOL_TOKEN), "Bearer"):
        assert credential.encode() not in log


async def test_an_unregistered_system_name_is_counted_as_a_keyed_tag_only(start: Start) -> None:
    running = await start(LoopbackAuthenticator(GRANTS))
    for _ in range(2):
        stranger = school_place_request(
            legal_basis="《义务教育法》第十二条", caller=pb.Caller(system="estate-agency-gateway")
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await verify_over(plaintext(running.port), stranger)
        assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    await running.shut_down()
    [record] = running.unauthenticated()
    assert record["attempts"] == 2
    assert record["reasons"] == {"caller_not_registered": 2}
    assert record["declared_systems"] == [
        Pseudonymiser(TEST_PSEUDONYM_KEY).name_tag("estate-agency-gateway")
    ]
    assert b"estate-agency" not in running.audit_bytes()


async def test_an_unknown_certificate_name_is_counted_without_the_name(
    start: Start, pki: Pki
) -> None:
    running = await start(certificate_auth(), mtls_credentials(pki))
    leaf = pki.client_ca.issue_cert("estate-agency", common_name="estate-agency")
    with pytest.raises(grpc.aio.AioRpcError):
        await verify_over(client_channel(pki, running.port, leaf))
    await running.shut_down()
    [record] = running.unauthenticated()
    assert (record["attempts"], record["reasons"]) == (1, {"certificate_names_no_system": 1})
    assert b"estate-agency" not in running.audit_bytes()
