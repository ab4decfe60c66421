"""Retention of the PostgreSQL audit store: old months dropped behind an exported, signed
checkpoint, after which every chain still verifies, from that checkpoint on; a chain that is
not sealed at the cut retires nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_support import audit_record
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pg_support import MONTH_END, execute, fresh_schema, stepping_clock
from support import POSTGRES_URL

from verifier.audit import PostgresAuditLog, PostgresAuditStore, SignedCheckpoint
from verifier.cli import main

KEY = Ed25519PrivateKey.generate()
EARLY_AUGUST = datetime(2026, 8, 3, 9, tzinfo=UTC)


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema()


async def _write(
    schema: str, replica: str, clock_start: datetime, count: int, close: bool = True
) -> None:
    log = PostgresAuditLog(
        POSTGRES_URL, KEY, replica_id=replica, schema=schema, checkpoint_every=4,
        clock=stepping_clock(clock_start, timedelta(milliseconds=30)),
    )  # fmt: skip
    for n in range(count):
        await log.append(audit_record(f"{replica}-{n}"))
    if close:
        await log.aclose()
    else:  # as if killed: the session ends, the chain is left unsealed
        log._writer._disconnect()
        log._executor.shutdown()


def _public_key(tmp_path: Path) -> Path:
    path = tmp_path / "auditor.pub.pem"
    path.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _cli(schema: str, *args: str) -> int:
    return main(["audit", *args, "--audit-url", POSTGRES_URL, "--audit-schema", schema])


async def test_old_months_retire_behind_exported_checkpoints(
    schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _write(schema, "crossing", MONTH_END, 12)  # August into September
    await _write(schema, "august-only", EARLY_AUGUST, 5)  # stopped cleanly in August
    key = str(_public_key(tmp_path))
    exported = tmp_path / "exported"
    code = _cli(
        schema, "retire", "--before", "2026-09", "--export", str(exported), "--public-key", key
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "retired months: 2026-08" in out
    assert "replica crossing: sealed by its rotation checkpoint" in out
    assert "replica august-only: sealed by its shutdown checkpoint" in out
    statements = sorted(exported.glob("retired-*.json"))
    assert len(statements) == 2
    for path in statements:
        assert SignedCheckpoint.from_json(path.read_text()).verifies(KEY.public_key())

    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        assert {e.file.name for e in store.entries("crossing")} == {"2026-09"}
        assert list(store.entries("august-only")) == []
        crossing = store.verify("crossing", KEY.public_key())
        assert crossing.ok, crossing.first_break
        assert crossing.retired is not None
        assert crossing.records == 12  # counted on from the checkpoint's records
        assert store.verify("august-only", KEY.public_key()).ok
    code = _cli(schema, "verify", "--public-key", key, "--no-witness")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "retired         seq 1 to" in out

    # What is left is still tamper-evident: its first row deleted, the link is gone.
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        first = min(entry.seq for entry in store.entries("crossing"))
    assert (
        execute(
            f"DELETE FROM {schema}.audit_entries WHERE replica_id = 'crossing' AND seq = %s", first
        )
        == 1
    )
    assert _cli(schema, "verify", "--public-key", key, "--no-witness") == 1
    assert f"seq {first + 1} where {first} was expected" in capsys.readouterr().out


async def test_a_chain_unsealed_at_the_cut_retires_nothing(
    schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _write(schema, "sealed", MONTH_END, 8)
    await _write(schema, "crashed", EARLY_AUGUST, 3, close=False)
    key = str(_public_key(tmp_path))
    code = _cli(
        schema,
        "retire",
        "--before",
        "2026-09",
        "--export",
        str(tmp_path / "x"),
        "--public-key",
        key,
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "replica crashed: its last entry before 2026-09-01" in err
    assert "nothing retired" in err
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        assert {e.file.name for e in store.entries("sealed")} == {"2026-08", "2026-09"}
