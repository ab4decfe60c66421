"""The audit record: who asked which facts about whom, for what, and what was disclosed.

Built from the result the caller receives, plus the request's context. It holds status
facts (what was disclosed) and never a raw department value; subjects appear only as a
keyed pseudonym and a masked form.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from verifier.audit._pseudonym import Pseudonymiser
from verifier.catalogue import Catalogue, SharingClass
from verifier.model import (
    Application,
    CallerIdentity,
    CallOutcome,
    DecisionOutcome,
    FactStatus,
    FactValue,
    UnknownReason,
    VerificationResult,
    mask_identifier,
)


class AuditedSubject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    pseudonym: str
    masked: str


class AuditedFact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    fact: str
    department: str
    sharing: SharingClass
    status: FactStatus
    value: FactValue | None
    reason: UnknownReason | None
    cached: bool
    stale: bool


class AuditedCall(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str
    outcome: CallOutcome
    duration_ms: float


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    time: datetime
    caller_system: str
    caller_department: str | None
    operator: str | None
    service_item: str
    item_version: str
    purpose: str | None
    legal_basis: str | None
    consent_reference: str | None
    case_number: str | None
    reference_date: date
    subjects: tuple[AuditedSubject, ...]
    facts: tuple[AuditedFact, ...]
    decision: DecisionOutcome
    score: float | None
    department_calls: tuple[AuditedCall, ...]
    duration_ms: float


def audit_record_for(
    result: VerificationResult,
    application: Application,
    caller: CallerIdentity,
    catalogue: Catalogue,
    pseudonymiser: Pseudonymiser,
    time: datetime,
) -> AuditRecord:
    subjects = tuple(
        AuditedSubject(
            role=subject.role,
            pseudonym=pseudonymiser.pseudonym(subject.id),
            masked=mask_identifier(subject.id),
        )
        for subject in application.subjects
    )
    facts = tuple(
        AuditedFact(
            name=fact.name,
            fact=fact.fact,
            department=fact.provenance.department,
            sharing=catalogue.facts[fact.fact].sharing,
            status=fact.status,
            value=fact.value,
            reason=fact.reason,
            cached=fact.provenance.cached,
            stale=fact.provenance.stale,
        )
        for fact in result.facts
    )
    calls = tuple(
        AuditedCall(department=c.department, outcome=c.outcome, duration_ms=c.duration_ms)
        for c in result.department_calls
    )
    return AuditRecord(
        request_id=result.request_id,
        time=time,
        caller_system=caller.system,
        caller_department=caller.department,
        operator=application.operator,
        service_item=result.service_item,
        item_version=result.item_version,
        purpose=application.purpose,
        legal_basis=application.legal_basis,
        consent_reference=application.consent_reference,
        case_number=application.case_number,
        reference_date=result.reference_date,
        subjects=subjects,
        facts=facts,
        decision=result.decision.outcome,
        score=result.decision.score,
        department_calls=calls,
        duration_ms=result.duration_ms,
    )
