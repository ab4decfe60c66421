"""A witness in a database table (PostgreSQL in production), through SQLAlchemy, insert-only.

The service only ever inserts rows and selects them: give its database role ``INSERT`` and
``SELECT`` on the table and nothing else (no ``UPDATE``, ``DELETE``, ``TRUNCATE``), in a
database the log's host cannot administer, and a checkpoint once published stays published.
The table is created on first use if it is missing (or by a DBA beforehand: see the guide).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    make_url,
    select,
)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._witness import WitnessError, parse_checkpoint

DEFAULT_TABLE = "audit_witness"


class SqlWitness:
    """Checkpoints as rows of ``table``: log id, through_seq, the signed statement, when."""

    def __init__(self, url: str, *, table: str = DEFAULT_TABLE, timeout_seconds: float = 5.0):
        try:
            parsed = make_url(url)
            self._shown = parsed.render_as_string(hide_password=True)
            connect_args: dict[str, object] = {}
            if parsed.get_backend_name() == "postgresql":
                connect_args["connect_timeout"] = max(1, round(timeout_seconds))
            self._engine: Engine = create_engine(
                parsed, connect_args=connect_args, pool_pre_ping=True, pool_size=1
            )
        except ArgumentError:
            # Mapped here, so callers need not import SQLAlchemy to catch it; the URL may
            # hold a password, so it is not repeated.
            raise ValueError("not a valid SQLAlchemy URL") from None
        self._table = Table(
            table,
            MetaData(),
            Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
            Column("log_id", String(64), nullable=False, index=True),
            Column("through_seq", BigInteger, nullable=False),
            Column("checkpoint", Text, nullable=False),
            Column("witnessed_at", DateTime(timezone=True), server_default=func.now()),
        )
        self.table = table
        self._created = False

    def __repr__(self) -> str:
        return f"SqlWitness({self._shown!r}, table={self._table.name!r})"

    def publish(self, checkpoint: SignedCheckpoint) -> None:
        row = {
            "log_id": checkpoint.log_id,
            "through_seq": checkpoint.through_seq,
            "checkpoint": checkpoint.to_json(),
        }
        try:
            self._ensure_table()
            with self._engine.begin() as connection:
                connection.execute(self._table.insert().values(**row))
        except SQLAlchemyError as error:
            raise self._error(error) from None

    def latest(self, log_id: str) -> SignedCheckpoint | None:
        query = (
            select(self._table.c.id, self._table.c.checkpoint)
            .where(self._table.c.log_id == log_id)
            .order_by(self._table.c.through_seq.desc(), self._table.c.id.desc())
            .limit(1)
        )
        try:
            with self._engine.connect() as connection:
                if not self._engine.dialect.has_table(connection, self._table.name):
                    return None
                row = connection.execute(query).first()
        except SQLAlchemyError as error:
            raise self._error(error) from None
        if row is None:
            return None
        return parse_checkpoint(row.checkpoint, f"witness {self._shown} row {row.id}")

    def close(self) -> None:
        self._engine.dispose()

    def _ensure_table(self) -> None:
        if not self._created:
            self._table.metadata.create_all(self._engine, checkfirst=True)
            self._created = True

    def _error(self, error: SQLAlchemyError) -> WitnessError:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()
        return WitnessError(f"witness {self._shown}: {cause[0] if cause else type(error).__name__}")
