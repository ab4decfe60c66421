"""The one interface a department adapter implements.

An adapter receives, per application, every fact its department must establish (a
``DepartmentQuery``), reads its backend once, derives the facts with pure functions, and
answers with values only. Raw records never leave the adapter; client exceptions are mapped
to ``DepartmentError`` (and never carry record values).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from verifier.model import FactValue, UnknownReason

ParameterValue = str | int


@dataclass(frozen=True, slots=True)
class FactRequest:
    """One fact to establish: which catalogue fact, about whom, with which parameters."""

    key: str
    """Unique within the query; the answer is keyed by it."""
    fact: str
    """The catalogue fact id, e.g. ``guardian_of``."""
    subjects: Mapping[str, str]
    """Subject slot → normalised identifier (resident ID or credit code)."""
    parameters: Mapping[str, ParameterValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DepartmentQuery:
    """Everything one application needs from one department, established as of one date."""

    department: str
    reference_date: date
    requests: tuple[FactRequest, ...]

    def subject_ids(self) -> frozenset[str]:
        return frozenset(sid for request in self.requests for sid in request.subjects.values())


@dataclass(frozen=True, slots=True)
class Unknown:
    """The department holds the subject but cannot state the fact (e.g. record pending)."""

    reason: UnknownReason


@dataclass(frozen=True, slots=True)
class DepartmentAnswer:
    """Derived values by request key. Missing keys count as an invalid answer."""

    facts: Mapping[str, FactValue | Unknown]
    source_as_of: datetime | None = None
    """When the department's data was last refreshed, if it says."""


class DepartmentAdapter(abc.ABC):
    """Implement ``fetch``; override ``fetch_many`` when the backend can batch."""

    department: str
    """The catalogue id of the department this adapter speaks for."""

    @abc.abstractmethod
    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        """Answer every request of one application, with one backend round trip if possible."""

    async def fetch_many(self, queries: Sequence[DepartmentQuery]) -> list[DepartmentAnswer]:
        """Answer many applications' queries (bulk re-verification); answers in query order.

        The default asks one by one; adapters whose backend can batch should override it.
        """
        return [await self.fetch(query) for query in queries]

    def supported_facts(self) -> frozenset[str]:
        """The catalogue facts this adapter can derive; checked against the catalogue at wiring."""
        return frozenset()

    async def start(self) -> None:  # noqa: B027 - optional lifecycle hook, empty by default
        """Open connections. Called once before the first query."""

    async def aclose(self) -> None:  # noqa: B027 - optional lifecycle hook, empty by default
        """Release connections. Called once at shutdown."""
