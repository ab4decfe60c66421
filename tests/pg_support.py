"""Helpers for the PostgreSQL audit store tests (importable as ``pg_support``): a schema of
its own per test, dropped afterwards, so parallel runs and agents never share one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from support import POSTGRES_URL, reachable_postgres

from verifier.audit._pg_schema import libpq_url


def conninfo() -> str:
    return libpq_url(POSTGRES_URL)[0]


def fresh_schema() -> Iterator[str]:
    """A new schema name (the store creates it); dropped with everything in it at the end.
    Skips (fails with VERIFIER_REQUIRE_SERVICES=1) when PostgreSQL is not reachable."""
    reachable_postgres().dispose()
    name = f"audit_test_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        with psycopg.connect(conninfo(), autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name))
            )


def execute(statement: str, *params: object) -> int:
    """Run one statement (an auditor's adversary's, typically); the rows it touched."""
    with psycopg.connect(conninfo(), autocommit=True) as connection:
        return connection.execute(statement, params or None).rowcount  # type: ignore[arg-type]


def stepping_clock(start: datetime, step: timedelta) -> Callable[[], datetime]:
    """A clock that moves ``step`` on every reading: batches get distinct, ordered times."""
    moments = iter(start + step * n for n in range(10**9))
    return lambda: next(moments)


MONTH_END = datetime(2026, 8, 31, 23, 59, 59, 900_000, tzinfo=UTC)
"""Just before September: a log written from here crosses a month (and a partition)."""
