"""Retention of the PostgreSQL audit store: dropping whole old months, only behind a signed,
exported, verified checkpoint.

A month's partition holds every replica's rows of that month. It may go when, for every
replica with rows in it, the chain verifies (with the given public key) and its last entry
before the cut is a checkpoint that seals it — the rotation checkpoint the writer writes when
a chain crosses into a new month, or the shutdown checkpoint of a replica that stopped. That
checkpoint is exported (the auditor's copy) and kept in ``audit_retired``; the chain is then
verified from it onwards (``verify_chain(retired=…)``), so what is left is still proven
whole, and the retired months are proven to have ended where the checkpoint says. A replica
whose chain ends unsealed before the cut (it crashed and never wrote again) holds the
retirement up: its tail is signed by nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql

from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._format import AuditLogError, MalformedLine, decode_entry
from verifier.audit._pg_reader import PostgresAuditStore
from verifier.audit._pg_schema import partition_name

SEALING_REASONS = ("rotation", "shutdown")


@dataclass(frozen=True)
class Retirement:
    """What ``retire_months`` dropped, and the checkpoints it did so behind."""

    months: list[date]
    checkpoints: dict[str, SignedCheckpoint]
    """By replica id: the checkpoint its retired rows ended with."""
    exported: list[Path]


def retire_months(
    store: PostgresAuditStore, before: date, public_key: Ed25519PublicKey, export_to: Path
) -> Retirement:
    """Drop the store's partitions of the months before ``before`` (a first of a month),
    after exporting each replica's sealing checkpoint to ``export_to`` and recording it in
    ``audit_retired``. ``AuditLogError`` (nothing dropped) if any chain does not verify or
    is not sealed at the cut."""
    if before.day != 1:
        raise AuditLogError(f"retirement cuts at a month's start, not {before.isoformat()}")
    cut = datetime(before.year, before.month, 1, tzinfo=UTC)
    if cut > datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        raise AuditLogError("the current month cannot be retired: its chains are still open")
    checkpoints: dict[str, SignedCheckpoint] = {}
    for replica in store.replicas():
        result = store.verify(replica, public_key, allow_open_tail=True)
        if not result.ok:
            reason = result.first_break.reason if result.first_break else "broken"
            raise AuditLogError(
                f"replica {replica}: the chain does not verify ({reason}): nothing retired"
            )
        sealing = _sealing_checkpoint(store, replica, cut)
        if sealing is not None:
            checkpoints[replica] = sealing
    months = [month for month in _partition_months(store) if month < before]
    export_to.mkdir(parents=True, exist_ok=True)
    exported = []
    for replica, checkpoint in checkpoints.items():
        path = export_to / f"retired-{replica}-seq{checkpoint.through_seq + 1}.json"
        path.write_text(checkpoint.to_json() + "\n", encoding="utf-8")
        exported.append(path)
    _drop(store, months, checkpoints, before)
    return Retirement(months, checkpoints, exported)


def _sealing_checkpoint(
    store: PostgresAuditStore, replica: str, cut: datetime
) -> SignedCheckpoint | None:
    """The replica's last entry before ``cut``, which must be a sealing checkpoint (None:
    the replica has no row before the cut)."""
    query = sql.SQL(
        "SELECT seq, entry FROM {}.audit_entries WHERE replica_id = %s AND logged_at < %s "
        "ORDER BY seq DESC LIMIT 1"
    ).format(sql.Identifier(store.schema))
    row = store.connection.execute(query, (replica, cut)).fetchone()
    if row is None:
        return None
    seq, entry = int(row[0]), bytes(row[1])
    try:
        decoded = decode_entry(entry)
        checkpoint = (
            SignedCheckpoint.from_log(decoded["body"], decoded["time"])
            if decoded["type"] == "checkpoint"
            else None
        )
    except (MalformedLine, ValueError):
        checkpoint = None
    if checkpoint is None or checkpoint.reason not in SEALING_REASONS:
        raise AuditLogError(
            f"replica {replica}: its last entry before {cut.date().isoformat()} (seq {seq}) is "
            "not a rotation or shutdown checkpoint (it stopped unsealed); start it again "
            "to seal its chain, then retire: nothing retired"
        )
    return checkpoint


def _partition_months(store: PostgresAuditStore) -> list[date]:
    rows = store.connection.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE p.relname = 'audit_entries' AND n.nspname = %s",
        (store.schema,),
    ).fetchall()
    months = []
    for (name,) in rows:
        text = str(name).removeprefix("audit_entries_y")
        months.append(date(int(text[:4]), int(text[5:7]), 1))
    return sorted(months)


def _drop(
    store: PostgresAuditStore,
    months: list[date],
    checkpoints: dict[str, SignedCheckpoint],
    before: date,
) -> None:
    schema = sql.Identifier(store.schema)
    with store.connection.transaction():
        for replica, checkpoint in checkpoints.items():
            store.connection.execute(
                sql.SQL(
                    "INSERT INTO {}.audit_retired (replica_id, through_seq, checkpoint, "
                    "retired_month) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
                ).format(schema),
                (replica, checkpoint.through_seq, checkpoint.to_json(), before),
            )
        for month in months:
            partition = sql.Identifier(partition_name(month))
            store.connection.execute(
                sql.SQL("ALTER TABLE {}.audit_entries DETACH PARTITION {}.{}").format(
                    schema, schema, partition
                )
            )
            store.connection.execute(sql.SQL("DROP TABLE {}.{}").format(schema, partition))
