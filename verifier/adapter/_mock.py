"""A department adapter for tests and examples: answers from a table you give it.

Public API on purpose (as httpx's MockTransport): tests of the engine and of code that embeds
it fake a department here, at the seam, instead of patching internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

from verifier._errors import DepartmentError
from verifier.adapter._seam import (
    DepartmentAdapter,
    DepartmentAnswer,
    DepartmentQuery,
    FactRequest,
    Unknown,
)
from verifier.model import FactValue

Answer = FactValue | Unknown
Responder = Callable[[FactRequest], Answer]


class MockAdapter(DepartmentAdapter):
    """Answers each request from ``responder`` (a function) or ``values`` (by fact id).

    ``delay`` waits before answering; ``error`` is raised instead of answering; ``hang``
    never answers (until cancelled). ``queries`` records what was asked, for assertions.
    """

    def __init__(
        self,
        department: str,
        *,
        values: Mapping[str, Answer] | None = None,
        responder: Responder | None = None,
        delay: float = 0.0,
        error: DepartmentError | None = None,
        hang: bool = False,
        source_as_of: datetime | None = None,
    ) -> None:
        self.department = department
        self._values = dict(values or {})
        self._responder = responder
        self.delay = delay
        self.error = error
        self.hang = hang
        self._source_as_of = source_as_of
        self.queries: list[DepartmentQuery] = []
        self.cancelled = 0

    @property
    def calls(self) -> int:
        return len(self.queries)

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        self.queries.append(query)
        try:
            if self.hang:
                await asyncio.Event().wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.error is not None:
            raise self.error
        facts = {request.key: self._answer(request) for request in query.requests}
        return DepartmentAnswer(facts=facts, source_as_of=self._source_as_of)

    def _answer(self, request: FactRequest) -> Answer:
        if self._responder is not None:
            return self._responder(request)
        return self._values[request.fact]

    def supported_facts(self) -> frozenset[str]:
        return frozenset(self._values)
