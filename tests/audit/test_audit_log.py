"""The JSON Lines audit log: one line per record, durable, no forged boundaries."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from verifier import AuditUnavailable, DecisionOutcome
from verifier.audit import (
    AuditRecord,
    JsonLinesAuditLog,
    Pseudonymiser,
    encode_record,
    load_or_create_key,
)


def record(case_number: str | None = None, request_id: str = "r1") -> AuditRecord:
    return AuditRecord(
        request_id=request_id,
        time=datetime(2026, 8, 31, tzinfo=UTC),
        caller_system="hall-7",
        caller_department=None,
        operator="clerk",
        service_item="school_place",
        item_version="2026.1",
        purpose=None,
        legal_basis=None,
        consent_reference=None,
        case_number=case_number,
        reference_date=date(2026, 8, 31),
        subjects=(),
        facts=(),
        decision=DecisionOutcome.ELIGIBLE,
        score=None,
        department_calls=(),
        duration_ms=1.0,
    )


@pytest.mark.parametrize(
    "hostile", ["a\nb", "a\r\nb", "a\u2028b", "a\u2029b", "\x1b[31mred", "}\n{"]
)
def test_hostile_text_cannot_split_a_record(hostile: str) -> None:
    line = encode_record(record(case_number=hostile))
    assert line.count(b"\n") == 1
    assert line.endswith(b"\n")
    assert "\u2028".encode() not in line
    assert "\u2029".encode() not in line
    assert json.loads(line)["case_number"] == hostile


async def test_records_are_appended_in_order_and_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = JsonLinesAuditLog(path)
    await asyncio.gather(*(log.append(record(request_id=f"r{i}")) for i in range(20)))
    await log.aclose()
    log = JsonLinesAuditLog(path)
    await log.append(record(request_id="after-restart"))
    await log.aclose()
    ids = [json.loads(line)["request_id"] for line in path.read_text().splitlines()]
    assert ids == [f"r{i}" for i in range(20)] + ["after-restart"]


async def test_failed_write_refuses_the_batch_and_recovers(tmp_path: Path) -> None:
    log = JsonLinesAuditLog(Path("/dev/full"))
    with pytest.raises(AuditUnavailable, match="audit write failed"):
        await log.append(record())
    await log.aclose()
    with pytest.raises(AuditUnavailable, match="closed"):
        await log.append(record())


def test_pseudonyms_are_keyed_and_stable(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "k" / "pseudonym.key")
    assert load_or_create_key(tmp_path / "k" / "pseudonym.key") == key
    assert (tmp_path / "k" / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    one, other = Pseudonymiser(key), Pseudonymiser(bytes(32))
    subject = "11010519491231002X"
    assert one.pseudonym(subject) == one.pseudonym(subject)
    assert one.pseudonym(subject) != other.pseudonym(subject)
    assert subject not in one.pseudonym(subject)
