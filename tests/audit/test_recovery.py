"""After a crash: a torn last line is cut and recorded, every committed record is kept, the
chain runs on, and damage beyond a torn write is refused rather than papered over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from audit_support import PREFIX_BYTES, audit_record, crash_snapshot, entries_of, log_lines
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.audit import AuditLogError, ChainedAuditLog, read_audit_entries, verify_audit_log

KEY = Ed25519PrivateKey.generate()


async def crashed_log(tmp_path: Path, records: int, **options: int) -> Path:
    """A log as a crash leaves it: ``records`` acknowledged records, no shutdown checkpoint."""
    log = ChainedAuditLog(tmp_path / "live", KEY, **options)
    for number in range(records):
        await log.append(audit_record(f"r{number}"))
    crashed = crash_snapshot(tmp_path / "live", tmp_path / "crashed")
    await log.aclose()
    return crashed


def last_file(directory: Path) -> Path:
    return sorted(directory.glob("audit-*.jsonl"))[-1]


def damaged_copy_of_last_line(path: Path) -> bytes:
    line = path.read_bytes().splitlines(keepends=True)[-1]
    return line[:100] + bytes([line[100] ^ 0x01]) + line[101:]


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(lambda path: b'{"hash":"5f3a9', id="incomplete line"),
        pytest.param(lambda path: b"\0" * 4096, id="zeros from a lost block"),
        pytest.param(damaged_copy_of_last_line, id="complete but invalid line"),
    ],
)
async def test_a_torn_last_line_is_cut_and_recorded(tmp_path: Path, tail: object) -> None:
    crashed = await crashed_log(tmp_path, 5)
    path = last_file(crashed)
    torn = tail(path)  # type: ignore[operator]
    with path.open("ab") as handle:
        handle.write(torn)
    log = ChainedAuditLog(crashed, KEY)
    await log.append(audit_record("after"))
    await log.aclose()

    entries = list(read_audit_entries(crashed))
    recovery = [entry for entry in entries if entry.type == "recovery"]
    assert [entry.body for entry in recovery] == [
        {"truncated_bytes": len(torn), "reason": "torn tail after crash"}
    ]
    assert [e.body["request_id"] for e in entries if e.type == "record"] == [
        *(f"r{n}" for n in range(5)),
        "after",
    ]
    assert verify_audit_log(crashed, KEY.public_key()).ok


async def test_a_crash_in_the_first_write_of_a_new_file(tmp_path: Path) -> None:
    crashed = await crashed_log(tmp_path, 12, max_file_bytes=6_000)
    files = sorted(crashed.glob("audit-*.jsonl"))
    assert len(files) > 1
    # The crash came while the first batch of the newest file was being written.
    files[-1].write_bytes(files[-1].read_bytes()[:700])
    kept = sum(1 for e in entries_of_complete(files[:-1]) if e["type"] == "record")

    log = ChainedAuditLog(crashed, KEY, max_file_bytes=6_000)
    await log.aclose()

    entries = entries_of(crashed)
    assert [e["type"] for e in entries if e["type"] != "record"][-2:] == ["recovery", "checkpoint"]
    assert sum(1 for e in entries if e["type"] == "record") == kept
    assert verify_audit_log(crashed, KEY.public_key()).ok


def entries_of_complete(files: list[Path]) -> list[dict[str, object]]:
    return [
        json.loads(line[PREFIX_BYTES:-2])
        for path in files
        for line in path.read_bytes().splitlines(keepends=True)
    ]


async def test_damage_beyond_a_torn_write_is_refused(tmp_path: Path) -> None:
    crashed = await crashed_log(tmp_path, 5)
    path = last_file(crashed)
    lines = path.read_bytes().splitlines(keepends=True)
    # A torn write leaves at most an invalid line and an incomplete one; two invalid lines
    # mean something else happened to the file, and cutting them could drop a sealed record.
    lines[-2] = lines[-2].replace(b'"r3"', b'"r8"')
    lines[-1] = lines[-1].replace(b'"r4"', b'"r9"')
    path.write_bytes(b"".join(lines))
    with pytest.raises(AuditLogError, match="damaged"):
        ChainedAuditLog(crashed, KEY)


async def test_records_after_the_last_checkpoint_form_an_open_tail(tmp_path: Path) -> None:
    crashed = await crashed_log(tmp_path, 7, checkpoint_every=5)

    live = verify_audit_log(crashed, KEY.public_key(), allow_open_tail=True)
    assert (live.ok, live.records, live.sealed_through, live.open_tail) == (True, 7, 5, 2)
    closed = verify_audit_log(crashed, KEY.public_key())
    assert not closed.ok
    assert closed.first_break is not None
    assert "2 entries after its last checkpoint" in closed.first_break.reason

    # The count towards the next checkpoint survives the restart: 3 more records seal it.
    log = ChainedAuditLog(crashed, KEY, checkpoint_every=5)
    for number in range(3):
        await log.append(audit_record(f"late{number}"))
    await log.aclose()
    types = "".join(entry["type"][0] for entry in entries_of(crashed))
    assert types == "rrrrrc" + "rr" + "rrrc" + "c"
    assert verify_audit_log(crashed, KEY.public_key()).ok


async def test_a_log_cut_right_after_rotation_continues_in_a_new_file(tmp_path: Path) -> None:
    crashed = await crashed_log(tmp_path, 12, max_file_bytes=6_000)
    files = sorted(crashed.glob("audit-*.jsonl"))
    files[-1].unlink()  # the crash came between the rotation checkpoint and the next file
    assert verify_audit_log(crashed, KEY.public_key(), allow_open_tail=True).ok

    log = ChainedAuditLog(crashed, KEY, max_file_bytes=6_000)
    await log.append(audit_record("after"))
    await log.aclose()
    assert [path.name for path, _ in log_lines(crashed)][-1] == files[-1].name
    assert verify_audit_log(crashed, KEY.public_key()).ok
