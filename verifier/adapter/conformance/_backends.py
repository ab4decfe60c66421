"""Databases that go wrong on purpose: canaries planted in copies, and broken backends.

Built from the department's own database URL, whatever its tables: SQLite files are copied
and changed with the standard ``sqlite3`` module (tables and columns found with
``sqlite_master`` and ``PRAGMA table_info``); PostgreSQL URLs are pointed at a schema that
does not exist and at a port nothing listens on.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url


@dataclass(frozen=True, slots=True)
class Planted:
    url: str
    canary: str
    where: str
    """``table.column`` the canary was written to (for the report; not a raw value)."""


@dataclass(frozen=True, slots=True)
class Broken:
    url: str
    what: str
    unavailable: bool
    """The failure is the database being unreachable: it must be DepartmentUnavailable."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError("the conformance suite needs a SQLite database file URL")
    return Path(database)


def planted_copies(url: str, workdir: Path) -> Iterator[Planted]:
    """One copy of the SQLite database per column, that column holding a canary in every row."""
    if not is_sqlite(url):
        return
    source = sqlite_path(url)
    for table, column in _columns(source):
        canary = f"CANARY-{uuid.uuid4().hex[:12]}"
        copy = workdir / f"planted-{uuid.uuid4().hex[:8]}.db"
        _copy(source, copy)
        with contextlib.closing(sqlite3.connect(copy)) as connection:
            try:
                with connection:  # one transaction, committed
                    connection.execute(f'UPDATE "{table}" SET "{column}" = ?', (canary,))  # noqa: S608
            except sqlite3.IntegrityError:
                continue  # a CHECK or STRICT column refuses text: nothing can be planted there
        yield Planted(f"sqlite:///{copy.resolve().as_posix()}", canary, f"{table}.{column}")


def broken_databases(url: str, workdir: Path) -> Iterator[Broken]:
    """The department's database, unreachable and without its tables, on its own backend."""
    if is_sqlite(url):
        missing = workdir / f"missing-{uuid.uuid4().hex[:8]}" / "department.db"
        yield Broken(f"sqlite:///{missing.as_posix()}", "a missing database file", True)
        empty = workdir / f"empty-{uuid.uuid4().hex[:8]}.db"
        sqlite3.connect(empty).close()
        yield Broken(f"sqlite:///{empty.as_posix()}", "a database without its tables", False)
        garbage = workdir / f"garbage-{uuid.uuid4().hex[:8]}.db"
        garbage.write_bytes(b"not a database " * 400)
        yield Broken(f"sqlite:///{garbage.as_posix()}", "a file that is not a database", False)
        return
    parsed = make_url(url)
    schema = f"conformance_missing_{uuid.uuid4().hex[:8]}"
    options = {"options": f"-csearch_path={schema}"}
    yield Broken(
        parsed.update_query_dict(options).render_as_string(hide_password=False),
        "a schema without the department's tables",
        False,
    )
    yield Broken(
        parsed.set(host="127.0.0.1", port=_closed_port()).render_as_string(hide_password=False),
        "an unreachable database server",
        True,
    )


def _columns(path: Path) -> list[tuple[str, str]]:
    with contextlib.closing(
        sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    ) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return [
            (table, row[1])
            for table in tables
            for row in connection.execute(f'PRAGMA table_info("{table}")')
        ]


def _copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(
            sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        ) as origin,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        origin.backup(copy)


def _closed_port() -> int:
    """A local port nothing listens on (the OS gave it, then it was closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
