"""The tamper-evident audit log: its exact format, order, rotation, checkpoints, clocks, and
free text that cannot forge or split a record."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    PREFIX_BYTES,
    alert_record,
    audit_record,
    entries_of,
    log_lines,
    spec_canonical,
    spec_key_id,
    spec_message_v2,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier import AuditUnavailable, ConfigurationError
from verifier.audit import (
    AuditLogError,
    ChainedAuditLog,
    Pseudonymiser,
    load_or_create_key,
    read_audit_entries,
    verify_audit_log,
)

KEY = Ed25519PrivateKey.generate()
HOSTILE = [
    "a\nb", "a\r\nb", "a\rb", "a\u2028b", "a\u2029b", "a\u0085b", "\x1b[31mred\x1b[0m", '"}\n{"',
    "\x00\x0b\x0c\x1c\x1d\x1e", "\\u2028 escaped already", "\ud800 lone surrogate",
    '{"hash":"' + "0" * 64 + '","entry":{"seq":1,"type":"record"}}\n',
]  # fmt: skip


async def test_every_line_follows_the_published_format(tmp_path: Path) -> None:
    appended = [audit_record(f"r{i}") for i in range(7)]
    log = ChainedAuditLog(tmp_path, KEY, checkpoint_every=3)
    for record in appended:
        await log.append(record)
    await log.append(alert_record(1))
    await log.aclose()

    prev, records, log_id = "0" * 64, [], ""
    lines = [line for _, file_lines in log_lines(tmp_path) for line in file_lines]
    for seq, line in enumerate(lines, start=1):
        assert line[:9] == b'{"hash":"'
        assert line[73:PREFIX_BYTES] == b'","entry":'
        assert line.endswith(b"}\n")
        assert line.count(b"\n") == 1
        data = line[PREFIX_BYTES:-2]
        entry = json.loads(data)
        assert data == spec_canonical(entry)
        assert line[9:73].decode() == hashlib.sha256(prev.encode() + b"\n" + data).hexdigest()
        assert set(entry) == {"seq", "prev", "type", "time", "body"}
        assert (entry["seq"], entry["prev"]) == (seq, prev)
        assert datetime.fromisoformat(entry["time"]).utcoffset() == timedelta(0)
        if entry["type"] == "checkpoint":
            assert_signed_checkpoint(entry, prev, log_id, len(records))
        else:
            records.append(entry["body"])
        prev = line[9:73].decode()
        log_id = log_id or prev  # the hash of the first entry
    assert records == [event.model_dump(mode="json") for event in [*appended, alert_record(1)]]
    types = [json.loads(line[PREFIX_BYTES:-2])["type"][0] for line in lines]
    assert "".join(types) == "rrrcrrrcrrc"  # periodic every 3 records, then shutdown
    reasons = [e["body"]["reason"] for e in entries_of(tmp_path) if e["type"] == "checkpoint"]
    assert reasons == ["periodic", "periodic", "shutdown"]


def assert_signed_checkpoint(entry: dict[str, Any], prev: str, log_id: str, records: int) -> None:
    body = entry["body"]
    assert set(body) == {
        "version", "log_id", "through_seq", "chain_hash", "records", "reason", "key_id",
        "signature",
    }  # fmt: skip
    assert (body["version"], body["log_id"], body["records"]) == (2, log_id, records)
    assert body["chain_hash"] == prev
    assert body["through_seq"] == entry["seq"] - 1
    assert body["key_id"] == spec_key_id(KEY)
    message = spec_message_v2(body, entry["time"])
    KEY.public_key().verify(base64.b64decode(str(body["signature"])), message)


async def test_free_text_cannot_forge_or_split_a_record(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    appended = []
    for number, text in enumerate(HOSTILE):
        fields = ("case_number", "operator", "purpose", "legal_basis", "consent_reference")
        record = audit_record(f"r{number}", **dict.fromkeys(fields, text))
        appended.append(record)
        await log.append(record)
    await log.aclose()

    data = (tmp_path / "audit-000001.jsonl").read_bytes()
    entries = list(read_audit_entries(tmp_path))
    assert data.count(b"\n") == len(entries) == len(HOSTILE) + 1
    # Not even a reader that splits on every Unicode line break sees another boundary.
    assert len(data.decode("utf-8").splitlines()) == len(entries)
    assert b"\x1b" not in data
    assert b"\r" not in data
    assert [entry.body for entry in entries[:-1]] == [
        record.model_dump(mode="json") for record in appended
    ]
    assert verify_audit_log(tmp_path, KEY.public_key()).ok


async def test_records_keep_their_commit_order_across_close_and_reopen(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    await asyncio.gather(*(log.append(audit_record(f"r{i}")) for i in range(20)))
    await log.aclose()
    log = ChainedAuditLog(tmp_path, KEY)
    await log.append(audit_record("after-restart"))
    await log.aclose()

    entries = list(read_audit_entries(tmp_path))
    assert [entry.seq for entry in entries] == list(range(1, 24))
    ids = [entry.body["request_id"] for entry in entries if entry.type == "record"]
    assert ids == [f"r{i}" for i in range(20)] + ["after-restart"]
    assert [entry.type for entry in entries[-3:]] == ["checkpoint", "record", "checkpoint"]
    result = verify_audit_log(tmp_path, KEY.public_key())
    assert (result.ok, result.records, result.checkpoints, result.sealed_through) == (
        True, 21, 2, 22,
    )  # fmt: skip


async def test_rotation_seals_each_file_and_the_chain_runs_on(tmp_path: Path) -> None:
    limit = 8_000
    log = ChainedAuditLog(tmp_path, KEY, max_file_bytes=limit, checkpoint_every=4)
    for number in range(40):
        await log.append(audit_record(f"r{number}"))
    await asyncio.gather(*(log.append(audit_record(f"b{n}")) for n in range(12)))
    await log.aclose()

    files = log_lines(tmp_path)
    assert len(files) > 5
    assert [path.name for path, _ in files[:2]] == ["audit-000001.jsonl", "audit-000002.jsonl"]
    for path, lines in files[:-1]:
        last = json.loads(lines[-1][PREFIX_BYTES:-2])
        assert (last["type"], last["body"]["reason"]) == ("checkpoint", "rotation"), path
    for path, lines in files[:-2]:  # the last batch of 12 may be bigger than a file
        assert sum(map(len, lines[:-1])) <= limit, path
    seqs = [entry["seq"] for entry in entries_of(tmp_path)]
    assert seqs == list(range(1, len(seqs) + 1))
    result = verify_audit_log(tmp_path, KEY.public_key())
    assert result.ok
    assert result.records == 52


async def test_a_clock_going_backwards_changes_no_order(tmp_path: Path) -> None:
    def jumping_clock() -> Iterator[datetime]:
        moment = datetime(2026, 8, 31, 12, tzinfo=UTC)
        for step in range(1000):
            moment += timedelta(hours=-3) if step % 3 else timedelta(days=400)
            yield moment

    ticks = jumping_clock()
    log = ChainedAuditLog(tmp_path, KEY, clock=lambda: next(ticks), checkpoint_every=4)
    for number in range(10):
        await log.append(audit_record(f"r{number}"))
    await log.aclose()

    entries = list(read_audit_entries(tmp_path))
    assert [entry.seq for entry in entries] == list(range(1, len(entries) + 1))
    assert [e.body["request_id"] for e in entries if e.type == "record"] == [
        f"r{n}" for n in range(10)
    ]
    times = [entry.time for entry in entries]
    assert any(later < earlier for earlier, later in itertools.pairwise(times))
    assert verify_audit_log(tmp_path, KEY.public_key()).ok


async def test_without_fsync_records_are_written_at_once(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY, fsync=False, checkpoint_every=2)
    for number in range(3):
        await log.append(audit_record(f"r{number}"))
    assert [e.type for e in read_audit_entries(tmp_path)] == ["record"] * 2 + ["checkpoint"] + [
        "record"
    ]
    await log.aclose()
    assert verify_audit_log(tmp_path, KEY.public_key()).ok


async def test_a_closed_log_refuses_records(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    await log.aclose()
    await log.aclose()
    with pytest.raises(AuditUnavailable, match="closed"):
        await log.append(audit_record("late"))
    result = verify_audit_log(tmp_path, KEY.public_key())
    assert (result.ok, result.entries, result.records) == (True, 1, 0)


async def test_one_writer_per_directory(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    with pytest.raises(ConfigurationError, match="in use by another writer"):
        ChainedAuditLog(tmp_path, KEY)
    await log.aclose()
    await ChainedAuditLog(tmp_path, KEY).aclose()  # free again


async def test_reading_names_an_unreadable_line(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    for number in range(4):
        await log.append(audit_record(f"r{number}"))
    await log.aclose()
    path = tmp_path / "audit-000001.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2][: len(lines[2]) // 2] + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(AuditLogError, match=r"audit-000001\.jsonl:3: "):
        list(read_audit_entries(tmp_path))
    with pytest.raises(AuditLogError, match="not a directory"):
        list(read_audit_entries(tmp_path / "missing"))


async def test_reading_skips_an_unfinished_last_line(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    await log.append(audit_record("r0"))
    await log.aclose()
    with (tmp_path / "audit-000001.jsonl").open("ab") as handle:
        handle.write(b'{"hash":"0123')  # a write in progress
    assert [entry.seq for entry in read_audit_entries(tmp_path)] == [1, 2]


def test_pseudonyms_are_keyed_and_stable(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k" / "pseudonym.key")
    assert load_or_create_key(tmp_path / "k" / "pseudonym.key") == key
    assert (tmp_path / "k" / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    one, other = Pseudonymiser(key), Pseudonymiser(bytes(32))
    subject = "11010519491231002X"
    assert one.pseudonym(subject) == one.pseudonym(subject)
    assert one.pseudonym(subject) != other.pseudonym(subject)
    assert subject not in one.pseudonym(subject)


def test_the_log_api_auditors_build_on_is_exported() -> None:
    import verifier.audit

    assert {
        "AuditEntry", "AuditLogError", "ChainBreak", "ChainVerification", "ChainedAuditLog",
        "generate_signing_key_files", "load_or_create_signing_key", "load_public_key",
        "load_signing_key", "public_key_id", "read_audit_entries", "verify_audit_log",
    } <= set(verifier.audit.__all__)  # fmt: skip
    assert issubclass(verifier.audit.AuditLogError, verifier.VerifierError)


async def test_a_sealed_log_verifies_while_it_stays_open_for_more(tmp_path: Path) -> None:
    """``seal``: what a Spark worker does after each task, since it may be killed idle."""
    log = ChainedAuditLog(tmp_path, KEY)
    await asyncio.gather(*(log.append(audit_record(f"r{i}")) for i in range(5)))
    await log.seal()
    await log.seal()  # already sealed: no second checkpoint
    sealed = verify_audit_log(tmp_path, KEY.public_key())  # as a worker killed here leaves it
    assert (sealed.ok, sealed.records, sealed.checkpoints) == (True, 5, 1)
    await log.append(audit_record("next-task"))
    assert not verify_audit_log(tmp_path, KEY.public_key()).ok  # an open tail again
    await log.aclose()
    types = [entry.type for entry in read_audit_entries(tmp_path)]
    assert types == ["record"] * 5 + ["checkpoint", "record", "checkpoint"]
    closed = verify_audit_log(tmp_path, KEY.public_key())
    assert (closed.ok, closed.records, closed.checkpoints) == (True, 6, 2)
    with pytest.raises(AuditUnavailable):
        await log.seal()
