"""Helpers for the audit log tests (importable as ``audit_support``).

``spec_*`` re-implement the file format from its description, independently of the
library's code, so the tests pin the format rather than echo the implementation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier import CallOutcome, DecisionOutcome, FactStatus, UnknownReason
from verifier.audit import (
    AlertRecord,
    AuditedCall,
    AuditedFact,
    AuditedSubject,
    AuditRecord,
    Pseudonymiser,
)
from verifier.catalogue import SharingClass

PSEUDONYMS = Pseudonymiser(bytes(range(32)))
DEPARTMENTS = ("household", "social_insurance", "housing", "tax")
PREFIX_BYTES = 83
"""``{"hash":"`` + 64 hex digits + ``","entry":``."""


def audit_record(request_id: str, **changes: Any) -> AuditRecord:
    """A verification record shaped like the engine's: two subjects, facts, four calls."""
    facts = tuple(
        AuditedFact(
            name=f"fact_{index}",
            fact=f"catalogue_fact_{index}",
            department=DEPARTMENTS[index % 4],
            sharing=SharingClass.CONDITIONAL if index % 2 else SharingClass.UNCONDITIONAL,
            status=FactStatus.UNKNOWN if index == 4 else FactStatus.KNOWN,
            value=None if index == 4 else (index * 7 if index % 2 else True),
            reason=UnknownReason.DEADLINE_EXCEEDED if index == 4 else None,
            cached=index == 1,
            stale=False,
            attempts=1 + (index == 4),
            latency_ms=12.5 + index,
        )
        for index in range(6)
    )
    fields: dict[str, Any] = {
        "request_id": request_id,
        "trace_id": hashlib.md5(request_id.encode()).hexdigest() * 2,
        "time": datetime(2026, 8, 31, 9, 30, tzinfo=UTC),
        "caller_system": "service-hall-0755",
        "caller_department": "education",
        "operator": "clerk-0042",
        "service_item": "school_place",
        "item_version": "2026.1",
        "purpose": "compulsory_education_admission",
        "legal_basis": "Shenzhen compulsory education admission rules 2026, art. 12",
        "consent_reference": "consent-2026-000123",
        "case_number": f"SZ-EDU-2026-{request_id}",
        "reference_date": date(2026, 8, 31),
        "subjects": tuple(
            AuditedSubject(
                role=role,
                pseudonym=PSEUDONYMS.pseudonym(f"{role}{request_id}"),
                masked="4403**********201X",
            )
            for role in ("guardian", "child")
        ),
        "facts": facts,
        "decision": DecisionOutcome.NEEDS_REVIEW,
        "score": None,
        "department_calls": tuple(
            AuditedCall(department=d, outcome=CallOutcome.OK, duration_ms=11.25, attempts=1)
            for d in DEPARTMENTS
        ),
        "duration_ms": 48.375,
    }
    fields.update(changes)
    return AuditRecord(**fields)


def alert_record(number: int) -> AlertRecord:
    return AlertRecord(
        time=datetime(2026, 8, 31, 23, 5, tzinfo=UTC) + timedelta(minutes=number),
        caller_system="service-hall-0755",
        rule="distinct_subjects_per_hour",
        description="one caller asked about more distinct subjects than allowed in an hour",
        observed=201 + number,
        threshold=200,
        window_seconds=3600,
    )


def spec_canonical(entry: Any) -> bytes:
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char in ("\u2028", "\u2029", "\u0085"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text.encode("utf-8")


def spec_line(prev: str, entry: dict[str, Any]) -> tuple[bytes, str]:
    data = spec_canonical(entry)
    digest = hashlib.sha256(prev.encode("ascii") + b"\n" + data).hexdigest()
    return b'{"hash":"' + digest.encode() + b'","entry":' + data + b"}\n", digest


def spec_key_id(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def spec_signature(key: Ed25519PrivateKey, through_seq: int, chain_hash: str) -> str:
    """A format v1 checkpoint's signature: it covered only the position and the chain hash."""
    message = b"onestop-verifier/audit-checkpoint/v1\n" + str(through_seq).encode() + b"\n"
    return base64.b64encode(key.sign(message + chain_hash.encode())).decode()


def spec_message_v2(body: dict[str, Any], time: str) -> bytes:
    """What a format v2 checkpoint's signature covers: every field of its body but the
    signature, and the entry's time, as canonical JSON."""
    signed = {name: value for name, value in body.items() if name != "signature"}
    return b"onestop-verifier/audit-checkpoint/v2\n" + spec_canonical({**signed, "time": time})


def spec_checkpoint_v2(
    key: Ed25519PrivateKey, *, log_id: str, through_seq: int, chain_hash: str, records: int,
    reason: str, time: str,
) -> dict[str, Any]:  # fmt: skip
    """The body of a format v2 checkpoint entry, signed with ``key``."""
    body: dict[str, Any] = {
        "version": 2, "log_id": log_id, "through_seq": through_seq, "chain_hash": chain_hash,
        "records": records, "reason": reason, "key_id": spec_key_id(key),
    }  # fmt: skip
    body["signature"] = base64.b64encode(key.sign(spec_message_v2(body, time))).decode()
    return body


def log_lines(directory: Path) -> list[tuple[Path, list[bytes]]]:
    """Every file of the log and its lines (with their newlines), in file order."""
    return [
        (path, path.read_bytes().splitlines(keepends=True))
        for path in sorted(directory.glob("audit-*.jsonl"))
    ]


def entries_of(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line[PREFIX_BYTES:-2]) for _, lines in log_lines(directory) for line in lines
    ]


def crash_snapshot(directory: Path, target: Path) -> Path:
    """What the disk holds if the writer of the (open) log in ``directory`` died now: its
    files as they are, with no shutdown checkpoint. The copy is not locked by the writer."""
    shutil.copytree(directory, target)
    return target


def spec_v1_log(
    directory: Path, key: Ed25519PrivateKey, records: int, checkpoint_every: int
) -> None:
    """A log as format v1 wrote it (checkpoints signing only their position and chain hash),
    ending with a v1 shutdown checkpoint."""
    lines, prev, seq = [], "0" * 64, 0

    def add(entry_type: str, body: dict[str, Any]) -> None:
        nonlocal prev, seq
        seq += 1
        entry = {
            "seq": seq,
            "prev": prev,
            "type": entry_type,
            "body": body,
            "time": "2026-08-31T09:30:00.000000Z",
        }
        line, prev = spec_line(prev, entry)
        lines.append(line)

    def checkpoint(reason: str) -> None:
        signature = spec_signature(key, seq, prev)
        body = {"chain_hash": prev, "through_seq": seq, "key_id": spec_key_id(key),
                "signature": signature, "reason": reason}  # fmt: skip
        add("checkpoint", body)

    for number in range(records):
        add("record", audit_record(f"v1-{number}").model_dump(mode="json"))
        if (number + 1) % checkpoint_every == 0:
            checkpoint("periodic")
    checkpoint("shutdown")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "audit-000001.jsonl").write_bytes(b"".join(lines))
