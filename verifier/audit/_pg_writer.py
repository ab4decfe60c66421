"""Appending one replica's chain to the PostgreSQL audit store: in order, one transaction per
batch, sealing each month, continuing after a lost connection.

A ``PgChainWriter`` is owned by one thread (it is not thread-safe). Its rows are the file
store's lines cut in two (the hash, the entry's canonical JSON as bytes), written by the same
``ChainEncoder``; a batch is one ``COPY`` and one ``COMMIT`` (``synchronous_commit`` on: the
commit returns once its WAL is flushed). If the batch fails the transaction rolls back and
the tip does not move. If the connection is lost, the next batch connects again, takes the
replica's lock again and reads the tip from the table: a commit whose answer was lost may
have landed, and the table, not memory, says where the chain ends.

One writer per replica id: a session advisory lock, which PostgreSQL releases when the
session ends, however the process died.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql

from verifier._errors import ConfigurationError
from verifier.audit._chain import EMPTY_TIP, ChainEncoder, Tip
from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._format import (
    CHECKPOINT_ENDING,
    ENTRY_START,
    HASH_START,
    LINE_SUFFIX,
    format_time,
    parse_time,
)
from verifier.audit._pg_reader import chain_tip
from verifier.audit._pg_schema import (
    advisory_key,
    ensure_partitions,
    migrate,
    month_of,
    store_error,
)
from verifier.audit._writer import CheckpointListener

logger = logging.getLogger("verifier.audit")

Row = tuple[str, int, datetime, str, str, str | None, bytes]
PendingRecord = tuple[str, str | None]
"""A record as the store takes it: its body's canonical JSON, and its request id if any."""


class PgChainWriter:
    """Replica ``replica_id``'s chain in ``schema``, continued where its rows end."""

    def __init__(
        self,
        conninfo: str,
        schema: str,
        replica_id: str,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_every: int,
        clock: Callable[[], datetime],
        connect_timeout: float,
        on_checkpoint: CheckpointListener | None = None,
    ) -> None:
        self._conninfo = conninfo
        self.schema = schema
        self.replica_id = replica_id
        self._encoder = ChainEncoder(signing_key, checkpoint_every)
        self._clock = clock
        self._connect_timeout = max(1, round(connect_timeout))
        self._on_checkpoint = on_checkpoint
        self._connection: psycopg.Connection[Any] | None = None
        self._tip = EMPTY_TIP
        self._tip_time: datetime | None = None
        self.last_checkpoint: SignedCheckpoint | None = None
        self.records_written = 0
        self.commits = 0
        """Transactions committed since opening: with ``records_written``, how well group
        commit batches."""
        self._table = sql.SQL("{}.audit_entries").format(sql.Identifier(schema))
        self._connect()

    @property
    def position(self) -> int:
        """The seq of the chain's last entry."""
        return self._tip.seq

    def append_records(self, records: Sequence[PendingRecord]) -> None:
        """Chain and commit records durably, in order, in one transaction."""
        connection = self._connect()
        try:
            with connection.transaction():
                tip, time, sealed = self._append(connection, records)
        except psycopg.Error as exc:
            self._lost_unless_alive()
            raise store_error(exc) from None
        self._tip, self._tip_time = tip, time
        self.commits += 1
        self.records_written += len(records)
        self._written(*sealed)

    def probe(self) -> None:
        """Raise unless a batch could be committed now: connected, the replica's lock held,
        the entries table writable (an insert rolled back, so the chain gains no row)."""
        connection = self._connect()
        try:
            with connection.transaction(force_rollback=True):
                connection.execute(
                    sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE NOWAIT").format(self._table)
                )
        except psycopg.Error as exc:
            self._lost_unless_alive()
            raise store_error(exc) from None

    def close(self) -> None:
        """Seal the chain with a shutdown checkpoint (unless it already ends with one)."""
        try:
            connection = self._connect()
            if self._tip.sealed_by != "shutdown":  # an empty chain too, as the file store
                with connection.transaction():
                    time = self._time()
                    line, tip, checkpoint = self._encoder.checkpoint(self._tip, "shutdown", time)
                    self._copy(connection, [self._row(line, tip.seq, parse_time(time), None)])
                self._tip, self._tip_time = tip, parse_time(time)
                self._written(checkpoint)
        finally:
            self._disconnect()

    def _append(
        self, connection: psycopg.Connection[Any], records: Sequence[PendingRecord]
    ) -> tuple[Tip, datetime, list[SignedCheckpoint]]:
        """Copy the batch's rows in (the caller commits); the tip and checkpoints after it."""
        time = self._time()
        moment = parse_time(time)
        rows: list[Row] = []
        sealed: list[SignedCheckpoint] = []
        tip = self._tip
        if self._tip_time is not None and month_of(moment) != month_of(self._tip_time):
            # A month's rows end with its rotation checkpoint, stamped in that month, so a
            # retired (dropped) month ends at a signed point.
            ensure_partitions(connection, self.schema, moment)
            if tip.sealed_by != "rotation":
                line, tip, checkpoint = self._encoder.checkpoint(
                    tip, "rotation", format_time(self._tip_time)
                )
                rows.append(self._row(line, tip.seq, self._tip_time, None))
                sealed.append(checkpoint)
        request_ids = iter([request_id for _, request_id in records])
        start = tip.seq
        lines, tip, periodic = self._encoder.entries(
            tip, [("record", body) for body, _ in records], time
        )
        for offset, line in enumerate(lines, start=1):
            request_id = None if line.endswith(CHECKPOINT_ENDING) else next(request_ids)
            rows.append(self._row(line, start + offset, moment, request_id))
        self._copy(connection, rows)
        return tip, moment, [*sealed, *periodic]

    def _copy(self, connection: psycopg.Connection[Any], rows: list[Row]) -> None:
        columns = sql.SQL(
            "COPY {} (replica_id, seq, logged_at, entry_type, hash, request_id, entry) FROM STDIN"
        ).format(self._table)
        with connection.cursor() as cursor, cursor.copy(columns) as copy:
            for row in rows:
                copy.write_row(row)

    def _row(self, line: bytes, seq: int, logged_at: datetime, request_id: str | None) -> Row:
        """The row of an entry's line: its hash and its entry's bytes, as hashed."""
        entry_type = "checkpoint" if line.endswith(CHECKPOINT_ENDING) else "record"
        digest = line[HASH_START : HASH_START + 64].decode("ascii")
        entry = line[ENTRY_START : -len(LINE_SUFFIX)]
        return (self.replica_id, seq, logged_at, entry_type, digest, request_id, entry)

    def _time(self) -> str:
        """Now, never before the chain's last entry: a month, once sealed, stays sealed."""
        now = self._clock()
        if self._tip_time is not None and now < self._tip_time:
            now = self._tip_time
        return format_time(now)

    def _written(self, *checkpoints: SignedCheckpoint) -> None:
        for checkpoint in checkpoints:
            self.last_checkpoint = checkpoint
            if self._on_checkpoint is not None:
                self._on_checkpoint(checkpoint)

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        try:
            connection = psycopg.connect(
                self._conninfo, connect_timeout=self._connect_timeout, autocommit=True
            )
        except psycopg.Error as exc:
            raise store_error(exc) from None
        try:
            connection.execute("SET synchronous_commit = on")
            migrate(connection, self.schema)
            ensure_partitions(connection, self.schema, self._clock())
            self._lock(connection)
            connection.execute(
                sql.SQL(
                    "INSERT INTO {}.audit_chains (replica_id) VALUES (%s) ON CONFLICT DO NOTHING"
                ).format(sql.Identifier(self.schema)),
                (self.replica_id,),
            )
            self._load_tip(connection)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _lock(self, connection: psycopg.Connection[Any]) -> None:
        key = advisory_key(self.schema, f"replica/{self.replica_id}")
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if row != (True,):
            raise ConfigurationError(
                f"audit replica id {self.replica_id!r} is in use by another writer of schema "
                f"{self.schema} (each replica and worker needs its own audit.replica_id)"
            )

    def _load_tip(self, connection: psycopg.Connection[Any]) -> None:
        found = chain_tip(connection, self.schema, self.replica_id)
        if found is None:
            self._tip, self._tip_time, self.last_checkpoint = EMPTY_TIP, None, None
            return
        self._tip, self._tip_time, self.last_checkpoint = found

    def _lost_unless_alive(self) -> None:
        """After a failed batch: keep a healthy connection (its transaction rolled back);
        drop a broken one, so the next batch reconnects and reads the tip afresh."""
        connection = self._connection
        if connection is not None and (connection.closed or connection.broken):
            self._disconnect()

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()  # the replica's advisory lock goes with the session
            self._connection = None
