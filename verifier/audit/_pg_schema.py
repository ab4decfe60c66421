"""The PostgreSQL audit store's schema: versioned SQL migrations, applied under a lock.

Every writer applies what is missing when it opens the store, holding a PostgreSQL advisory
lock so that replicas starting together apply each migration once; ``schema_version`` says
which are in. A migration is never edited once released: a change is a new one.

The entries table is partitioned by month of the entry's time (``logged_at``, UTC), and the
partitions are made ahead of time (this month and the next ``MONTHS_AHEAD``), so a month's
first record never waits for DDL. Retention drops whole months (see the auditor guide): the
writer seals each month with a rotation checkpoint, so a month's rows end at a signed point.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from verifier._errors import ConfigurationError
from verifier.audit._format import AuditLogError

DEFAULT_SCHEMA = "verifier_audit"
MONTHS_AHEAD = 2
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "chains, entries partitioned by month, retired months",
        """
        CREATE TABLE {schema}.audit_chains (
            replica_id text PRIMARY KEY,
            opened_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE {schema}.audit_entries (
            replica_id text NOT NULL,
            seq bigint NOT NULL,
            logged_at timestamptz NOT NULL,
            entry_type text NOT NULL,
            hash char(64) NOT NULL,
            request_id text,
            entry bytea NOT NULL,
            PRIMARY KEY (replica_id, seq, logged_at)
        ) PARTITION BY RANGE (logged_at);
        CREATE INDEX ON {schema}.audit_entries (request_id) WHERE request_id IS NOT NULL;
        CREATE TABLE {schema}.audit_retired (
            replica_id text NOT NULL,
            through_seq bigint NOT NULL,
            checkpoint text NOT NULL,
            retired_month date NOT NULL,
            retired_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (replica_id, through_seq)
        );
        """,
    ),
)
"""(version, description, SQL with ``{schema}``): the entry's canonical JSON is kept as
``bytea``, byte for byte as hashed (``jsonb`` would reorder it); the columns beside it are
copies for indexing, which the verifier checks against the entry."""


def libpq_url(url: str) -> tuple[str, str]:
    """The libpq connection string of an SQLAlchemy URL (``postgresql+psycopg://…``), and
    the URL as it may be shown (password hidden). ``ConfigurationError`` never repeats it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError("audit.url: not a valid URL") from None
    if parsed.get_backend_name() != "postgresql":
        raise ConfigurationError("audit.url: the audit store needs a postgresql:// URL")
    plain = parsed.set(drivername="postgresql")
    return plain.render_as_string(hide_password=False), parsed.render_as_string(hide_password=True)


def advisory_key(schema: str, purpose: str) -> int:
    """A 64-bit advisory lock key for ``purpose`` in ``schema`` (signed, as PostgreSQL's)."""
    digest = hashlib.sha256(f"onestop-verifier/{schema}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def checked_schema(name: str) -> str:
    if SCHEMA_NAME.fullmatch(name) is None:
        raise ConfigurationError(f"audit.postgres_schema {name!r}: not a lowercase SQL name")
    return name


def migrate(connection: psycopg.Connection[Any], schema: str) -> int:
    """Apply the missing migrations (under the schema's advisory lock); the version now.

    A schema already at this version is only read: a role without DDL rights (``INSERT``
    and ``SELECT`` only) can write a store its owner migrated."""
    name = sql.Identifier(schema)
    newest = MIGRATIONS[-1][0]
    found = connection.execute("SELECT to_regclass(%s)", (f"{schema}.schema_version",)).fetchone()
    if found != (None,):
        row = connection.execute(
            sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_version").format(name)
        ).fetchone()
        if row is not None and int(row[0]) == newest:
            return newest
    key = advisory_key(schema, "migrate")
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
        connection.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_version (version integer PRIMARY KEY, "
                "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(name)
        )
        row = connection.execute(
            sql.SQL("SELECT coalesce(max(version), 0) FROM {}.schema_version").format(name)
        ).fetchone()
        current = int(row[0]) if row else 0
        if current > newest:
            raise ConfigurationError(
                f"audit store schema {schema} is at version {current}, newer than this "
                f"verifier knows ({newest}): upgrade the verifier"
            )
        for version, description, text in MIGRATIONS:
            if version <= current:
                continue
            connection.execute(sql.SQL(text).format(schema=name))
            connection.execute(
                sql.SQL(
                    "INSERT INTO {}.schema_version (version, description) VALUES (%s, %s)"
                ).format(name),
                (version, description),
            )
            current = version
    return current


def month_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"audit_entries_y{month.year:04d}m{month.month:02d}"


def ensure_partitions(connection: psycopg.Connection[Any], schema: str, moment: datetime) -> None:
    """The partitions of ``moment``'s month and the next ``MONTHS_AHEAD``, made if missing
    (checked first without a lock: they are almost always there already)."""
    months = [month_of(moment)]
    for _ in range(MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    missing = [
        month
        for month in months
        if connection.execute(
            "SELECT to_regclass(%s)", (f"{schema}.{partition_name(month)}",)
        ).fetchone()
        == (None,)
    ]
    if not missing:
        return
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(schema, "ddl"),))
        for month in missing:
            connection.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.{} PARTITION OF {}.audit_entries "
                    "FOR VALUES FROM ({}) TO ({})"
                ).format(
                    sql.Identifier(schema),
                    sql.Identifier(partition_name(month)),
                    sql.Identifier(schema),
                    sql.Literal(f"{month.isoformat()} 00:00:00+00"),
                    sql.Literal(f"{next_month(month).isoformat()} 00:00:00+00"),
                )
            )


def store_error(exc: psycopg.Error) -> AuditLogError:
    """The database's error in one line: its first, the server's message (never its DETAIL
    or CONTEXT lines, which may quote a row)."""
    lines = str(exc).strip().splitlines()
    return AuditLogError(f"audit store: {lines[0] if lines else type(exc).__name__}")
