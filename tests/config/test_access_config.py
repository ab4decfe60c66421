"""The access section of the configuration: modes, transports, rights, and what is refused
at start-up (with the key named) rather than at the first call."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier import ConfigurationError
from verifier.config import VerifierConfig, build_verifier, load_config
from verifier.config._settings import is_loopback_address
from verifier.service import CertificateAuthenticator, LoopbackAuthenticator, TokenAuthenticator
from verifier.service._security import authenticator_for, server_credentials_for

DIGEST = "a" * 64


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "verifier.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_embedded_default_is_loopback_development_mode() -> None:
    config = load_config()
    assert config.access.mode.value == "loopback"
    assert config.server.tls is None
    assert set(config.access.callers) == {"embedded", "demo-service-hall", "verifier-cli"}
    assert isinstance(authenticator_for(config), LoopbackAuthenticator)
    assert server_credentials_for(config) is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("access: {mode: mtls}\n", "access.mode mtls needs server.tls"),
        (
            "server: {tls: {certificate: a.pem, private_key: k.pem}}\naccess: {mode: mtls}\n",
            "client_ca",
        ),
        (
            "server: {tls: {certificate: a.pem, private_key: k.pem, client_ca: ca.pem}}\n"
            "access: {mode: mtls, callers: {hall: {items: [school_place]}}}\n",
            "no access.callers entry has certificate_names",
        ),
        ("access: {mode: token}\n", "no access.callers entry has a token_sha256"),
        ("server: {address: '0.0.0.0:50051'}\n", "server.address '0.0.0.0:50051'"),
        (
            "access: {callers: {hall: {items: [school_place], token_sha256: secret}}}\n",
            "access.callers.hall.token_sha256",
        ),
        ("access: {callers: {hall: {items: []}}}\n", "access.callers.hall.items"),
        ("access: {mode: open}\n", "access.mode"),
    ],
)
def test_bad_access_configuration_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_config(write(tmp_path, text))
    assert named in str(raised.value)


def test_a_network_address_needs_tls(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "server:\n  address: '0.0.0.0:50051'\n"
            "  tls: {certificate: a.pem, private_key: k.pem, client_ca: ca.pem}\n"
            "access:\n  mode: mtls\n"
            "  callers: {hall: {items: [school_place], certificate_names: [hall]}}\n",
        )
    )
    assert isinstance(authenticator_for(config), CertificateAuthenticator)
    with pytest.raises(ConfigurationError, match=r"server\.tls\.certificate: cannot read"):
        server_credentials_for(config)


def test_token_mode_builds_a_token_authenticator(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "access:\n  mode: token\n"
            f"  callers: {{hall: {{items: ['*'], token_sha256: {DIGEST}}}}}\n",
        )
    )
    assert isinstance(authenticator_for(config), TokenAuthenticator)


def test_one_certificate_name_for_two_systems_is_refused(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "server: {tls: {certificate: a.pem, private_key: k.pem, client_ca: ca.pem}}\n"
            "access:\n  mode: mtls\n  callers:\n"
            "    a: {items: [school_place], certificate_names: [shared]}\n"
            "    b: {items: [school_place], certificate_names: [shared]}\n",
        )
    )
    with pytest.raises(ConfigurationError, match=r"access\.callers: certificate name 'shared'"):
        authenticator_for(config)


def test_a_right_to_an_unknown_item_stops_the_start(tmp_path: Path) -> None:
    # Refused when the configuration is loaded (every command), and by build_verifier for a
    # configuration built in code.
    text = "access: {callers: {hall: {items: [school_place, school_palce]}}}\n"
    with pytest.raises(ConfigurationError, match=r"access\.callers\.hall\.items\[1\]"):
        load_config(write(tmp_path, text), data_dir=tmp_path)
    config = VerifierConfig(
        data_dir=tmp_path,
        access={"callers": {"hall": {"items": ["school_place", "school_palce"]}}},
    )
    with pytest.raises(ConfigurationError, match=r"access\.callers\.hall\.items\[1\]"):
        build_verifier(config)


def test_a_file_that_is_not_pem_is_named(tmp_path: Path) -> None:
    for name in ("a.pem", "k.pem"):
        (tmp_path / name).write_text("not a certificate", encoding="utf-8")
    config = load_config(
        write(
            tmp_path,
            f"server: {{tls: {{certificate: {tmp_path / 'a.pem'}, "
            f"private_key: {tmp_path / 'k.pem'}}}}}\n",
        )
    )
    with pytest.raises(ConfigurationError, match=r"server\.tls\.certificate: .* not a PEM file"):
        server_credentials_for(config)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:50051", True),
        ("127.8.0.1:0", True),
        ("[::1]:50051", True),
        ("localhost:50051", True),
        ("unix:/run/verifier.sock", True),
        ("0.0.0.0:50051", False),
        ("[::]:50051", False),
        ("10.0.0.5:50051", False),
        ("verifier.example:50051", False),
    ],
)
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback_address(address) is loopback
