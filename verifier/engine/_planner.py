"""Plan a verification: which departments to ask, and what to ask each of them.

The plan is data (not code paths) so that later strategies — a staged plan that asks only
the departments that can still change the answer, bulk batching — can reason about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from verifier.adapter import DepartmentQuery, FactRequest
from verifier.rules import BoundFact


@dataclass(frozen=True, slots=True)
class DepartmentPlan:
    """One department's share of a verification: one query, one call."""

    department: str
    facts: tuple[BoundFact, ...]
    query: DepartmentQuery


def plan_departments(bound: Iterable[BoundFact], reference_date: date) -> list[DepartmentPlan]:
    """Group the bound facts by provider department, in first-use order."""
    by_department: dict[str, list[BoundFact]] = {}
    for fact in bound:
        by_department.setdefault(fact.definition.department, []).append(fact)
    plans = []
    for department, facts in by_department.items():
        requests = tuple(
            FactRequest(
                key=fact.name,
                fact=fact.definition.id,
                subjects=fact.subject_ids,
                parameters=fact.parameters,
            )
            for fact in facts
        )
        query = DepartmentQuery(department, reference_date, requests)
        plans.append(DepartmentPlan(department, tuple(facts), query))
    return plans
