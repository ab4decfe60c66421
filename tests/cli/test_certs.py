"""``verifier certs``: the development CA, and a real mutual-TLS handshake with its certificates."""

from __future__ import annotations

import ipaddress
import json
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from verifier.cli import main

SYSTEM = "school-portal"
METHOD = "/test.Identity/Who"


@pytest.fixture
def authority(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A directory holding a fresh development CA and server certificate."""
    directory = tmp_path / "pki"
    assert main(["certs", "init", "--dir", str(directory)]) == 0
    capsys.readouterr()
    return directory


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def alt_names(certificate: x509.Certificate) -> x509.SubjectAlternativeName:
    return certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def usages(certificate: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_init_creates_the_ca_and_server_files_with_private_keys_0600(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "pki"
    assert main(["certs", "init", "--dir", str(directory)]) == 0
    names = {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"}
    assert {path.name for path in directory.iterdir()} == names
    for key in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((directory / key).stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert all(str(directory / name) in out for name in names)


def test_the_server_certificate_is_signed_by_the_ca_and_names_localhost(authority: Path) -> None:
    ca = load(authority / "ca.pem")
    server = load(authority / "server.pem")
    server.verify_directly_issued_by(ca)
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    sans = alt_names(server)
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert usages(server) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    authority_key = server.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_key = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert authority_key.key_identifier == ca_key.digest


def test_server_names_are_added_as_dns_names_or_ip_addresses(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    args = ["--server-name", "verifier.city.internal", "--server-name", "10.0.0.5"]
    assert main(["certs", "init", "--dir", str(directory), *args]) == 0
    sans = alt_names(load(directory / "server.pem"))
    assert sans.get_values_for_type(x509.DNSName) == ["localhost", "verifier.city.internal"]
    assert ipaddress.ip_address("10.0.0.5") in sans.get_values_for_type(x509.IPAddress)


def test_issue_makes_a_client_certificate_and_prints_the_caller_config(
    authority: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--dir", str(authority), "--system", SYSTEM, "--department", "education"]
    assert main(["certs", "issue", *args]) == 0
    client = load(authority / f"{SYSTEM}.pem")
    client.verify_directly_issued_by(load(authority / "ca.pem"))
    assert stat.S_IMODE((authority / f"{SYSTEM}-key.pem").stat().st_mode) == 0o600
    assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SYSTEM
    assert client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "education"
    assert alt_names(client).get_values_for_type(x509.DNSName) == [SYSTEM]
    assert usages(client) == [ExtendedKeyUsageOID.CLIENT_AUTH]

    out = capsys.readouterr().out
    assert str(authority / f"{SYSTEM}.pem") in out
    assert str(authority / f"{SYSTEM}-key.pem") in out
    snippet = yaml.safe_load(out[out.index("access:") :])
    assert snippet == {
        "access": {
            "callers": {
                SYSTEM: {
                    "department": "education",
                    "certificate_names": [SYSTEM],
                    "items": ["school_place"],
                }
            }
        }
    }


def test_init_refuses_to_overwrite_without_force(
    authority: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (authority / "ca.pem").read_bytes()
    assert main(["certs", "init", "--dir", str(authority)]) == 2
    err = capsys.readouterr().err
    assert str(authority / "ca.pem") in err
    assert "--force" in err
    assert (authority / "ca.pem").read_bytes() == before

    (authority / "ca-key.pem").chmod(0o644)  # --force replaces the file, mode and all
    assert main(["certs", "init", "--dir", str(authority), "--force"]) == 0
    assert (authority / "ca.pem").read_bytes() != before
    assert stat.S_IMODE((authority / "ca-key.pem").stat().st_mode) == 0o600


def test_issue_refuses_to_overwrite_without_force(
    authority: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["certs", "issue", "--dir", str(authority), "--system", SYSTEM]
    assert main(args) == 0
    assert main(args) == 2
    assert str(authority / f"{SYSTEM}.pem") in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


@pytest.mark.parametrize(
    "system", ["School-Portal", "school_portal", "-portal", "portal-", "a..b", "a" * 64, "", "ca"]
)
def test_a_bad_system_name_is_refused_naming_the_argument(
    authority: Path, system: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # ``--system=…``: as a separate word, ``-portal`` would be read as an option.
    assert main(["certs", "issue", "--dir", str(authority), f"--system={system}"]) == 2
    assert "--system" in capsys.readouterr().err
    assert sorted(path.name for path in authority.iterdir()) == [
        "ca-key.pem",
        "ca.pem",
        "server-key.pem",
        "server.pem",
    ]


def test_issuing_without_a_ca_says_to_run_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certs", "issue", "--dir", str(tmp_path), "--system", SYSTEM]) == 2
    err = capsys.readouterr().err
    assert "ca.pem" in err
    assert "verifier certs init" in err
    assert list(tmp_path.iterdir()) == []


# --- a real mutual-TLS handshake -----------------------------------------------------------


async def _who(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    """Answer what grpc's auth context says about the caller's certificate."""
    seen = context.auth_context()
    return json.dumps(
        {
            key: [value.decode() for value in seen.get(key, [])]
            for key in ("x509_common_name", "x509_subject_alternative_name", "peer_dns")
        }
    ).encode()


@asynccontextmanager
async def mtls_server(directory: Path) -> AsyncIterator[int]:
    server = grpc.aio.server()
    # No (de)serialisers: the handler gets and returns raw bytes.
    handler = grpc.unary_unary_rpc_method_handler(_who)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("test.Identity", {"Who": handler}),)
    )
    credentials = grpc.ssl_server_credentials(
        [((directory / "server-key.pem").read_bytes(), (directory / "server.pem").read_bytes())],
        root_certificates=(directory / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


async def call(port: int, credentials: grpc.ChannelCredentials) -> Any:
    async with grpc.aio.secure_channel(f"localhost:{port}", credentials) as channel:
        answer = await channel.unary_unary(METHOD)(b"", timeout=10)
    return json.loads(answer)


async def test_a_client_certificate_passes_mutual_tls_and_names_the_system(
    authority: Path,
) -> None:
    assert main(["certs", "issue", "--dir", str(authority), "--system", SYSTEM]) == 0
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(authority / "ca.pem").read_bytes(),
        private_key=(authority / f"{SYSTEM}-key.pem").read_bytes(),
        certificate_chain=(authority / f"{SYSTEM}.pem").read_bytes(),
    )
    async with mtls_server(authority) as port:
        seen = await call(port, credentials)
    assert seen["x509_common_name"] == [SYSTEM]
    assert SYSTEM in seen["x509_subject_alternative_name"]
    assert seen["peer_dns"] == [SYSTEM]


async def test_a_client_without_a_certificate_is_refused(authority: Path) -> None:
    credentials = grpc.ssl_channel_credentials((authority / "ca.pem").read_bytes())
    async with mtls_server(authority) as port:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(port, credentials)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_from_another_ca_is_refused(authority: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    assert main(["certs", "init", "--dir", str(foreign)]) == 0
    assert main(["certs", "issue", "--dir", str(foreign), "--system", SYSTEM]) == 0
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(authority / "ca.pem").read_bytes(),
        private_key=(foreign / f"{SYSTEM}-key.pem").read_bytes(),
        certificate_chain=(foreign / f"{SYSTEM}.pem").read_bytes(),
    )
    async with mtls_server(authority) as port:
        with pytest.raises(grpc.aio.AioRpcError):
            await call(port, credentials)
