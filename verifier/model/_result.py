"""What a verification answers: facts with provenance, a decision, and how it was reached."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from verifier.model._decision import Decision
from verifier.model._facts import FactResult


class CallOutcome(StrEnum):
    OK = "OK"
    ERROR = "ERROR"
    TIMEOUT = "TIMEOUT"
    INVALID_ANSWER = "INVALID_ANSWER"
    NO_ADAPTER = "NO_ADAPTER"
    CANCELLED = "CANCELLED"
    """The verification was cancelled (by its caller, or its deadline) while the department
    was being asked: no answer came back to the caller. Audit records only."""


class DepartmentCall(BaseModel):
    """One department's part in a verification (one call per department per application)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str
    outcome: CallOutcome
    duration_ms: float
    facts: tuple[str, ...]
    """The item's fact names this call established (or failed to)."""
    attempts: int = 1
    """Backend calls made (retries and hedged reads included; 0 if none was made)."""


class VerificationResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    service_item: str
    item_version: str
    reference_date: date
    facts: tuple[FactResult, ...]
    decision: Decision
    documents_not_required: tuple[str, ...]
    """Paper proofs the citizen need not bring: those replaced by facts established here."""
    department_calls: tuple[DepartmentCall, ...]
    duration_ms: float

    def fact(self, name: str) -> FactResult:
        for result in self.facts:
            if result.name == name:
                return result
        raise KeyError(name)
