"""One department's share of a bulk batch, as the resilience pipeline sees it: the batch's
``fetch_many`` made to look like one call (so the breaker, bulkhead and retries judge it
once), and its answers handed back to each application's plan."""

from __future__ import annotations

from collections.abc import Sequence

from verifier._errors import DepartmentAnswerInvalid
from verifier.adapter import DepartmentAdapter, DepartmentAnswer, DepartmentQuery
from verifier.engine._fanout import DepartmentOutcome
from verifier.engine._planner import DepartmentPlan


class BatchAnswer(DepartmentAnswer):
    """The answers of one ``fetch_many`` call, carried through the resilience pipeline as
    one answer (the pipeline judges a call, not what it answered)."""

    __slots__ = ("answers",)
    answers: list[DepartmentAnswer]

    def __init__(self, answers: list[DepartmentAnswer]) -> None:
        super().__init__(facts={})
        object.__setattr__(self, "answers", answers)


class BatchFetch(DepartmentAdapter):
    """One department's adapter as the pipeline sees a batch call: ``fetch`` is the batch's
    ``fetch_many`` (so each retry re-reads the batch)."""

    def __init__(self, adapter: DepartmentAdapter, queries: Sequence[DepartmentQuery]) -> None:
        self.department = adapter.department
        self._adapter = adapter
        self._queries = queries

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        answers = list(await self._adapter.fetch_many(self._queries))
        if len(answers) != len(self._queries):
            raise DepartmentAnswerInvalid(
                f"{self.department}: {len(answers)} answers to {len(self._queries)} queries"
            )
        return BatchAnswer(answers)


def for_plan(
    shared: DepartmentOutcome, plan: DepartmentPlan, answer: DepartmentAnswer | None
) -> DepartmentOutcome:
    return DepartmentOutcome(
        plan,
        shared.outcome,
        shared.duration_ms,
        answer,
        unknown_reason=shared.unknown_reason,
        attempts=shared.attempts,
        error_type=shared.error_type,
        ended_ns=shared.ended_ns,
    )
