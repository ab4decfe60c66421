"""No audit, no answer: a write that fails (disk full, file too large) refuses its records,
leaves nothing half-written, and the log takes up where it was once the fault clears."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from audit_support import audit_record, entries_of
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support import SCHOOL_PLACE_ACCESS, MakeVerifier, disk_full, resident_id

from verifier import AuditUnavailable, parse_application
from verifier.audit import ChainedAuditLog, load_public_key, read_audit_entries, verify_audit_log

KEY = Ed25519PrivateKey.generate()

SCHOOL_PLACE = {
    "service_item": "school_place",
    "subjects": [
        {"role": "guardian", "id": resident_id("44030519850312201")},
        {"role": "child", "id": resident_id("44030520170605102")},
    ],
    "parameters": {"district": "440305"},
    "reference_date": "2026-08-31",
    **SCHOOL_PLACE_ACCESS,
    "operator": "clerk-0042",
}


def record_ids(directory: Path) -> list[str]:
    return [e["body"]["request_id"] for e in entries_of(directory) if e["type"] == "record"]


async def test_a_failed_batch_leaves_the_chain_as_it_was(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY, checkpoint_every=3)
    await log.append(audit_record("before"))
    with disk_full(tmp_path / "audit-000001.jsonl"):
        outcomes = await asyncio.gather(
            *(log.append(audit_record(f"refused-{n}")) for n in range(5)),
            return_exceptions=True,
        )
    assert all(isinstance(outcome, AuditUnavailable) for outcome in outcomes)
    assert "No space left on device" in str(outcomes[0])
    await log.append(audit_record("after"))
    await log.aclose()

    assert record_ids(tmp_path) == ["before", "after"]
    assert [entry["seq"] for entry in entries_of(tmp_path)] == [1, 2, 3]
    assert verify_audit_log(tmp_path, KEY.public_key()).ok


CHILD = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from audit_support import audit_record
    from verifier.audit import ChainedAuditLog, load_or_create_signing_key

    async def main(directory):
        log = ChainedAuditLog(directory, load_or_create_signing_key(directory))
        await log.append(audit_record("before"))
        size = (directory / "audit-000001.jsonl").stat().st_size
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        # Room for half a record: the next write is cut short, the one after it fails.
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 700, hard))
        refused = await asyncio.gather(
            *(log.append(audit_record(f"refused-{n}")) for n in range(8)),
            return_exceptions=True,
        )
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        await log.append(audit_record("after"))
        await log.aclose()
        print(json.dumps([type(outcome).__name__ for outcome in refused]))

    asyncio.run(main(Path(sys.argv[1])))
    """
)


def test_a_write_cut_short_by_the_file_size_limit_is_undone(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(directory), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout) == ["AuditUnavailable"] * 8
    assert "File too large" in child.stderr  # the writer said why, once
    assert record_ids(directory) == ["before", "after"]
    public_key = load_public_key(directory / "signing-key.pub.pem")
    assert verify_audit_log(directory, public_key).ok


async def test_no_answer_without_a_durable_record(
    make_test_verifier: MakeVerifier, tmp_path: Path
) -> None:
    application = parse_application(SCHOOL_PLACE)
    async with make_test_verifier(audit_dir=tmp_path) as verifier:
        answered = [await verifier.verify(application)]
        with disk_full(tmp_path / "audit-000001.jsonl"):
            outcomes = await asyncio.gather(
                *(verifier.verify(application) for _ in range(10)), return_exceptions=True
            )
        assert all(isinstance(outcome, AuditUnavailable) for outcome in outcomes)
        answered += await asyncio.gather(*(verifier.verify(application) for _ in range(3)))

    records = [e.body["request_id"] for e in read_audit_entries(tmp_path) if e.type == "record"]
    assert sorted(records) == sorted(result.request_id for result in answered)
    assert verify_audit_log(tmp_path, load_public_key(tmp_path / "signing-key.pub.pem")).ok


@pytest.mark.parametrize("fsync", [True, False])
async def test_the_writer_recovers_after_failing_to_undo_a_batch(
    tmp_path: Path, fsync: bool
) -> None:
    # Under /dev/full even cutting the failed batch back fails; the next batch does it first.
    log = ChainedAuditLog(tmp_path, KEY, fsync=fsync)
    with disk_full(tmp_path / "audit-000001.jsonl"), pytest.raises(AuditUnavailable):
        await log.append(audit_record("refused"))
    await log.append(audit_record("after"))
    await log.aclose()
    assert record_ids(tmp_path) == ["after"]
    assert verify_audit_log(tmp_path, KEY.public_key()).ok
