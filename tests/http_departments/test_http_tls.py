"""TLS to a department: verified against the configured CA; mutual TLS when it asks.

The certificates are made here with ``cryptography`` (a CA, a server certificate for
127.0.0.1, a client certificate); the simulator serves https with them.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from http_support import all_queries, http_adapter

from adapters.demo_city import DemoCityManifest
from adapters.simulator import RunningSimulators, run_simulators
from verifier import ConfigurationError, DepartmentUnavailable
from verifier.adapter import DepartmentQuery


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, common_name: str, *, server: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if server:
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca, ca_key = _ca("Test Department CA")
    server, server_key = _leaf(ca, ca_key, "housing.department.test", server=True)
    client, client_key = _leaf(ca, ca_key, "verifier.test", server=False)
    other, _ = _ca("Somebody Else's CA")
    return Pki(
        ca=_write_cert(directory / "ca.pem", ca),
        server_cert=_write_cert(directory / "server.pem", server),
        server_key=_write_key(directory / "server.key", server_key),
        client_cert=_write_cert(directory / "client.pem", client),
        client_key=_write_key(directory / "client.key", client_key),
        other_ca=_write_cert(directory / "other-ca.pem", other),
    )


def server_context(pki: Pki, *, require_client: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


async def https_simulator(
    city: DemoCityManifest, context: ssl.SSLContext
) -> AsyncIterator[RunningSimulators]:
    assert city.data_dir is not None
    async with run_simulators(city.data_dir, {"housing": 0}, ssl_context=context) as running:
        yield running


@pytest.fixture
async def https(demo_city: DemoCityManifest, pki: Pki) -> AsyncIterator[RunningSimulators]:
    async for running in https_simulator(demo_city, server_context(pki, require_client=False)):
        yield running


@pytest.fixture
async def mutual(demo_city: DemoCityManifest, pki: Pki) -> AsyncIterator[RunningSimulators]:
    async for running in https_simulator(demo_city, server_context(pki, require_client=True)):
        yield running


def housing(city: DemoCityManifest) -> DepartmentQuery:
    return next(query for _, query in all_queries(city) if query.department == "housing")


async def test_https_verified_with_the_configured_ca(
    demo_city: DemoCityManifest, https: RunningSimulators, pki: Pki
) -> None:
    assert https.urls["housing"].startswith("https://127.0.0.1:")
    adapter = http_adapter("housing", https.urls["housing"], ca_bundle=str(pki.ca))
    try:
        answer = await adapter.fetch(housing(demo_city))
    finally:
        await adapter.aclose()
    assert answer.facts


@pytest.mark.parametrize("trust", ["system", "other CA"])
async def test_an_untrusted_certificate_is_unavailable_and_not_retryable(
    trust: str, demo_city: DemoCityManifest, https: RunningSimulators, pki: Pki
) -> None:
    settings = {} if trust == "system" else {"ca_bundle": str(pki.other_ca)}
    adapter = http_adapter("housing", https.urls["housing"], **settings)
    try:
        with pytest.raises(DepartmentUnavailable, match="TLS certificate rejected") as raised:
            await adapter.fetch(housing(demo_city))
    finally:
        await adapter.aclose()
    # A certificate is configuration, not weather: repeating the call cannot fix it.
    assert raised.value.retryable is False
    assert raised.value.__context__ is None
    assert https.simulators["housing"].stats.requests == 0


async def test_mutual_tls_with_the_client_certificate(
    demo_city: DemoCityManifest, mutual: RunningSimulators, pki: Pki
) -> None:
    adapter = http_adapter(
        "housing",
        mutual.urls["housing"],
        ca_bundle=str(pki.ca),
        client_cert=str(pki.client_cert),
        client_key=str(pki.client_key),
    )
    try:
        assert (await adapter.fetch(housing(demo_city))).facts
    finally:
        await adapter.aclose()


async def test_mutual_tls_without_a_client_certificate_is_refused(
    demo_city: DemoCityManifest, mutual: RunningSimulators, pki: Pki
) -> None:
    adapter = http_adapter("housing", mutual.urls["housing"], ca_bundle=str(pki.ca))
    try:
        with pytest.raises(DepartmentUnavailable) as raised:
            await adapter.fetch(housing(demo_city))
    finally:
        await adapter.aclose()
    # Under TLS 1.3 our side of the handshake completes before the server checks our
    # certificate; it then drops the connection (a reset), which cannot be told from a
    # transient one, so it stays retryable. A peer's certificate alert, when one arrives, is
    # not retryable (see adapters.http._failures).
    assert raised.value.__context__ is None
    assert mutual.simulators["housing"].stats.requests == 0


async def test_unreadable_tls_files_fail_at_start_not_construction(
    pki: Pki, tmp_path: Path
) -> None:
    # Construction does no I/O (every command checks the configuration by constructing the
    # adapters); start() reads the files, so `verifier serve` fails before SERVING.
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate", encoding="utf-8")
    url = "https://127.0.0.1:1"
    cases = [
        ({"ca_bundle": str(tmp_path / "missing.pem")}, r"departments\.housing\.ca_bundle"),
        ({"ca_bundle": str(garbage)}, r"departments\.housing\.ca_bundle"),
        (
            {"client_cert": str(pki.client_cert), "client_key": str(garbage)},
            r"departments\.housing\.client_cert",
        ),
    ]
    for settings, message in cases:
        adapter = http_adapter("housing", url, **settings)
        with pytest.raises(ConfigurationError, match=message):
            await adapter.start()
        await adapter.aclose()
