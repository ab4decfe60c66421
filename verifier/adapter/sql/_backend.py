"""The SQL backend a department adapter reads through: one engine per department database.

Two ways to run, chosen by the database, because a thread hop costs more than a local query
(docs/architecture.md, "What things cost": a SQLite primary-key lookup is 8–16 µs in the
calling thread, 65–170 µs through a thread):

- **SQLite** (the embedded default): work runs *inline*, in the event loop's thread, on one
  persistent read-only connection, behind a lock in case several threads run event loops.
- **Anything else** (PostgreSQL): work runs in a worker thread (``asyncio.to_thread``) on a
  pooled connection, where the network round trip pays for the hop. No pre-ping (it would
  double the round trips): a connection the server dropped fails one call, retryably, and
  SQLAlchemy discards it from the pool.

Statements are SQLAlchemy Core constructs built from each department's ``Table`` objects,
compiled once per dialect and id-list size, and executed as driver SQL: measured on this
machine, ``Connection.execute`` adds 13–36 µs per statement on top of a 13 µs lookup, the
driver cursor nothing. Each department reads one application with a single statement (a
``UNION ALL`` of its tables, tagged per branch).

Every SQLAlchemy or driver exception is mapped here to the ``DepartmentError`` family. Their
own messages quote the SQL and its bound parameters (subject IDs, record values), so ours are
built only from the department and the exception class, and raised outside the ``except``
block so that the original is not even chained.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, String, create_engine, exc, literal_column, make_url, null, union_all
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.pool import PoolProxiedConnection, StaticPool
from sqlalchemy.sql import ColumnElement, CompoundSelect, Select, bindparam

from verifier._errors import ConfigurationError, DepartmentError, DepartmentUnavailable

T = TypeVar("T")
Row = Sequence[Any]
Params = Sequence[Any] | Mapping[str, Any]
BranchBuilder = Callable[[Sequence[ColumnElement[str]]], Select[Any]]
"""Given the bound subject ids, a SELECT of one table's rows about those subjects."""

MAX_IDS_PER_STATEMENT = 500
# Id lists are padded to one of these sizes (repeating the last id, harmless inside IN), so
# a department has a handful of distinct statements: the driver's statement cache (SQLite)
# and server-side prepared statements (psycopg prepares after five uses) stay warm.
_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, MAX_IDS_PER_STATEMENT)


class SubjectRead:
    """One department's read of everything it holds about a set of subjects.

    ``branches`` maps a tag to a builder of one SELECT (one table, or a join) restricted to
    the subjects. The branches are combined into one ``UNION ALL``: each branch's columns get
    their own slots (NULL in the other branches' rows), so the columns need not agree in type
    across tables. ``Reader.select`` hands the rows back grouped by tag, sliced to the branch.
    """

    def __init__(self, branches: Mapping[str, BranchBuilder]) -> None:
        if not branches:
            raise ValueError("a read needs at least one branch")
        self.branches = dict(branches)

    def build(self, size: int) -> Select[Any] | CompoundSelect[Any]:
        ids = _id_params(size)
        selects = {tag: build(ids) for tag, build in self.branches.items()}
        layout = [(tag, list(select.selected_columns)) for tag, select in selects.items()]
        padded = []
        for tag, select in selects.items():
            columns: list[ColumnElement[Any]] = [literal_column(f"'{tag}'").label("tag")]
            for other, other_columns in layout:
                if other == tag:
                    columns.extend(select.selected_columns)
                else:
                    columns.extend(null().cast(column.type) for column in other_columns)
            padded.append(select.with_only_columns(*columns))
        return padded[0] if len(padded) == 1 else union_all(*padded)

    def slices(self) -> dict[str, slice]:
        """Where each branch's columns sit in the combined row (after the tag)."""
        result: dict[str, slice] = {}
        start = 1
        for tag, build in self.branches.items():
            width = len(build(_id_params(1)).selected_columns)
            result[tag] = slice(start, start + width)
            start += width
        return result


def _id_params(size: int) -> list[ColumnElement[str]]:
    return [bindparam(f"id{index}", type_=String()) for index in range(size)]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positions: tuple[int, ...] | None
    """For positional paramstyles: which id goes to each placeholder; None: named ids."""

    def params(self, ids: Sequence[str]) -> Params:
        if self.positions is not None:
            return tuple([ids[index] for index in self.positions])
        return {f"id{index}": value for index, value in enumerate(ids)}


class Reader:
    """What a unit of work gets: execute reads and scalar statements on one connection."""

    def __init__(self, backend: SqlBackend, execute: Callable[[str, Params], list[Row]]) -> None:
        self._backend = backend
        self._execute = execute

    def select(self, read: SubjectRead, subject_ids: Iterable[str]) -> dict[str, list[Row]]:
        """Every row ``read`` finds about the subjects, by branch tag (chunked, padded)."""
        ids = sorted(set(subject_ids))
        slices = self._backend.slices(read)
        grouped: dict[str, list[Row]] = {tag: [] for tag in slices}
        for start in range(0, len(ids), MAX_IDS_PER_STATEMENT):
            chunk = ids[start : start + MAX_IDS_PER_STATEMENT]
            size = next(bucket for bucket in _BUCKETS if bucket >= len(chunk))
            chunk = chunk + [chunk[-1]] * (size - len(chunk))
            compiled = self._backend.compiled(read, size)
            for row in self._execute(compiled.sql, compiled.params(chunk)):
                grouped[row[0]].append(row[slices[row[0]]])
        return grouped

    def scalar(self, statement: Select[Any]) -> Any:
        """The first column of the first row of a parameterless statement (None if no row)."""
        compiled = self._backend.compiled_plain(statement)
        rows = self._execute(compiled.sql, compiled.params(()))
        return rows[0][0] if rows else None


class SqlBackend:
    """One department database, reached through SQLAlchemy; see the module docstring."""

    def __init__(self, url: str, *, department: str) -> None:
        self.department = department
        self._lock = threading.Lock()
        self._inline: sqlite3.Connection | None = None
        self._inline_proxy: PoolProxiedConnection | None = None
        self._compiled: dict[tuple[object, int], _Compiled] = {}
        self._slices: dict[SubjectRead, dict[str, slice]] = {}
        try:
            parsed = make_url(url)
            self.inline = parsed.get_backend_name() == "sqlite"
            self._engine = _sqlite_engine(parsed.database) if self.inline else _pooled_engine(url)
        except (exc.ArgumentError, exc.NoSuchModuleError, ImportError, ValueError) as error:
            # The URL is not quoted back: it may hold a password.
            raise ConfigurationError(
                f"departments.{department}.url: not a usable SQLAlchemy URL "
                f"({type(error).__name__})"
            ) from None

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    async def run(self, work: Callable[[Reader], T]) -> T:
        """Run ``work`` on a connection; every database failure becomes a DepartmentError."""
        if self.inline:
            return self._run_inline(work)
        return await asyncio.to_thread(self._run_pooled, work)

    def close(self) -> None:
        with self._lock:
            if self._inline_proxy is not None:
                self._inline_proxy.close()
                self._inline_proxy = self._inline = None
        self._engine.dispose()

    def compiled(self, read: SubjectRead, size: int) -> _Compiled:
        key = (read, size)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(read.build(size))
        return found

    def compiled_plain(self, statement: Select[Any]) -> _Compiled:
        key = (statement, 0)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = self._compile(statement)
        return found

    def slices(self, read: SubjectRead) -> dict[str, slice]:
        found = self._slices.get(read)
        if found is None:
            found = self._slices[read] = read.slices()
        return found

    def _compile(self, statement: Select[Any] | CompoundSelect[Any]) -> _Compiled:
        compiled = statement.compile(dialect=self.dialect)
        names = compiled.positiontup
        positions = None if names is None else tuple(int(name[2:]) for name in names)
        return _Compiled(compiled.string, positions)

    def _run_inline(self, work: Callable[[Reader], T]) -> T:
        error: DepartmentError
        with self._lock:
            try:
                connection = self._inline_connection()
                return work(
                    Reader(self, lambda sql, params: connection.execute(sql, params).fetchall())
                )
            except sqlite3.Error as failure:
                unavailable = isinstance(
                    failure, (sqlite3.OperationalError, sqlite3.InterfaceError)
                )
                error = self._mapped(failure, unavailable=unavailable)
            except exc.SQLAlchemyError as failure:
                error = self._mapped(failure, unavailable=isinstance(failure, _UNAVAILABLE))
        raise error

    def _inline_connection(self) -> sqlite3.Connection:
        if self._inline is None:
            proxy = self._engine.raw_connection()
            driver = proxy.driver_connection
            if not isinstance(driver, sqlite3.Connection):  # pragma: no cover - creator's type
                raise TypeError("the SQLite engine must hand out sqlite3 connections")
            self._inline_proxy, self._inline = proxy, driver
        return self._inline

    def _run_pooled(self, work: Callable[[Reader], T]) -> T:
        error: DepartmentError
        try:
            with self._engine.connect() as connection:
                return work(Reader(self, _executor(connection)))
        except exc.SQLAlchemyError as failure:
            error = self._mapped(failure, unavailable=isinstance(failure, _UNAVAILABLE))
        raise error

    def _mapped(self, failure: Exception, *, unavailable: bool) -> DepartmentError:
        kind = f"{type(failure).__module__}.{type(failure).__name__}"
        original = getattr(failure, "orig", None)
        if original is not None:
            kind += f" from {type(original).__module__}.{type(original).__name__}"
        if unavailable:
            return DepartmentUnavailable(f"{self.department}: database unavailable ({kind})")
        return DepartmentError(f"{self.department}: database error ({kind})")


_UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,  # the pool had no free connection in time
)


def _executor(connection: Connection) -> Callable[[str, Params], list[Row]]:
    def execute(sql: str, params: Params) -> list[Row]:
        return list(connection.exec_driver_sql(sql, params).all())

    return execute


def _sqlite_engine(database: str | None) -> Engine:
    """An engine whose one connection opens the file read-only (an adapter never writes)."""
    if database in (None, "", ":memory:"):
        target, uri = ":memory:", False
    elif database.startswith("file:"):
        target, uri = database, True
    else:
        target, uri = Path(database).resolve().as_uri() + "?mode=ro", True

    def connect() -> sqlite3.Connection:
        # Inline work may run in whichever thread hosts the event loop; the lock serialises.
        return sqlite3.connect(target, uri=uri, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, poolclass=StaticPool)


def _pooled_engine(url: str) -> Engine:
    # Autocommit: each read is one statement (one snapshot), so BEGIN and the ROLLBACK on
    # returning the connection to the pool would only add two round trips per call.
    return create_engine(url, isolation_level="AUTOCOMMIT")
