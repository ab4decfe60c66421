"""The engine's own result: plain slotted dataclasses, built without validation.

Everything in a verification's result is made by the engine from values it has already
checked (the application at the edge, each department answer against the catalogue), so
validating it again — as building the public pydantic models does, a few microseconds per
object and some thirty objects per verification — is pure cost on the hot path. The engine
builds these instead; the gRPC edge encodes its response and the audit log its line straight
from them, and ``Verifier.verify`` turns them into the public models (``public()``) only for
a caller that asked for those.

Each class has the attribute names of its public model, so code that only reads a result
(the audit encoder, the protobuf encoder, telemetry) takes either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from verifier.model._decision import (
    ClauseExplanation,
    Decision,
    DecisionOutcome,
    ScoreComponent,
    Truth,
)
from verifier.model._facts import FactResult, FactStatus, FactValue, Provenance, UnknownReason
from verifier.model._result import CallOutcome, DepartmentCall, VerificationResult

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


def trusted(model: type[M], fields: dict[str, Any]) -> M:
    """``model`` holding ``fields`` (every field, already of its type) without validating
    them: what ``model_construct`` does, without its per-field bookkeeping. Only for values
    the engine made itself; ``tests/model/test_plain.py`` pins that the result equals the
    validated model, so a pydantic that changes its internals fails there, not here."""
    instance = model.__new__(model)
    _set(instance, "__dict__", fields)
    _set(instance, "__pydantic_fields_set__", set(fields))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


@dataclass(slots=True)
class PlainProvenance:
    department: str
    source_as_of: datetime | None
    retrieved_at: datetime
    rule_version: str
    cached: bool = False
    stale: bool = False

    def public(self) -> Provenance:
        return trusted(
            Provenance,
            {
                "department": self.department,
                "source_as_of": self.source_as_of,
                "retrieved_at": self.retrieved_at,
                "cached": self.cached,
                "stale": self.stale,
                "rule_version": self.rule_version,
            },
        )


@dataclass(slots=True)
class PlainFact:
    name: str
    fact: str
    subjects: dict[str, str]
    status: FactStatus
    value: FactValue | None
    reason: UnknownReason | None
    provenance: PlainProvenance

    @property
    def known(self) -> bool:
        return self.status is FactStatus.KNOWN

    def public(self) -> FactResult:
        return trusted(
            FactResult,
            {
                "name": self.name,
                "fact": self.fact,
                "subjects": dict(self.subjects),
                "status": self.status,
                "value": self.value,
                "reason": self.reason,
                "provenance": self.provenance.public(),
            },
        )


@dataclass(slots=True)
class PlainCall:
    department: str
    outcome: CallOutcome
    duration_ms: float
    facts: tuple[str, ...]
    attempts: int = 1

    def public(self) -> DepartmentCall:
        return trusted(
            DepartmentCall,
            {
                "department": self.department,
                "outcome": self.outcome,
                "duration_ms": self.duration_ms,
                "facts": self.facts,
                "attempts": self.attempts,
            },
        )


@dataclass(slots=True)
class PlainClause:
    clause: str
    label: str
    outcome: Truth
    facts: tuple[str, ...]
    threshold: str | None
    depth: int

    def public(self) -> ClauseExplanation:
        return trusted(
            ClauseExplanation,
            {
                "clause": self.clause,
                "label": self.label,
                "outcome": self.outcome,
                "facts": self.facts,
                "threshold": self.threshold,
                "depth": self.depth,
            },
        )


@dataclass(slots=True)
class PlainComponent:
    component: str
    label: str
    points: float | None
    facts: tuple[str, ...]
    basis: str | None

    def public(self) -> ScoreComponent:
        return trusted(
            ScoreComponent,
            {
                "component": self.component,
                "label": self.label,
                "points": self.points,
                "facts": self.facts,
                "basis": self.basis,
            },
        )


@dataclass(slots=True)
class PlainDecision:
    outcome: DecisionOutcome
    explanation: tuple[PlainClause, ...]
    score: float | None = None
    score_components: tuple[PlainComponent, ...] = ()

    def public(self) -> Decision:
        return trusted(
            Decision,
            {
                "outcome": self.outcome,
                "explanation": tuple(line.public() for line in self.explanation),
                "score": self.score,
                "score_components": tuple(c.public() for c in self.score_components),
            },
        )


@dataclass(slots=True)
class PlainResult:
    """A verification's result as the engine made it (``VerificationResult``'s fields)."""

    request_id: str
    service_item: str
    item_version: str
    reference_date: date
    facts: tuple[PlainFact, ...]
    decision: PlainDecision
    documents_not_required: tuple[str, ...]
    department_calls: tuple[PlainCall, ...]
    duration_ms: float

    def public(self) -> VerificationResult:
        return trusted(
            VerificationResult,
            {
                "request_id": self.request_id,
                "service_item": self.service_item,
                "item_version": self.item_version,
                "reference_date": self.reference_date,
                "facts": tuple(fact.public() for fact in self.facts),
                "decision": self.decision.public(),
                "documents_not_required": self.documents_not_required,
                "department_calls": tuple(call.public() for call in self.department_calls),
                "duration_ms": self.duration_ms,
            },
        )
