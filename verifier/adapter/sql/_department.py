"""The SQL department base: one read per batch, derivations registered per catalogue fact.

A department adapter built on it is three things: its tables (private to its package), one
``SubjectRead`` over them, and pure derivations from the rows it read, each registered for
the catalogue fact it answers with ``@derives("fact_id")``. The base does the rest: it
checks the requests, runs the read for every subject of every query at once (so
``fetch_many`` batches a bulk re-verification into ``IN (...)`` reads of up to 500 ids, one
statement per chunk), reports when the department last refreshed its data, and keeps raw
rows inside the adapter.

The registered derivations *are* ``supported_facts()``: the engine's wiring compares them
with the catalogue's facts of the department and refuses to start when one has no
derivation, naming the department and the fact. There is no ``if fact == ...`` chain left
to fall through at run time.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, select
from sqlalchemy.sql import Select

from verifier._errors import DepartmentAnswerInvalid, DepartmentError
from verifier.adapter._seam import (
    DepartmentAdapter,
    DepartmentAnswer,
    DepartmentQuery,
    FactRequest,
    Unknown,
)
from verifier.adapter.sql._backend import Reader, Row, SqlBackend, SubjectRead
from verifier.adapter.sql._values import as_utc_datetime
from verifier.model import FactValue

Records = TypeVar("Records")
Answer = FactValue | Unknown
"""What a derivation returns: the fact's value, or ``Unknown(reason)``."""
Method = TypeVar("Method", bound=Callable[..., Answer])

DEFAULT_REFRESH_CACHE_SECONDS = 60.0
"""How long the department's last-refresh time is reused before it is read again."""

_DERIVES = "__verifier_derives__"


def derives(*facts: str) -> Callable[[Method], Method]:
    """Register a method as the derivation of one or more catalogue facts.

    The method takes ``(self, request, records, as_of)`` and returns the fact's value or
    ``Unknown``; it must be pure (no I/O: the read already happened)::

        @derives("vehicles_owned")
        def _vehicles_owned(self, request: FactRequest, records: Records, as_of: date) -> Answer:
            return vehicles_owned(records.get(subject(request), ()), as_of)
    """
    if not facts:
        raise TypeError("@derives needs at least one catalogue fact id")

    def register(method: Method) -> Method:
        # The mark is read by SqlDepartmentAdapter.__init_subclass__; the method is unchanged.
        setattr(method, _DERIVES, (*getattr(method, _DERIVES, ()), *facts))
        return method

    return register


def refresh_log_table(metadata: MetaData) -> Table:
    """Every department database records its data loads; the newest is ``source_as_of``."""
    return Table(
        "refresh_log",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("refreshed_at", DateTime(timezone=True), nullable=False),
        Column("rows_loaded", Integer, nullable=False),
        Column("source_system", String(64), nullable=False),
        Column("operator", String(64), nullable=False),
    )


def latest_refresh(refresh_log: Table) -> Select[Any]:
    """The statement that reads the department's last refresh time from its refresh log."""
    return select(func.max(refresh_log.c.refreshed_at))


class SqlDepartmentAdapter(DepartmentAdapter, Generic[Records]):
    """Base of SQL department adapters; subclasses say what to read and how to derive.

    Set ``department``, ``read`` and ``refresh_statement``; implement ``collect`` (rows to
    records); register one derivation per catalogue fact with ``@derives``.
    """

    department: str
    read: ClassVar[SubjectRead]
    refresh_statement: ClassVar[Select[Any]]
    derivations: ClassVar[Mapping[str, str]] = {}
    """Catalogue fact id → the name of the method that derives it (filled per class)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, str] = {}
        # Walk the MRO base-first so that a subclass's own registration overrides its base's.
        for klass in reversed(cls.__mro__):
            own: dict[str, str] = {}
            for name, member in vars(klass).items():
                for fact in getattr(member, _DERIVES, ()):
                    if fact in own:
                        raise TypeError(
                            f"{cls.__name__}: fact {fact!r} has two derivations "
                            f"({own[fact]} and {name})"
                        )
                    own[fact] = name
            found.update(own)
        cls.derivations = found

    def __init__(
        self,
        backend: SqlBackend,
        *,
        refresh_cache_seconds: float | None = None,
    ) -> None:
        """``refresh_cache_seconds``: how long ``source_as_of`` is reused (default 60)."""
        self._backend = backend
        seconds = refresh_cache_seconds
        self._refresh_cache_seconds = DEFAULT_REFRESH_CACHE_SECONDS if seconds is None else seconds
        self._source_as_of: datetime | None = None
        self._source_checked: float | None = None
        self._derive: dict[str, Callable[[FactRequest, Records, date], Answer]] = {
            fact: getattr(self, name) for fact, name in self.derivations.items()
        }

    def supported_facts(self) -> frozenset[str]:
        return frozenset(self.derivations)

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        return (await self.fetch_many((query,)))[0]

    async def fetch_many(self, queries: Sequence[DepartmentQuery]) -> list[DepartmentAnswer]:
        for query in queries:
            self._check(query)
        subject_ids = {sid for query in queries for sid in query.subject_ids()}
        rows = await self._backend.run(lambda reader: self._read(reader, subject_ids))
        source_as_of = self._source_as_of
        derive = self._derive
        try:
            records = self.collect(rows)
            return [
                DepartmentAnswer(
                    facts={
                        request.key: derive[request.fact](request, records, query.reference_date)
                        for request in query.requests
                    },
                    source_as_of=source_as_of,
                )
                for query in queries
            ]
        except (ValueError, TypeError) as failure:
            # A malformed row (a date that does not parse…); its value stays out of the message.
            error = DepartmentAnswerInvalid(
                f"{self.department}: a record could not be read ({type(failure).__name__})"
            )
        raise error

    async def aclose(self) -> None:
        self._backend.close()

    @abc.abstractmethod
    def collect(self, rows: Mapping[str, list[Row]]) -> Records:
        """Turn the read's rows (by branch tag) into this department's private records."""

    def _check(self, query: DepartmentQuery) -> None:
        for request in query.requests:
            if request.fact not in self._derive:
                raise DepartmentError(
                    f"{self.department}: fact {request.fact!r} is not provided by this "
                    f"department (it provides {', '.join(sorted(self._derive))})"
                )

    def _read(self, reader: Reader, subject_ids: set[str]) -> Mapping[str, list[Row]]:
        rows = reader.select(self.read, subject_ids) if subject_ids else {}
        now = time.monotonic()
        checked = self._source_checked
        if checked is None or now - checked >= self._refresh_cache_seconds:
            try:
                self._source_as_of = as_utc_datetime(reader.scalar(self.refresh_statement))
            except (ValueError, TypeError):
                # The refresh time is provenance "if the department says"; a garbled one is
                # reported as not said rather than failing the facts.
                self._source_as_of = None
            self._source_checked = now
        return rows
