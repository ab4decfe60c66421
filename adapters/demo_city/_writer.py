"""Writing the generated rows: a fast SQLite path, and any SQLAlchemy database.

The SQLite writer is what makes a million people take minutes, not hours: one connection per
file with journaling and syncing off (a half-written file is thrown away, never used),
``executemany`` in large batches inside one transaction, and indexes built after loading.
Files are written under temporary names and renamed over the old ones only when complete.

The SQLAlchemy writer (PostgreSQL, or any URL) drops and re-creates the tables and inserts
in dependency order; it keeps the rows in memory, so it is meant for test-sized cities.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, MetaData, Table, create_engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from adapters.civil_affairs import _tables as civil_affairs_tables
from adapters.courts import _tables as courts_tables
from adapters.household import _tables as household_tables
from adapters.housing import _tables as housing_tables
from adapters.market_regulation import _tables as market_regulation_tables
from adapters.social_insurance import _tables as social_insurance_tables
from adapters.tax import _tables as tax_tables
from adapters.vehicle_registration import _tables as vehicle_registration_tables

DEPARTMENT_METADATA: dict[str, MetaData] = {
    "household": household_tables.metadata,
    "social_insurance": social_insurance_tables.metadata,
    "housing": housing_tables.metadata,
    "tax": tax_tables.metadata,
    "vehicle_registration": vehicle_registration_tables.metadata,
    "market_regulation": market_regulation_tables.metadata,
    "civil_affairs": civil_affairs_tables.metadata,
    "courts": courts_tables.metadata,
}
DEPARTMENTS = tuple(DEPARTMENT_METADATA)
Row = tuple[Any, ...]
BATCH_ROWS = 50_000


class SqliteCityWriter:
    """One SQLite file per department in ``data_dir``, replaced only once fully written."""

    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir
        self._connections: dict[str, sqlite3.Connection] = {}
        self._buffers: dict[tuple[str, str], list[Row]] = defaultdict(list)
        self._inserts: dict[tuple[str, str], str] = {}
        self.counts: dict[str, dict[str, int]] = {d: {} for d in DEPARTMENTS}

    def path(self, department: str) -> Path:
        return self._dir / f"{department}.db"

    def _partial(self, department: str) -> Path:
        return self._dir / f".{department}.db.partial"

    def open(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        dialect = sqlite.dialect()
        for department, metadata in DEPARTMENT_METADATA.items():
            partial = self._partial(department)
            partial.unlink(missing_ok=True)
            connection = sqlite3.connect(partial)
            # Generation only: a crash leaves a partial file that is deleted, never renamed.
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "locking_mode=EXCLUSIVE"):
                connection.execute(f"PRAGMA {pragma}")
            connection.execute("PRAGMA cache_size=-65536")
            for table in metadata.sorted_tables:
                connection.execute(str(CreateTable(table).compile(dialect=dialect)))
                insert = table.insert().compile(dialect=dialect)  # every column, qmark style
                self._inserts[department, table.name] = str(insert)
                self.counts[department][table.name] = 0
            self._connections[department] = connection

    def add(self, department: str, table: str, row: Row) -> None:
        buffer = self._buffers[department, table]
        buffer.append(row)
        self.counts[department][table] += 1
        if len(buffer) >= BATCH_ROWS:
            self._flush(department, table)

    def _flush(self, department: str, table: str) -> None:
        buffer = self._buffers.pop((department, table), [])
        if buffer:
            connection = self._connections[department]
            connection.executemany(self._inserts[department, table], buffer)

    def finish(self, progress: Callable[[str], None]) -> None:
        for department, name in list(self._buffers):
            self._flush(department, name)
        dialect = sqlite.dialect()
        for department, metadata in DEPARTMENT_METADATA.items():
            progress(f"{department}: building indexes")
            connection = self._connections.pop(department)
            for table in metadata.sorted_tables:
                for index in sorted(table.indexes, key=lambda i: str(i.name)):
                    connection.execute(str(CreateIndex(index).compile(dialect=dialect)))
            connection.execute("ANALYZE")
            connection.commit()
            connection.close()
            os.replace(self._partial(department), self.path(department))

    def abort(self) -> None:
        for department, connection in self._connections.items():
            with contextlib.suppress(sqlite3.Error):
                connection.close()
            self._partial(department).unlink(missing_ok=True)
        self._connections.clear()


class SqlAlchemyCityWriter:
    """The departments' tables in the databases ``urls`` names (created afresh)."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        missing = [d for d in DEPARTMENTS if d not in urls]
        if missing:
            raise ValueError(f"no database URL for {', '.join(missing)}")
        self._urls = dict(urls)
        self._rows: dict[tuple[str, str], list[Row]] = defaultdict(list)
        self.counts: dict[str, dict[str, int]] = {d: {} for d in DEPARTMENTS}

    def open(self) -> None:
        for department, metadata in DEPARTMENT_METADATA.items():
            for table in metadata.sorted_tables:
                self.counts[department][table.name] = 0

    def add(self, department: str, table: str, row: Row) -> None:
        self._rows[department, table].append(row)
        self.counts[department][table] += 1

    def finish(self, progress: Callable[[str], None]) -> None:
        for department, metadata in DEPARTMENT_METADATA.items():
            progress(f"{department}: writing {self._urls[department].split(':', 1)[0]} tables")
            engine = create_engine(self._urls[department])
            try:
                metadata.drop_all(engine)
                metadata.create_all(engine)
                with engine.begin() as connection:
                    for table in metadata.sorted_tables:
                        rows = self._rows.pop((department, table.name), [])
                        if rows:
                            connection.execute(table.insert(), _as_dicts(table, rows))
            finally:
                engine.dispose()

    def abort(self) -> None:
        self._rows.clear()


def _as_dicts(table: Table, rows: list[Row]) -> list[dict[str, Any]]:
    """Rows as SQLAlchemy wants them, ISO text turned back into dates and datetimes."""
    converters: list[Callable[[Any], Any] | None] = []
    for column in table.columns:
        if isinstance(column.type, DateTime):
            converters.append(_utc_datetime)
        elif isinstance(column.type, Date):
            converters.append(date.fromisoformat)
        else:
            converters.append(None)
    names = [column.name for column in table.columns]
    return [
        {
            name: value if convert is None or value is None else convert(value)
            for name, convert, value in zip(names, converters, row, strict=True)
        }
        for row in rows
    ]


def _utc_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
