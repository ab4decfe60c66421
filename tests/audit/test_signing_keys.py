"""The checkpoint signing key: from configuration (PEM text or file) or, by default, a key
pair generated beside the log; auditors verify with the public key alone."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from audit_support import PREFIX_BYTES, spec_key_id
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import ConfigurationError
from verifier.audit import (
    generate_signing_key_files,
    load_or_create_signing_key,
    load_public_key,
    load_signing_key,
    public_key_id,
    verify_audit_log,
)


def private_pem(key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, password: bytes = b"") -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_the_embedded_default_generates_a_key_pair_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="verifier.audit"):
        key = load_or_create_signing_key(tmp_path)
    assert "generated the audit signing key" in caplog.text
    assert (tmp_path / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    public = load_public_key(tmp_path / "signing-key.pub.pem")
    assert public_key_id(public) == public_key_id(key.public_key()) == spec_key_id(key)
    assert raw(load_or_create_signing_key(tmp_path)) == raw(key)
    (tmp_path / "signing-key.pub.pem").unlink()
    assert raw(load_or_create_signing_key(tmp_path)) == raw(key)
    assert load_public_key(tmp_path / "signing-key.pub.pem").public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == raw(key)
    with pytest.raises(ConfigurationError, match="already exists"):
        generate_signing_key_files(tmp_path)
    assert not list(tmp_path.glob(".*tmp"))


def test_keys_load_from_pem_text_bytes_and_files(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = private_pem(key)
    (tmp_path / "key.pem").write_text(pem)
    one_line = pem.replace("\n", "\\n")  # as some secret stores hand it over
    for source in (pem, pem.encode(), tmp_path / "key.pem", str(tmp_path / "key.pem"), one_line):
        assert raw(load_signing_key(source)) == raw(key)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_key_id(load_public_key(public_pem.decode())) == spec_key_id(key)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", "not a PEM"),
        (private_pem(ec.generate_private_key(ec.SECP256R1())), "not an Ed25519 key"),
        (private_pem(Ed25519PrivateKey.generate(), b"secret"), "encrypted keys"),
        (Path("/nonexistent/key.pem"), "/nonexistent/key.pem"),
    ],
)
def test_bad_signing_keys_are_configuration_errors(source: str | Path, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        load_signing_key(source)
    assert "PRIVATE KEY" not in str(raised.value)


def test_an_auditor_is_told_to_use_the_public_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="public key only"):
        load_public_key(private_pem(Ed25519PrivateKey.generate()))
    (tmp_path / "garbage.pem").write_text("not a key")
    with pytest.raises(ConfigurationError, match=r"garbage\.pem"):
        load_public_key(tmp_path / "garbage.pem")


async def test_the_configured_key_signs_the_checkpoints(
    demo_city: DemoCityManifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv("VERIFIER_AUDIT__SIGNING_KEY", private_pem(key))
    directory = tmp_path / "audit"
    config = verifier.load_config(
        data_dir=demo_city.data_dir, audit={"directory": directory, "checkpoint_every": 2}
    )
    assert config.audit_directory() == directory
    sample = demo_city.samples[0].application
    async with verifier.build_verifier(config) as engine:
        for _ in range(3):
            await engine.verify(verifier.parse_application(sample))

    assert not (directory / "signing-key.pem").exists()
    lines = (directory / "audit-000001.jsonl").read_bytes().splitlines()
    checkpoints = [json.loads(line[PREFIX_BYTES:-1]) for line in lines if b'"checkpoint"}' in line]
    assert [c["body"]["reason"] for c in checkpoints] == ["periodic", "shutdown"]
    assert {c["body"]["key_id"] for c in checkpoints} == {spec_key_id(key)}
    assert verify_audit_log(directory, key.public_key()).ok


def test_signing_key_options_are_checked(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(private_pem(Ed25519PrivateKey.generate()))
    with pytest.raises(ConfigurationError, match="signing_key or signing_key_file, not both"):
        verifier.load_config(
            audit={"signing_key": key_file.read_text(), "signing_key_file": key_file}
        )
    with pytest.raises(ConfigurationError, match=r"audit\.path"):
        verifier.load_config(audit={"path": tmp_path / "audit.jsonl"})
    with pytest.raises(ConfigurationError, match=r"audit\.max_file_bytes"):
        verifier.load_config(audit={"max_file_bytes": 100})
    missing = {"signing_key_file": tmp_path / "no.pem"}
    config = verifier.load_config(data_dir=tmp_path, audit=missing)
    with pytest.raises(ConfigurationError, match=r"audit\.signing_key_file: .*no\.pem"):
        verifier.build_verifier(config)
