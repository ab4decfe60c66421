"""Reading the PostgreSQL audit store back: its chains (one per replica), their entries in
``seq`` order, and their months as the verifier's segments.

A row is turned back into the very line the file store would hold (``{"hash":…,"entry":…}``),
so one verifier and one reader check and parse both stores. The columns kept beside the
entry for indexing (``seq``, ``logged_at``, ``entry_type``) are checked against the entry's
own fields: a row whose copy disagrees was changed in place, and is reported as such.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql

from verifier.audit._chain import Tip, checkpoint_entry_hash
from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._format import (
    ENTRY_KEY,
    GENESIS,
    LINE_PREFIX,
    LINE_SUFFIX,
    AuditLogError,
    MalformedLine,
    decode_entry,
    parse_time,
    split_line,
)
from verifier.audit._pg_schema import DEFAULT_SCHEMA, checked_schema, libpq_url, store_error
from verifier.audit._reader import AuditEntry
from verifier.audit._verify import ChainSegment, ChainVerification, RowProblem, verify_chain
from verifier.audit._witness import Witness

if TYPE_CHECKING:
    from verifier.audit._pg_retire import Retirement

READ_BATCH = 2000
_TAIL = re.compile(rb',"prev":"[0-9a-f]{64}","seq":(\d+),"time":"([^"]*)","type":"([a-z]+)"}\Z')

_Row = tuple[int, datetime, str, str, bytes]
"""(seq, logged_at, entry_type, hash, entry) as selected."""


def line_of(digest: str, entry: bytes) -> bytes:
    """The file store's line for a row: what its hash was computed over, framed."""
    return LINE_PREFIX + digest.encode("ascii") + ENTRY_KEY + entry + LINE_SUFFIX


def month_label(replica_id: str, logged_at: datetime) -> Path:
    """How a break or a record's place names a row's month: ``<replica>/<YYYY-MM>``."""
    return Path(replica_id) / logged_at.astimezone(UTC).strftime("%Y-%m")


def row_problem(seq: int, logged_at: datetime, entry_type: str, entry: bytes) -> RowProblem | None:
    """Whether the row's indexed columns disagree with its entry (which the hash covers)."""
    start = entry.rfind(b',"prev":"')
    found = _TAIL.match(entry, start) if start >= 0 else None
    if found is None:
        return None  # not an entry at all: the line check says what is wrong with it
    own_seq, own_time, own_type = int(found[1]), found[2].decode(), found[3].decode()
    if own_seq != seq:
        return RowProblem(seq, f"the row's seq column says {seq}, its entry says {own_seq}")
    try:
        same_time = parse_time(own_time) == logged_at
    except MalformedLine:
        return None
    if not same_time:
        return RowProblem(seq, "the row's logged_at column is not its entry's time")
    if own_type != entry_type:
        return RowProblem(
            seq, f"the row's entry_type column says {entry_type}, its entry {own_type}"
        )
    return None


class PostgresAuditStore:
    """The PostgreSQL audit store at ``url`` (schema ``schema``) as auditors read it: its
    chains, one per replica, their entries, and whether each is intact.

    Entries stream through a server-side cursor (one snapshot per chain); the store is only
    read. ``AuditLogError`` if it cannot be reached or holds no audit schema."""

    def __init__(
        self, url: str, *, schema: str = DEFAULT_SCHEMA, connect_timeout: float = 5.0
    ) -> None:
        conninfo, self.shown = libpq_url(url)
        self.schema = checked_schema(schema)
        self._name = sql.Identifier(schema)
        try:
            self._connection: psycopg.Connection[Any] = psycopg.connect(
                conninfo, connect_timeout=max(1, round(connect_timeout)), autocommit=True
            )
            found = self._connection.execute(
                "SELECT to_regclass(%s)", (f"{schema}.audit_entries",)
            ).fetchone()
        except psycopg.Error as exc:
            raise AuditLogError(f"{self.shown}: {store_error(exc)}") from None
        if found == (None,):
            self.close()
            raise AuditLogError(f"{self.shown}: no audit store in schema {schema}")

    def __repr__(self) -> str:
        return f"PostgresAuditStore({self.shown!r}, schema={self.schema!r})"

    def __enter__(self) -> PostgresAuditStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    @property
    def connection(self) -> psycopg.Connection[Any]:
        """The store's session (autocommit), for its retention (``_pg_retire``)."""
        return self._connection

    def retire(self, before: date, public_key: Ed25519PublicKey, export_to: Path) -> Retirement:
        """Drop the months before ``before``, each replica's chain sealed there by a
        checkpoint exported to ``export_to`` first (see ``_pg_retire``)."""
        from verifier.audit._pg_retire import retire_months

        return retire_months(self, before, public_key, export_to)

    def verify(
        self,
        replica_id: str,
        public_key: Ed25519PublicKey,
        *,
        allow_open_tail: bool = False,
        witness: Witness | None = None,
    ) -> ChainVerification:
        """``verify_audit_log`` for one replica's chain: the same checks, month by month
        where the file store goes file by file, and each row's columns against its entry."""
        return verify_chain(
            self.segments(replica_id),
            public_key,
            start=Path(replica_id),
            log_id=self.log_id(replica_id),
            allow_open_tail=allow_open_tail,
            witness=witness,
            retired=self.retired(replica_id),
        )

    def replicas(self) -> list[str]:
        """Every chain's replica id, in order."""
        query = sql.SQL("SELECT replica_id FROM {}.audit_chains ORDER BY replica_id")
        with self._connection.transaction():
            return [str(row[0]) for row in self._connection.execute(query.format(self._name))]

    def log_id(self, replica_id: str) -> str | None:
        """The hash entry 1 claims (or the retired checkpoint names): the log's id."""
        retired = self.retired(replica_id)
        if retired is not None:
            return retired.log_id
        query = sql.SQL("SELECT hash FROM {}.audit_entries WHERE replica_id = %s AND seq = 1")
        with self._connection.transaction():
            row = self._connection.execute(query.format(self._name), (replica_id,)).fetchone()
        return str(row[0]) if row else None

    def retired(self, replica_id: str) -> SignedCheckpoint | None:
        """The checkpoint the chain's retired months ended with (None: none retired)."""
        return latest_retired(self._connection, self.schema, replica_id)

    def rows(self, replica_id: str) -> Iterator[_Row]:
        query = sql.SQL(
            "SELECT seq, logged_at, entry_type, hash, entry FROM {}.audit_entries "
            "WHERE replica_id = %s ORDER BY seq"
        ).format(self._name)
        with (
            self._connection.transaction(),
            self._connection.cursor(name="audit_entries") as cursor,
        ):
            cursor.itersize = READ_BATCH
            cursor.execute(query, (replica_id,))
            for seq, logged_at, entry_type, digest, entry in cursor:
                yield seq, logged_at, entry_type, digest, bytes(entry)

    def segments(self, replica_id: str) -> Iterator[ChainSegment]:
        """The chain by month, each row's line preceded by any fault of its columns."""
        for label, rows in self._months(replica_id):
            yield ChainSegment(label, _lines(rows))

    def _months(self, replica_id: str) -> Iterator[tuple[Path, Iterator[_Row]]]:
        return itertools.groupby(
            self.rows(replica_id), key=lambda row: month_label(replica_id, row[1])
        )

    def entries(self, replica_id: str) -> Iterator[AuditEntry]:
        """Every entry of the chain in ``seq`` order (``file``: its month, ``line``: its
        row in that month); ``AuditLogError`` names a row that is not an entry."""
        for label, rows in self._months(replica_id):
            for number, (_, _, _, digest, data) in enumerate(rows, start=1):
                try:
                    found, entry_bytes = split_line(line_of(digest, data))
                    entry = decode_entry(entry_bytes)
                except MalformedLine as exc:
                    raise AuditLogError(f"{label}:{number}: {exc.reason}") from None
                yield AuditEntry(
                    seq=entry["seq"],
                    type=entry["type"],
                    time=parse_time(entry["time"]),
                    body=entry["body"],
                    hash=found,
                    file=label,
                    line=number,
                )


def _lines(rows: Iterator[_Row]) -> Iterator[bytes | RowProblem]:
    for seq, logged_at, entry_type, digest, entry in rows:
        problem = row_problem(seq, logged_at, entry_type, entry)
        if problem is not None:
            yield problem
        yield line_of(digest, entry)


def latest_retired(
    connection: psycopg.Connection[Any], schema: str, replica_id: str
) -> SignedCheckpoint | None:
    query = sql.SQL(
        "SELECT checkpoint FROM {}.audit_retired WHERE replica_id = %s "
        "ORDER BY through_seq DESC LIMIT 1"
    ).format(sql.Identifier(schema))
    with connection.transaction():
        row = connection.execute(query, (replica_id,)).fetchone()
    if row is None:
        return None
    try:
        return SignedCheckpoint.from_json(str(row[0]))
    except ValueError as exc:
        raise AuditLogError(f"{schema}.audit_retired ({replica_id}): {exc}") from None


def chain_tip(
    connection: psycopg.Connection[Any], schema: str, replica_id: str
) -> tuple[Tip, datetime, SignedCheckpoint | None] | None:
    """Where the replica's chain ends: its tip, the tip's time, its last v2 checkpoint
    (None: the chain has no entry yet)."""
    table = sql.SQL("{}.audit_entries").format(sql.Identifier(schema))
    last = connection.execute(
        sql.SQL(
            "SELECT seq, hash, entry_type, logged_at, entry FROM {} WHERE replica_id = %s "
            "ORDER BY seq DESC LIMIT 1"
        ).format(table),
        (replica_id,),
    ).fetchone()
    retired = latest_retired(connection, schema, replica_id)
    if last is None:
        if retired is None:
            return None
        tip = Tip(retired.through_seq + 1, checkpoint_entry_hash(retired), 0, retired.reason,
                  retired.records, retired.log_id)  # fmt: skip
        return tip, parse_time(retired.time), retired
    seq, digest, entry_type, logged_at, _ = last
    sealed = connection.execute(
        sql.SQL(
            "SELECT seq, entry FROM {} WHERE replica_id = %s AND entry_type = 'checkpoint' "
            "ORDER BY seq DESC LIMIT 1"
        ).format(table),
        (replica_id,),
    ).fetchone()
    sealed_seq = sealed[0] if sealed else (retired.through_seq + 1 if retired else 0)
    checkpoint = _checkpoint_of(bytes(sealed[1]), replica_id) if sealed else retired
    unsealed_row = connection.execute(
        sql.SQL(
            "SELECT count(*) FROM {} WHERE replica_id = %s AND seq > %s AND entry_type = 'record'"
        ).format(table),
        (replica_id, sealed_seq),
    ).fetchone()
    unsealed = int(unsealed_row[0]) if unsealed_row else 0
    log_id = checkpoint.log_id if checkpoint else _first_hash(connection, table, replica_id)
    reason = checkpoint.reason if entry_type == "checkpoint" and checkpoint else None
    records = (checkpoint.records if checkpoint else 0) + unsealed
    return Tip(seq, str(digest), unsealed, reason, records, log_id), logged_at, checkpoint


def _checkpoint_of(entry: bytes, replica_id: str) -> SignedCheckpoint:
    try:
        decoded = decode_entry(entry)
        return SignedCheckpoint.from_log(decoded["body"], decoded["time"])
    except (MalformedLine, ValueError) as exc:
        raise AuditLogError(
            f"audit chain {replica_id}: its last checkpoint is unreadable ({exc}); "
            "check it with `verifier audit verify` before continuing it"
        ) from None


def _first_hash(connection: psycopg.Connection[Any], table: sql.Composed, replica_id: str) -> str:
    row = connection.execute(
        sql.SQL("SELECT hash FROM {} WHERE replica_id = %s AND seq = 1").format(table),
        (replica_id,),
    ).fetchone()
    return str(row[0]) if row else GENESIS
