"""The pseudonym key lives apart from the audit log: whoever copies the log must not get it.

The ID space is small (a birth date, a sequence number, a check character), so the key and
the log together reverse every pseudonym in seconds.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import ConfigurationError, load_config
from verifier.audit import Pseudonymiser, read_audit_entries
from verifier.config import pseudonymiser_for

OLD_KEY = bytes(range(100, 132))


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_default_key_is_created_in_keys_not_beside_the_log(tmp_path: Path) -> None:
    config = load_config(data_dir=tmp_path)
    first = pseudonymiser_for(config)
    key_file = tmp_path / "keys" / "pseudonym.key"
    assert key_file.is_file()
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700
    assert not (tmp_path / "audit" / "pseudonym.key").exists()
    assert not key_file.is_relative_to(config.audit_directory())
    assert pseudonymiser_for(config).fingerprint == first.fingerprint  # read, not re-created


def test_a_key_beside_the_log_is_moved_once_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = tmp_path / "audit" / "pseudonym.key"
    old.parent.mkdir()
    old.write_text(OLD_KEY.hex() + "\n", encoding="ascii")
    config = load_config(data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="verifier.audit"):
        moved = pseudonymiser_for(config)
        again = pseudonymiser_for(config)
    # The same key, so every pseudonym already in the log is still found.
    assert moved.fingerprint == again.fingerprint == Pseudonymiser(OLD_KEY).fingerprint
    assert not old.exists()
    new = tmp_path / "keys" / "pseudonym.key"
    assert new.read_text(encoding="ascii").strip() == OLD_KEY.hex()
    assert (mode(new), mode(new.parent)) == (0o600, 0o700)
    moves = [r.getMessage() for r in caplog.records if "moved the pseudonym key" in r.getMessage()]
    assert len(moves) == 1
    assert str(old) in moves[0]
    assert OLD_KEY.hex() not in caplog.text


def test_the_auditor_commands_move_it_too_and_never_create_one(tmp_path: Path) -> None:
    config = load_config(data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match=r"keys/pseudonym\.key"):
        pseudonymiser_for(config, create=False)
    old = tmp_path / "audit" / "pseudonym.key"
    old.parent.mkdir()
    old.write_text(OLD_KEY.hex(), encoding="ascii")
    assert pseudonymiser_for(config, create=False).fingerprint == Pseudonymiser(OLD_KEY).fingerprint
    assert (tmp_path / "keys" / "pseudonym.key").is_file()


def test_pseudonym_key_file_puts_it_elsewhere(tmp_path: Path) -> None:
    elsewhere = tmp_path / "secrets" / "verifier" / "pseudonym.key"
    config = load_config(data_dir=tmp_path / "data", audit={"pseudonym_key_file": elsewhere})
    created = pseudonymiser_for(config)
    assert elsewhere.is_file()
    assert mode(elsewhere) == 0o600
    assert not (tmp_path / "data" / "keys").exists()
    assert pseudonymiser_for(config).fingerprint == created.fingerprint


def test_pseudonym_key_file_takes_over_a_key_beside_the_log(tmp_path: Path) -> None:
    old = tmp_path / "audit" / "pseudonym.key"
    old.parent.mkdir()
    old.write_text(OLD_KEY.hex(), encoding="ascii")
    elsewhere = tmp_path / "secrets" / "pseudonym.key"
    config = load_config(data_dir=tmp_path, audit={"pseudonym_key_file": elsewhere})
    assert pseudonymiser_for(config).fingerprint == Pseudonymiser(OLD_KEY).fingerprint
    assert elsewhere.is_file()
    assert not old.exists()


def test_a_key_and_a_key_file_are_refused_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="pseudonym_key or pseudonym_key_file"):
        load_config(audit={"pseudonym_key": OLD_KEY.hex(), "pseudonym_key_file": tmp_path})


def test_the_fingerprint_names_the_key_without_revealing_it() -> None:
    fingerprint = Pseudonymiser(OLD_KEY).fingerprint
    assert len(fingerprint) == 16
    assert int(fingerprint, 16) >= 0
    assert fingerprint not in OLD_KEY.hex()
    assert Pseudonymiser(bytes(32)).fingerprint != fingerprint


async def test_every_record_carries_the_keys_fingerprint(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    config = verifier.load_config(
        data_dir=demo_city.data_dir,
        audit={"directory": tmp_path / "audit", "pseudonym_key": OLD_KEY.hex()},
    )
    sample = demo_city.samples[0]
    async with verifier.build_verifier(config) as engine:
        await engine.verify(verifier.parse_application(sample.application))
    [record] = [e.body for e in read_audit_entries(tmp_path / "audit") if e.type == "record"]
    assert record["pseudonym_key_fingerprint"] == Pseudonymiser(OLD_KEY).fingerprint
