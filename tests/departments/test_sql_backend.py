"""The shared SQL backend: inline SQLite, batched reads, and exceptions mapped at the edge."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, exc, select
from sqlalchemy.sql import ColumnElement, Select

from verifier._errors import DepartmentError, DepartmentUnavailable
from verifier.adapter.sql import Reader, SqlBackend, SubjectRead
from verifier.adapter.sql._backend import MAX_IDS_PER_STATEMENT

metadata = MetaData()
people = Table(
    "people", metadata, Column("pid", String, primary_key=True), Column("secret", String)
)
pets = Table("pets", metadata, Column("owner", String), Column("legs", Integer))


def _people(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    return select(people.c.pid, people.c.secret).where(people.c.pid.in_(ids))


def _pets(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
    return select(pets.c.owner, pets.c.legs).where(pets.c.owner.in_(ids))


READ = SubjectRead({"p": _people, "q": _pets})


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'toy.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            people.insert(), [{"pid": f"p{i:04d}", "secret": f"CANARY-{i}"} for i in range(1_200)]
        )
        connection.execute(
            pets.insert(), [{"owner": "p0001", "legs": 4}, {"owner": "p0001", "legs": 2}]
        )
    engine.dispose()
    return url


@pytest.fixture
async def backend(database: str) -> Any:
    backend = SqlBackend(database, department="toy")
    yield backend
    backend.close()


async def test_rows_come_back_grouped_by_branch_with_their_own_columns(backend: SqlBackend) -> None:
    rows = await backend.run(lambda reader: reader.select(READ, ["p0001", "p0002", "nobody"]))
    assert sorted(tuple(row) for row in rows["p"]) == [("p0001", "CANARY-1"), ("p0002", "CANARY-2")]
    assert sorted(tuple(row) for row in rows["q"]) == [("p0001", 2), ("p0001", 4)]


async def test_more_ids_than_one_statement_takes_are_read_in_chunks(backend: SqlBackend) -> None:
    ids = [f"p{i:04d}" for i in range(1_200)]
    statements: list[str] = []
    rows = await backend.run(lambda reader: _counting(reader, statements).select(READ, ids))
    assert len(rows["p"]) == 1_200
    assert len(statements) == 3  # 500 + 500 + 200 (padded to 256)
    assert MAX_IDS_PER_STATEMENT == 500


async def test_id_lists_are_padded_to_a_few_statement_shapes(backend: SqlBackend) -> None:
    statements: list[str] = []
    for count in (1, 2, 3, 4, 5, 7, 8):
        ids = [f"p{i:04d}" for i in range(count)]
        await backend.run(lambda reader, ids=ids: _counting(reader, statements).select(READ, ids))
    assert len(set(statements)) == 4  # sizes 1, 2, 4, 8


async def test_sqlite_work_runs_inline_in_the_calling_thread(backend: SqlBackend) -> None:
    assert backend.inline
    thread = await backend.run(lambda reader: threading.get_ident())
    assert thread == threading.get_ident()


async def test_concurrent_runs_share_the_connection_safely(backend: SqlBackend) -> None:
    ids = [f"p{i:04d}" for i in range(50)]

    def read(reader: Reader) -> int:
        return len(reader.select(READ, ids)["p"])

    results = await asyncio.gather(
        *(asyncio.to_thread(lambda: asyncio.run(backend.run(read))) for _ in range(8))
    )
    assert results == [50] * 8


def _counting(reader: Reader, statements: list[str]) -> Reader:
    execute = reader._execute

    def counted(sql: str, params: Any) -> Any:
        statements.append(sql)
        return execute(sql, params)

    reader._execute = counted
    return reader


def _raise(error: BaseException) -> Callable[[Reader], None]:
    def work(reader: Reader) -> None:
        raise error

    return work


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (
            exc.OperationalError("SELECT :p", {"p": "CANARY-x 110101199001019503"}, Exception()),
            True,
        ),
        (exc.InterfaceError("SELECT :p", {"p": "CANARY-x"}, Exception()), True),
        (exc.DisconnectionError("CANARY-x"), True),
        (exc.TimeoutError("CANARY-x"), True),
        (exc.ProgrammingError("SELECT :p", {"p": "CANARY-x"}, Exception()), False),
        (exc.IntegrityError("SELECT :p", {"p": "CANARY-x"}, Exception()), False),
        (exc.DatabaseError("SELECT :p", {"p": "CANARY-x"}, Exception()), False),
        (exc.NoSuchTableError("CANARY-x"), False),
        (sqlite3.OperationalError("no such column: CANARY-x"), True),
        (sqlite3.DatabaseError("CANARY-x"), False),
        (sqlite3.IntegrityError("CANARY-x"), False),
    ],
)
async def test_every_database_exception_is_mapped_without_its_text(
    backend: SqlBackend, error: Exception, unavailable: bool
) -> None:
    with pytest.raises(DepartmentError) as raised:
        await backend.run(_raise(error))
    assert isinstance(raised.value, DepartmentUnavailable) is unavailable
    assert raised.value.retryable is unavailable
    message = str(raised.value)
    assert message.startswith("toy: ")
    assert "CANARY" not in message
    assert "110101199001019503" not in message
    assert raised.value.__context__ is None


async def test_errors_of_the_work_itself_pass_through(backend: SqlBackend) -> None:
    with pytest.raises(ZeroDivisionError):
        await backend.run(lambda reader: 1 / 0)


@pytest.mark.postgres
async def test_postgres_work_runs_in_a_worker_thread(postgres_schemas: dict[str, str]) -> None:
    backend = SqlBackend(postgres_schemas["tax"], department="tax")
    try:
        assert not backend.inline
        thread = await backend.run(lambda reader: threading.get_ident())
        assert thread != threading.get_ident()
    finally:
        backend.close()
