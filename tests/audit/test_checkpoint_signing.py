"""A checkpoint's signature covers every field it states, so none can be changed.

The attack of issue 10 (finding 5): cut the log right after any periodic checkpoint, relabel
that checkpoint ``shutdown`` and recompute its line's hash. Before checkpoints signed their
reason, strict verification called the result INTACT with 401 of 425 records gone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from audit_support import PREFIX_BYTES, audit_record, spec_line, spec_v1_log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from verifier.audit import ChainedAuditLog, verify_audit_log
from verifier.cli import main

KEY = Ed25519PrivateKey.generate()
RECORDS = 425
KEPT = 24


async def write_log(directory: Path, records: int = RECORDS) -> None:
    log = ChainedAuditLog(directory, KEY, fsync=False, checkpoint_every=KEPT)
    for number in range(records):
        await log.append(audit_record(f"r{number}"))
    await log.aclose()


def entry(line: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(line[PREFIX_BYTES:-2])
    return parsed


def rewrite_checkpoint(
    directory: Path, index: int, change: Callable[[dict[str, Any]], None]
) -> list[bytes]:
    """Cut the log after its ``index``-th checkpoint, change that checkpoint's entry and
    recompute its line's hash, as anyone with write access to the files can."""
    path = directory / "audit-000001.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    positions = [n for n, line in enumerate(lines) if entry(line)["type"] == "checkpoint"]
    at = positions[index]
    kept = lines[: at + 1]
    forged = entry(kept[at])
    change(forged)
    kept[at] = spec_line(forged["prev"], forged)[0]
    path.write_bytes(b"".join(kept))
    return kept


def relabel_as_shutdown(checkpoint: dict[str, Any]) -> None:
    checkpoint["body"]["reason"] = "shutdown"


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "audit"
    asyncio.run(write_log(directory))
    assert verify_audit_log(directory, KEY.public_key()).ok
    return directory


def test_a_periodic_checkpoint_relabelled_shutdown_is_detected(log_dir: Path) -> None:
    kept = rewrite_checkpoint(log_dir, 0, relabel_as_shutdown)
    records = sum(entry(line)["type"] == "record" for line in kept)
    assert (records, RECORDS - records) == (KEPT, 401)  # the attack of the issue, exactly
    result = verify_audit_log(log_dir, KEY.public_key())
    assert not result.ok
    assert result.first_break is not None
    assert result.first_break.seq == KEPT + 1
    assert "signature does not verify" in result.first_break.reason


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time", "2026-08-31T01:00:00.000000Z"),
        ("records", 3),
        ("log_id", "a" * 64),
        ("version", 3),
    ],
)
def test_every_field_of_a_checkpoint_is_signed(log_dir: Path, field: str, value: Any) -> None:
    def change(checkpoint: dict[str, Any]) -> None:
        if field == "time":
            checkpoint["time"] = value
        else:
            checkpoint["body"][field] = value

    rewrite_checkpoint(log_dir, 2, change)
    result = verify_audit_log(log_dir, KEY.public_key(), allow_open_tail=True)
    assert not result.ok
    assert result.first_break is not None
    assert result.first_break.seq == 3 * (KEPT + 1)


def write_v1_log(directory: Path, records: int, checkpoint_every: int) -> None:
    spec_v1_log(directory, KEY, records, checkpoint_every)


def test_a_v1_log_still_verifies_but_its_shutdown_is_not_trusted(tmp_path: Path) -> None:
    write_v1_log(tmp_path, 10, 4)
    strict = verify_audit_log(tmp_path, KEY.public_key())
    assert not strict.ok  # a v1 shutdown may be a relabelled periodic checkpoint
    assert strict.unsealed  # ... and that is its only fault
    assert strict.first_break is not None
    assert "v1 shutdown checkpoint" in strict.first_break.reason
    assert (strict.records, strict.checkpoints, strict.sealed_through) == (10, 3, 12)
    live = verify_audit_log(tmp_path, KEY.public_key(), allow_open_tail=True)
    assert live.ok


async def test_a_v1_log_continued_is_sealed_by_a_v2_checkpoint(tmp_path: Path) -> None:
    write_v1_log(tmp_path, 10, 4)
    log = ChainedAuditLog(tmp_path, KEY, fsync=False, checkpoint_every=4)
    await log.aclose()  # nothing new: the v1 shutdown is still sealed again
    log = ChainedAuditLog(tmp_path, KEY, fsync=False, checkpoint_every=4)
    for number in range(5):
        await log.append(audit_record(f"v2-{number}"))
    await log.aclose()
    result = verify_audit_log(tmp_path, KEY.public_key())
    assert result.ok, result.first_break
    entries = [
        entry(line)
        for line in (tmp_path / "audit-000001.jsonl").read_bytes().splitlines(keepends=True)
    ]
    v2 = [e["body"] for e in entries if e["type"] == "checkpoint" and "version" in e["body"]]
    # Counted across the v1 part: 10 old records, then 4 and 5 new ones.
    assert [(c["reason"], c["records"]) for c in v2] == [
        ("shutdown", 10), ("periodic", 14), ("shutdown", 15)
    ]  # fmt: skip
    assert {c["log_id"] for c in v2} == {first_hash(tmp_path)}


def first_hash(directory: Path) -> str:
    return (directory / "audit-000001.jsonl").read_bytes()[9:73].decode()


def verify_command(
    directory: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, str]:
    public = directory.parent / "auditor.pub.pem"
    public.write_bytes(
        KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    code = main(["audit", "verify", "--audit-dir", str(directory), "--public-key", str(public),
                 *options])  # fmt: skip
    return code, capsys.readouterr().out


def test_audit_verify_calls_the_relabelled_log_broken(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rewrite_checkpoint(log_dir, 0, relabel_as_shutdown)
    code, out = verify_command(log_dir, capsys)
    assert (code, out.splitlines()[0]) == (1, f"audit log {log_dir}: BROKEN")
    assert "audit-000001.jsonl:25 (seq 25): the checkpoint's signature does not verify" in out


def test_audit_verify_calls_a_v1_log_unsealed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_v1_log(tmp_path / "audit", 10, 4)
    code, out = verify_command(tmp_path / "audit", capsys)
    assert (code, out.splitlines()[0]) == (1, f"audit log {tmp_path / 'audit'}: UNSEALED")
    assert "v1 shutdown checkpoint, whose reason is not signed" in out
