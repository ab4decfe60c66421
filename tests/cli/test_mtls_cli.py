"""The README's recipe, as processes: make a development CA and a service hall's
certificate, serve with mutual TLS, and call with and without the certificate."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import sample_args, verifier_serve

from adapters.demo_city import DemoCityManifest
from verifier.cli import main


@pytest.fixture
def mtls_server(demo_city: DemoCityManifest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    certs = tmp_path / "certs"
    assert main(["certs", "init", "--dir", str(certs)]) == 0
    assert main(["certs", "issue", "--dir", str(certs), "--system", "school-portal"]) == 0
    assert main(["certs", "issue", "--dir", str(certs), "--system", "estate-agency"]) == 0
    config = tmp_path / "verifier.yaml"
    config.write_text(
        f"data_dir: {demo_city.data_dir}\n"
        f"audit: {{directory: {tmp_path / 'audit'}}}\n"
        "server:\n"
        "  address: 127.0.0.1:0\n"
        f"  tls: {{certificate: {certs / 'server.pem'}, private_key: {certs / 'server-key.pem'},"
        f" client_ca: {certs / 'ca.pem'}}}\n"
        "access:\n"
        "  mode: mtls\n"
        "  callers:\n"
        "    school-portal:\n"
        "      department: education\n"
        "      certificate_names: [school-portal]\n"
        "      items: [school_place]\n",
        encoding="utf-8",
    )
    with verifier_serve("--config", str(config)) as (address, server):
        assert server.stdout is not None
        assert "mutual TLS" in server.stdout.readline()
        yield f"localhost:{address.rpartition(':')[2]}", certs


def verify(
    demo_city: DemoCityManifest, address: str, *tls: str
) -> subprocess.CompletedProcess[str]:
    args = sample_args(demo_city, "school_place_pending_transfer")
    args += ["--legal-basis", "《义务教育法》第十二条"]
    return subprocess.run(
        [sys.executable, "-m", "verifier.cli", "verify", "--address", address, *args, *tls],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_a_service_hall_with_its_certificate_is_served(
    demo_city: DemoCityManifest, mtls_server: tuple[str, Path]
) -> None:
    address, certs = mtls_server
    done = verify(
        demo_city,
        address,
        "--ca", str(certs / "ca.pem"),
        "--cert", str(certs / "school-portal.pem"),
        "--key", str(certs / "school-portal-key.pem"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "decision: NEEDS_REVIEW" in done.stdout


def test_without_a_certificate_or_with_an_unregistered_one_nothing_is_served(
    demo_city: DemoCityManifest, mtls_server: tuple[str, Path]
) -> None:
    address, certs = mtls_server
    anonymous = verify(demo_city, address, "--ca", str(certs / "ca.pem"))
    assert anonymous.returncode == 1
    assert "UNAVAILABLE" in anonymous.stderr  # the TLS handshake refuses it
    stranger = verify(
        demo_city,
        address,
        "--ca", str(certs / "ca.pem"),
        "--cert", str(certs / "estate-agency.pem"),
        "--key", str(certs / "estate-agency-key.pem"),
    )  # fmt: skip
    assert stranger.returncode == 1
    assert "UNAUTHENTICATED" in stranger.stderr
    assert "Traceback" not in anonymous.stderr + stranger.stderr
