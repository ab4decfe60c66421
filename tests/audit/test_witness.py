"""Witnesses catch a log cut back to a real earlier checkpoint, which no chain can show.

The same tests run against each witness kind: an append-only file, a real PostgreSQL table
and a real Redis stream (``VERIFIER_TEST_POSTGRES_URL`` / ``VERIFIER_TEST_REDIS_URL``, else
the local servers; skipped when unreachable, failed under ``VERIFIER_REQUIRE_SERVICES=1``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from audit_support import PREFIX_BYTES, audit_record, spec_line, spec_v1_log
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import text
from support import POSTGRES_URL, REDIS_URL, reachable_postgres, reachable_redis

from verifier import ConfigurationError
from verifier.audit import (
    ChainedAuditLog,
    FileWitness,
    RedisWitness,
    SignedCheckpoint,
    SqlWitness,
    Witness,
    WitnessError,
    verify_audit_log,
)
from verifier.cli import main
from verifier.config import load_config, witness_for

KEY = Ed25519PrivateKey.generate()
EVERY = 10


@pytest.fixture
def file_witness(tmp_path: Path) -> Witness:
    return FileWitness(tmp_path / "audit-witness" / "witness.jsonl")


@pytest.fixture
def postgres_witness() -> Iterator[Witness]:
    engine = reachable_postgres()
    table = f"verifier_test_witness_{uuid.uuid4().hex[:8]}"
    try:
        witness = SqlWitness(POSTGRES_URL, table=table)
        yield witness
        witness.close()
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
        engine.dispose()


@pytest.fixture
def redis_witness() -> Iterator[Witness]:
    client = reachable_redis()
    prefix = f"verifier-test:witness:{uuid.uuid4().hex[:8]}:"
    try:
        witness = RedisWitness(REDIS_URL, prefix=prefix)
        yield witness
        witness.close()
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(
    params=[
        "file",
        pytest.param("postgres", marks=pytest.mark.postgres),
        "redis",
    ]
)
def witness(request: pytest.FixtureRequest) -> Witness:
    found: Witness = request.getfixturevalue(f"{request.param}_witness")
    return found


async def write_sessions(
    directory: Path, witness: Witness | None, sessions: tuple[int, ...], **options: Any
) -> None:
    """One ChainedAuditLog session per number: that many records, then a clean close."""
    number = 0
    for records in sessions:
        log = ChainedAuditLog(
            directory, KEY, fsync=False, checkpoint_every=EVERY, witness=witness, **options
        )
        for _ in range(records):
            await log.append(audit_record(f"r{number}"))
            number += 1
        await log.aclose()


def lines_of(directory: Path) -> list[bytes]:
    return (directory / "audit-000001.jsonl").read_bytes().splitlines(keepends=True)


def entry(line: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(line[PREFIX_BYTES:-2])
    return parsed


def cut_after(directory: Path, reason: str, occurrence: int = 0) -> int:
    """Cut the log after a checkpoint of ``reason``; returns the seq it now ends at."""
    lines = lines_of(directory)
    found = [n for n, line in enumerate(lines) if entry(line)["body"].get("reason") == reason]
    at = found[occurrence]
    (directory / "audit-000001.jsonl").write_bytes(b"".join(lines[: at + 1]))
    return at + 1


def last_checkpoint(directory: Path) -> dict[str, Any]:
    return next(e for e in map(entry, reversed(lines_of(directory))) if e["type"] == "checkpoint")


async def test_an_intact_log_agrees_with_its_witness(tmp_path: Path, witness: Witness) -> None:
    await write_sessions(tmp_path / "audit", witness, (25,))
    result = verify_audit_log(tmp_path / "audit", KEY.public_key(), witness=witness)
    assert result.ok, result.first_break
    assert result.witnessed is not None
    last = last_checkpoint(tmp_path / "audit")
    assert result.witnessed.log_body() == last["body"]
    assert (result.witnessed.reason, result.witnessed.records) == ("shutdown", 25)


async def test_a_log_cut_back_to_a_real_shutdown_is_truncated(
    tmp_path: Path, witness: Witness
) -> None:
    """The attack that survives signing every field: two clean sessions, the second cut off
    right after the first one's shutdown checkpoint. Alone the log is INTACT; with the
    witness it is TRUNCATED, naming the witnessed seq and the log's last seq."""
    directory = tmp_path / "audit"
    await write_sessions(directory, witness, (24, 401))
    ends_at = cut_after(directory, "shutdown")
    alone = verify_audit_log(directory, KEY.public_key())
    assert alone.ok
    assert alone.records == 24
    result = verify_audit_log(directory, KEY.public_key(), witness=witness)
    assert not result.ok
    assert result.truncated
    assert result.witnessed is not None
    assert (result.witnessed.reason, result.witnessed.records) == ("shutdown", 425)
    assert result.first_break is not None
    witnessed_seq = result.witnessed.through_seq + 1
    assert f"the log ends at seq {ends_at}, before the checkpoint the witness holds " in (
        result.first_break.reason
    )
    assert f"(seq {witnessed_seq}, sealing seq {witnessed_seq - 1} and 425 records" in (
        result.first_break.reason
    )


async def test_a_log_cut_back_to_a_periodic_checkpoint_is_truncated(
    tmp_path: Path, witness: Witness
) -> None:
    directory = tmp_path / "audit"
    await write_sessions(directory, witness, (425,))
    cut_after(directory, "periodic", 1)
    assert verify_audit_log(directory, KEY.public_key()).unsealed  # alone: maybe just live
    result = verify_audit_log(directory, KEY.public_key(), allow_open_tail=True, witness=witness)
    assert (result.ok, result.truncated) == (False, True)


async def test_the_relabelling_attack_is_broken_with_or_without_a_witness(
    tmp_path: Path, file_witness: Witness
) -> None:
    directory = tmp_path / "audit"
    await write_sessions(directory, file_witness, (425,))
    cut_after(directory, "periodic")
    lines = lines_of(directory)
    forged = entry(lines[-1])
    forged["body"]["reason"] = "shutdown"
    lines[-1] = spec_line(forged["prev"], forged)[0]
    (directory / "audit-000001.jsonl").write_bytes(b"".join(lines))
    for witness in (None, file_witness):
        result = verify_audit_log(directory, KEY.public_key(), witness=witness)
        assert (result.ok, result.truncated, result.unsealed) == (False, False, False)
        assert result.first_break is not None
        assert result.first_break.reason == "the checkpoint's signature does not verify"


async def test_a_log_rewritten_after_it_was_witnessed_is_broken(
    tmp_path: Path, file_witness: Witness
) -> None:
    """Someone holding the signing key re-writes the log from seq 5 on and re-signs it: the
    chain is perfect, but the witness remembers another hash at its checkpoint."""
    directory = tmp_path / "audit"
    await write_sessions(directory, file_witness, (25,))
    rewritten = tmp_path / "rewritten"
    await write_sessions(rewritten, None, (25,))  # the same records, another time, re-signed
    lines = lines_of(directory)[:4] + lines_of(rewritten)[4:]
    prev, fixed, log_id = "0" * 64, [], None
    for line in lines:
        item = entry(line)
        item["prev"] = prev
        if item["type"] == "checkpoint":
            item["body"] = resigned(item, prev, log_id or "")
        line, prev = spec_line(prev, item)
        log_id = log_id or line[9:73].decode()
        fixed.append(line)
    (directory / "audit-000001.jsonl").write_bytes(b"".join(fixed))
    assert verify_audit_log(directory, KEY.public_key()).ok  # a perfect chain, alone
    result = verify_audit_log(directory, KEY.public_key(), witness=file_witness)
    assert not result.ok
    assert not result.truncated
    assert result.first_break is not None
    assert "the log was rewritten after it was witnessed" in result.first_break.reason


def resigned(item: dict[str, Any], prev: str, log_id: str) -> dict[str, Any]:
    body = item["body"]
    return SignedCheckpoint.sign(
        KEY,
        log_id=log_id,
        through_seq=item["seq"] - 1,
        chain_hash=prev,
        records=body["records"],
        reason=body["reason"],
        time=item["time"],
    ).log_body()


async def test_a_witness_cannot_make_an_intact_log_look_truncated(
    tmp_path: Path, file_witness: FileWitness
) -> None:
    directory = tmp_path / "audit"
    await write_sessions(directory, file_witness, (25,))
    held = verify_audit_log(directory, KEY.public_key(), witness=file_witness).witnessed
    assert held is not None
    forged = SignedCheckpoint.sign(
        Ed25519PrivateKey.generate(),
        log_id=held.log_id,
        through_seq=held.through_seq + 100,
        chain_hash=held.chain_hash,
        records=held.records + 100,
        reason="shutdown",
        time=held.time,
    )
    file_witness.publish(forged)
    with pytest.raises(WitnessError, match="is not signed by the given public key"):
        verify_audit_log(directory, KEY.public_key(), witness=file_witness)


def test_a_v1_log_is_unsealed_whatever_the_witness(tmp_path: Path, witness: Witness) -> None:
    spec_v1_log(tmp_path / "audit", KEY, 10, 4)
    result = verify_audit_log(tmp_path / "audit", KEY.public_key(), witness=witness)
    assert (result.ok, result.unsealed, result.truncated, result.witnessed) == (
        False, True, False, None
    )  # fmt: skip


async def test_a_witness_outage_loses_no_record_and_is_caught_up(tmp_path: Path) -> None:
    """The witness's directory cannot be created (a file is in the way): every record is
    still written and the log is intact; once the way is clear, the retries publish."""
    blocker = tmp_path / "witness-host"
    blocker.write_text("not a directory")
    witness = FileWitness(blocker / "witness.jsonl")
    directory = tmp_path / "audit"
    log = ChainedAuditLog(
        directory, KEY, fsync=False, checkpoint_every=EVERY, witness=witness,
        witness_retry_seconds=0.02,
    )  # fmt: skip
    for number in range(95):
        await log.append(audit_record(f"r{number}"))
    assert log.publisher is not None
    assert log.publisher.published == 0
    assert log.publisher.pending >= 1
    assert verify_audit_log(directory, KEY.public_key(), allow_open_tail=True).records == 95
    blocker.unlink()  # the witness is back
    await log.aclose()
    assert log.publisher.pending == 0
    result = verify_audit_log(directory, KEY.public_key(), witness=witness)
    assert result.ok, result.first_break
    assert result.witnessed is not None
    assert (result.witnessed.reason, result.witnessed.records) == ("shutdown", 95)


async def test_an_unreachable_redis_witness_loses_no_record(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    witness = RedisWitness(f"redis://127.0.0.1:{port}/0", timeout_seconds=0.2)
    directory = tmp_path / "audit"
    await write_sessions(directory, witness, (60,), witness_close_seconds=0.2)
    result = verify_audit_log(directory, KEY.public_key())
    assert (result.ok, result.records) == (True, 60)


class HangingWitness(FileWitness):
    """A witness whose every publication hangs until released."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()
        self.attempts = 0

    def publish(self, checkpoint: SignedCheckpoint) -> None:
        self.attempts += 1
        self.release.wait()
        super().publish(checkpoint)


async def test_a_hanging_witness_does_not_hold_up_records(tmp_path: Path) -> None:
    witness = HangingWitness(tmp_path / "witness.jsonl")
    log = ChainedAuditLog(tmp_path / "audit", KEY, checkpoint_every=2, witness=witness)
    # With publication in the writer's path this would wait forever, not 10 s.
    await asyncio.wait_for(
        asyncio.gather(*(log.append(audit_record(f"r{n}")) for n in range(40))), 10
    )
    assert log.publisher is not None
    assert log.publisher.published == 0  # the first publication hangs (or has not begun)
    assert witness.attempts <= 1
    witness.release.set()
    await log.aclose()
    result = verify_audit_log(tmp_path / "audit", KEY.public_key(), witness=witness)
    assert result.ok
    assert result.witnessed is not None
    assert result.witnessed.records == 40


def witness_settings(witness: Witness) -> dict[str, Any]:
    """The ``audit.witness`` configuration naming the same witness as the fixture."""
    if isinstance(witness, FileWitness):
        return {"kind": "file", "path": str(witness.path)}
    if isinstance(witness, SqlWitness):
        return {"kind": "postgres", "url": POSTGRES_URL, "table": witness.table}
    assert isinstance(witness, RedisWitness)
    return {"kind": "redis", "url": REDIS_URL, "stream_prefix": witness.prefix}


def write_config(tmp_path: Path, witness: Witness) -> Path:
    settings = {
        "data_dir": str(tmp_path / "data"),
        "audit": {"directory": str(tmp_path / "audit"), "witness": witness_settings(witness)},
    }
    path = tmp_path / "verifier.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def audit_verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", "verify", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def test_audit_verify_reads_the_configured_witness(
    tmp_path: Path, witness: Witness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Written and verified through the configuration, as ``verifier serve`` and an auditor
    would: the cut-back log is TRUNCATED, naming the witnessed seq and the log's last seq."""
    config_file = write_config(tmp_path, witness)
    configured = witness_for(load_config(config_file))
    assert configured is not None
    await write_sessions(tmp_path / "audit", configured, (24, 401))
    public = tmp_path / "auditor.pub.pem"
    public.write_bytes(
        KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    verify = ["--config", str(config_file), "--public-key", str(public)]
    code, out = audit_verify(capsys, *verify)
    assert (code, out.splitlines()[0]) == (0, f"audit log {tmp_path / 'audit'}: INTACT")
    last = entry(lines_of(tmp_path / "audit")[-1])["seq"]
    assert f"latest checkpoint seq {last} (shutdown, 425 records" in out
    ends_at = cut_after(tmp_path / "audit", "shutdown")
    code, out = audit_verify(capsys, *verify)
    assert (code, out.splitlines()[0]) == (1, f"audit log {tmp_path / 'audit'}: TRUNCATED")
    assert (
        f"the log ends at seq {ends_at}, before the checkpoint the witness holds (seq {last}"
        in (out)
    )
    code, out = audit_verify(capsys, *verify, "--no-witness")
    assert (code, out.splitlines()[0]) == (0, f"audit log {tmp_path / 'audit'}: INTACT")
    assert "witness         not consulted" in out


async def test_audit_verify_takes_a_witness_file_or_url(
    tmp_path: Path, file_witness: FileWitness, capsys: pytest.CaptureFixture[str]
) -> None:
    await write_sessions(tmp_path / "audit", file_witness, (24, 30))
    cut_after(tmp_path / "audit", "shutdown")
    public = tmp_path / "auditor.pub.pem"
    public.write_bytes(
        KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    verify = ["--audit-dir", str(tmp_path / "audit"), "--public-key", str(public)]
    code, out = audit_verify(capsys, *verify, "--witness", str(file_witness.path))
    assert (code, out.splitlines()[0]) == (1, f"audit log {tmp_path / 'audit'}: TRUNCATED")
    with socket.socket() as probe:  # a witness that cannot be reached: could not check
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = audit_verify(capsys, *verify, "--witness", f"redis://127.0.0.1:{port}/0")
    assert code == 2
    assert "witness error: witness redis 127.0.0.1:" in out


def test_a_witness_file_inside_the_audit_directory_is_refused(tmp_path: Path) -> None:
    config_file = tmp_path / "verifier.yaml"
    audit = tmp_path / "audit"
    config_file.write_text(yaml.safe_dump({"audit": {
        "directory": str(audit), "witness": {"path": str(audit / "witness.jsonl")},
    }}), encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"audit\.witness\.path .* is inside the audit"):
        witness_for(load_config(config_file))


def test_the_default_witness_is_a_file_beside_the_log(tmp_path: Path) -> None:
    config = load_config(None, data_dir=tmp_path)
    witness = witness_for(config)
    assert isinstance(witness, FileWitness)
    assert witness.path == tmp_path / "audit-witness" / "witness.jsonl"
    assert not witness.path.is_relative_to(config.audit_directory())


@pytest.mark.parametrize(
    "url",
    ["nosuchdialect://auditor:s3cret@db/audit", "postgresql+nosuchdriver://auditor:s3cret@db/a"],
)
def test_a_witness_url_sqlalchemy_refuses_is_named_without_its_password(
    tmp_path: Path, url: str
) -> None:
    # SqlWitness maps SQLAlchemy's error itself: the wiring catches it without SQLAlchemy.
    with pytest.raises(ValueError, match="not a valid SQLAlchemy URL") as raised:
        SqlWitness(url)
    assert "s3cret" not in str(raised.value)
    config = load_config(
        None, data_dir=tmp_path, audit={"witness": {"kind": "postgres", "url": url}}
    )
    with pytest.raises(ConfigurationError, match=r"^audit\.witness\.url: not a valid URL$"):
        witness_for(config)
