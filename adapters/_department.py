"""What the four SQL department adapters share: settings, one read per batch, the refresh clock.

A department adapter here is three things: its tables (private), one ``SubjectRead`` over
them, and pure derivations from the rows it read. This base class does the rest: it checks
the requests, runs the read for every subject of every query at once (so ``fetch_many``
batches a bulk re-verification into ``IN (...)`` reads of up to 500 ids), reports when the
department last refreshed its data, and keeps raw rows inside the adapter.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, func, select
from sqlalchemy.sql import Select

from adapters._sql import Reader, Row, SqlBackend, SubjectRead, as_utc_datetime
from verifier._errors import ConfigurationError, DepartmentAnswerInvalid, DepartmentError
from verifier.adapter import (
    DepartmentAdapter,
    DepartmentAnswer,
    DepartmentQuery,
    FactRequest,
    Unknown,
)
from verifier.model import FactValue

Records = TypeVar("Records")
Answer = FactValue | Unknown

DEFAULT_REFRESH_CACHE_SECONDS = 60.0
"""How long the department's last-refresh time is reused before it is read again."""


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
    return select(func.max(refresh_log.c.refreshed_at))


class SqlDepartmentAdapter(DepartmentAdapter, Generic[Records]):
    """Base of the SQL department adapters; subclasses say what to read and how to derive."""

    department: str
    facts: ClassVar[frozenset[str]]
    read: ClassVar[SubjectRead]
    refresh_statement: ClassVar[Select[Any]]

    def __init__(
        self,
        backend: SqlBackend,
        *,
        refresh_cache_seconds: float = DEFAULT_REFRESH_CACHE_SECONDS,
    ) -> None:
        self._backend = backend
        self._refresh_cache_seconds = refresh_cache_seconds
        self._source_as_of: datetime | None = None
        self._source_checked: float | None = None

    def supported_facts(self) -> frozenset[str]:
        return self.facts

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        return (await self.fetch_many((query,)))[0]

    async def fetch_many(self, queries: Sequence[DepartmentQuery]) -> list[DepartmentAnswer]:
        for query in queries:
            self._check(query)
        subject_ids = {sid for query in queries for sid in query.subject_ids()}
        rows = await self._backend.run(lambda reader: self._read(reader, subject_ids))
        source_as_of = self._source_as_of
        try:
            records = self.collect(rows)
            return [
                DepartmentAnswer(
                    facts={
                        request.key: self.derive(request, records, query.reference_date)
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

    @abc.abstractmethod
    def derive(self, request: FactRequest, records: Records, as_of: date) -> Answer:
        """One fact from the records, as of the reference date (pure; no I/O)."""

    def _check(self, query: DepartmentQuery) -> None:
        for request in query.requests:
            if request.fact not in self.facts:
                raise DepartmentError(
                    f"{self.department}: fact {request.fact!r} is not provided by this "
                    f"department (it provides {', '.join(sorted(self.facts))})"
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


def subject(request: FactRequest, slot: str = "subject") -> str:
    try:
        return request.subjects[slot]
    except KeyError:
        raise DepartmentError(f"fact {request.fact!r} needs the subject slot {slot!r}") from None


def text_parameter(request: FactRequest, name: str) -> str:
    value = request.parameters.get(name)
    if not isinstance(value, str):
        raise DepartmentError(f"fact {request.fact!r} needs the text parameter {name!r}")
    return value


def int_parameter(request: FactRequest, name: str, *, minimum: int | None = None) -> int:
    value = request.parameters.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DepartmentError(f"fact {request.fact!r} needs the integer parameter {name!r}")
    if minimum is not None and value < minimum:
        raise DepartmentError(f"fact {request.fact!r}: parameter {name!r} must be >= {minimum}")
    return value


def backend_from_settings(
    settings: Mapping[str, object], department: str, *, extra_keys: frozenset[str] = frozenset()
) -> tuple[SqlBackend, float]:
    """The backend named by ``settings['url']`` and the refresh-cache time, keys checked.

    ``adapter`` (which entry point to use) and ``department`` (the catalogue id it is wired
    for) are the configuration's own keys and are allowed.
    """
    allowed = {"url", "adapter", "department", "refresh_cache_seconds"} | extra_keys
    for key in settings:
        if key not in allowed:
            raise ConfigurationError(
                f"departments.{department}.{key}: unknown setting "
                f"(known: {', '.join(sorted(allowed))})"
            )
    url = settings.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"departments.{department}.url: required, a SQLAlchemy URL string")
    seconds = settings.get("refresh_cache_seconds", DEFAULT_REFRESH_CACHE_SECONDS)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise ConfigurationError(
            f"departments.{department}.refresh_cache_seconds: must be a number >= 0"
        )
    return SqlBackend(url, department=department), float(seconds)
