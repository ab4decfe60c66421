"""Tampering with the PostgreSQL audit store's table is caught by ``verifier audit verify``.

A real chain is written (records in batches, periodic checkpoints witnessed in a file), then
one adversary's SQL statement changes the table as someone with write access to it could:
an UPDATE of an entry, the same with its hash made to match, a DELETE, re-ordered seqs, a
moved row, the tail cut off. Each is reported, with the row and what is wrong with it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from audit_support import audit_record
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pg_support import execute, fresh_schema
from support import POSTGRES_URL

from verifier.audit import FileWitness, PostgresAuditLog
from verifier.cli import main

KEY = Ed25519PrivateKey.generate()
REPLICA = "replica-t"
RECORDS = 30
CHECKPOINT_EVERY = 4


@dataclass(frozen=True)
class Store:
    schema: str
    witness: Path
    public_key: Path

    @property
    def table(self) -> str:
        return f"{self.schema}.audit_entries"

    def verify(self, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
        code = main([
            "audit", "verify", "--audit-url", POSTGRES_URL, "--audit-schema", self.schema,
            "--public-key", str(self.public_key), *(options or ("--witness", str(self.witness))),
        ])  # fmt: skip
        return code, capsys.readouterr().out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    for schema in fresh_schema():
        witness = tmp_path / "witness" / "witness.jsonl"
        asyncio.run(_write(schema, witness))
        public_key = tmp_path / "auditor.pub.pem"
        public_key.write_bytes(
            KEY.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        yield Store(schema, witness, public_key)


async def _write(schema: str, witness: Path) -> None:
    log = PostgresAuditLog(
        POSTGRES_URL, KEY, replica_id=REPLICA, schema=schema,
        checkpoint_every=CHECKPOINT_EVERY, witness=FileWitness(witness),
    )  # fmt: skip
    for start in range(0, RECORDS, 5):
        await asyncio.gather(
            *(log.append(audit_record(f"req-{n}")) for n in range(start, start + 5))
        )
    await log.aclose()


def test_the_untouched_store_is_intact(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = store.verify(capsys)
    assert code == 0, out
    assert "INTACT" in out
    assert f"{RECORDS} records" in out


def test_an_updated_entry_breaks_its_hash(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    changed = execute(
        f"UPDATE {store.table} SET entry = convert_to(replace(convert_from(entry, 'UTF8'), "
        "'NEEDS_REVIEW', 'ELIGIBLE'), 'UTF8') WHERE seq = 7"
    )
    assert changed == 1
    code, out = store.verify(capsys)
    assert code == 1
    assert "BROKEN" in out
    assert f"{REPLICA}/" in out
    assert "(seq 7): the hash does not match the entry" in out


def test_an_updated_entry_with_its_hash_recomputed_breaks_the_link(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = execute(
        f"UPDATE {store.table} SET entry = convert_to(replace(convert_from(entry, 'UTF8'), "
        "'NEEDS_REVIEW', 'ELIGIBLE'), 'UTF8') WHERE seq = 7"
    )
    assert rows == 1
    _rehash(store, 7)
    code, out = store.verify(capsys)
    assert code == 1
    assert "(seq 8): prev is not the hash of the previous entry" in out


def _rehash(store: Store, seq: int) -> None:
    """Make the row's hash match its (changed) entry, as a careful forger would."""
    import psycopg
    from pg_support import conninfo

    with psycopg.connect(conninfo(), autocommit=True) as connection:
        row = connection.execute(
            f"SELECT entry, (SELECT hash FROM {store.table} WHERE seq = %s) FROM {store.table} "
            "WHERE seq = %s",
            (seq - 1, seq),
        ).fetchone()
        assert row is not None
        entry, prev = bytes(row[0]), str(row[1])
        digest = hashlib.sha256(prev.encode() + b"\n" + entry).hexdigest()
        connection.execute(f"UPDATE {store.table} SET hash = %s WHERE seq = %s", (digest, seq))


def test_a_deleted_row_leaves_a_gap(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert execute(f"DELETE FROM {store.table} WHERE seq = 12") == 1
    code, out = store.verify(capsys)
    assert code == 1
    assert "(seq 13): seq 13 where 12 was expected" in out


def test_reordered_seqs_are_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    for change in ("seq = -1 WHERE seq = 5", "seq = 5 WHERE seq = 6", "seq = 6 WHERE seq = -1"):
        assert execute(f"UPDATE {store.table} SET {change}") == 1
    code, out = store.verify(capsys)
    assert code == 1
    assert "(seq 5): the row's seq column says 5, its entry says 6" in out


def test_swapped_entries_are_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    """The entries exchanged between two rows, their columns left in place."""
    execute(
        f"UPDATE {store.table} t SET entry = o.entry, hash = o.hash FROM {store.table} o "
        "WHERE (t.seq, o.seq) IN ((9, 10), (10, 9))"
    )
    code, out = store.verify(capsys)
    assert code == 1
    assert "the row's seq column says 9, its entry says 10" in out


def test_a_row_moved_in_time_is_caught(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        execute(
            f"UPDATE {store.table} SET logged_at = logged_at - interval '1 second' WHERE seq = 3"
        )
        == 1
    )
    code, out = store.verify(capsys)
    assert code == 1
    assert "(seq 3): the row's logged_at column is not its entry's time" in out


def test_a_cut_tail_is_truncated_for_the_witness(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tail cut back to just after a periodic checkpoint: a chain that looks whole up to
    there, caught by the witness, which holds a later checkpoint."""
    last = _last_seq(store)
    periodic = _checkpoint_seqs(store)[-2]
    assert execute(f"DELETE FROM {store.table} WHERE seq > %s", periodic) == last - periodic
    code, out = store.verify(capsys)
    assert code == 1
    assert "TRUNCATED" in out
    assert f"the log ends at seq {periodic}, before the checkpoint the witness holds" in out
    code, out = store.verify(capsys, "--no-witness")
    assert code == 1
    assert "UNSEALED" in out
    assert "the log ends with a periodic checkpoint, not a shutdown one" in out


def test_a_cut_tail_without_its_checkpoint_is_unsealed(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert execute(f"DELETE FROM {store.table} WHERE seq = %s", _last_seq(store)) == 1
    code, out = store.verify(capsys)
    assert code == 1
    assert "TRUNCATED" in out  # the shutdown checkpoint was witnessed, and it is gone


def _last_seq(store: Store) -> int:
    return max(_checkpoint_seqs(store))


def _checkpoint_seqs(store: Store) -> list[int]:
    import psycopg
    from pg_support import conninfo

    with psycopg.connect(conninfo()) as connection:
        rows = connection.execute(
            f"SELECT seq FROM {store.table} WHERE entry_type = 'checkpoint' ORDER BY seq"
        ).fetchall()
    return [int(row[0]) for row in rows]
