"""The audit record: who asked which facts about whom, for what, and what was disclosed.

Built from the result the caller receives, plus the request's context. It holds status
facts (what was disclosed) and never a raw department value; subjects appear only as a
keyed pseudonym and a masked form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from verifier._errors import Refusal
from verifier.audit._pseudonym import Pseudonymiser
from verifier.catalogue import Catalogue, SharingClass
from verifier.model import (
    Application,
    CallerIdentity,
    CallOutcome,
    ClauseExplanation,
    DecisionOutcome,
    DepartmentCall,
    FactStatus,
    FactValue,
    ScoreComponent,
    UnknownReason,
    VerificationResult,
    mask_identifier,
)
from verifier.model._plain import PlainCall, PlainClause, PlainComponent, PlainResult

ThresholdValue = StrictBool | StrictInt | StrictFloat | StrictStr
"""A dated parameter's value (``verifier.rules.DatedParameter``: a number, text or a flag)."""
ParameterValue = StrictStr | StrictInt | StrictBool
"""An application parameter's value (the district, a household size…), as validated."""


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
    attempts: int
    """Backend calls made for this fact's department (0: served without calling it)."""
    latency_ms: float
    """How long its department took to answer (or to fail)."""
    roles: tuple[str, ...] = ()
    """The application roles this fact is about, so a citizen's statement shows exactly what
    was read about them (empty in records written before it was kept)."""
    replaces_document: str | None = None
    """The paper proof this fact stood in for, as the catalogue said at the time."""


class AuditedCall(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str
    outcome: CallOutcome
    duration_ms: float
    attempts: int


class DecisionTrace(BaseModel):
    """Why a decision came out as it did, kept with it: the rule version, the application's
    parameters and the thresholds in force, and every labelled clause with its outcome.

    Status facts only: the clauses name the facts they read (the values are the record's
    ``facts``, already status values), the thresholds are the policy's own numbers, the
    parameters those the item declares (validated at the edge: a district code, a household
    size). Its size is bounded by the item (``verifier.rules.trace_size_bound``, at most 16 KiB)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_version: str
    """``<item>@<version>``, as the facts' provenance names it."""
    parameters: dict[str, ParameterValue]
    thresholds: dict[str, ThresholdValue]
    """Every dated parameter the item reads, by name, as in force on the reference date."""
    clauses: tuple[ClauseExplanation, ...]
    """The labelled clauses in pre-order (``depth`` gives the tree), each with its outcome."""
    score_components: tuple[ScoreComponent, ...] = ()


class AuditRecord(BaseModel):
    """One verification: who asked which facts about whom, for what, and what was disclosed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["verification"] = "verification"
    request_id: str
    trace_id: str | None = None
    """The OpenTelemetry trace of the verification, to find its spans."""
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
    decision: DecisionOutcome | None
    """None: no answer was given — the verification was cancelled (by its caller, or its
    deadline) after departments were asked. ``department_calls`` then says how far each got
    (CANCELLED, or how it ended) and how many reads it made; ``facts`` is empty, since
    nothing was disclosed."""
    score: float | None
    department_calls: tuple[AuditedCall, ...]
    duration_ms: float
    pseudonym_key_fingerprint: str | None = None
    """``Pseudonymiser.fingerprint`` of the key its pseudonyms were made with (None in
    records written before it was kept)."""
    trace: DecisionTrace | None = None
    """Why the decision came out as it did (None: cancelled, so no decision; or written
    before traces were kept)."""


class AlertRecord(BaseModel):
    """A high-risk behaviour alert (高危行为预警), kept in the same tamper-evident log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["alert"] = "alert"
    time: datetime
    caller_system: str
    rule: str
    """Which configured rule fired, e.g. ``distinct_subjects_per_hour``."""
    description: str
    observed: int
    threshold: int
    window_seconds: int


class AuditedRefusal(BaseModel):
    """One reason a request was refused: the rule, and the fact it applied to (if any)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    """A ``verifier.access.RefusalRule`` value, e.g. ``not_shared`` or ``no_consent``."""
    fact: str | None
    catalogue_fact: str | None
    department: str | None
    sharing: SharingClass | None


class RefusalRecord(BaseModel):
    """A request refused by access control (PERMISSION_DENIED) before any department or
    cache was consulted: who asked what about whom, and which rule said no. Every refusal
    is audited, like every disclosure (谁使用，谁负责)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["refusal"] = "refusal"
    request_id: str
    trace_id: str | None = None
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
    subjects: tuple[AuditedSubject, ...]
    refusals: tuple[AuditedRefusal, ...]
    pseudonym_key_fingerprint: str | None = None
    """``Pseudonymiser.fingerprint`` of the key its pseudonyms were made with (None in
    records written before it was kept)."""


class UnauthenticatedRecord(BaseModel):
    """Calls refused with UNAUTHENTICATED from one peer host within one minute, counted.

    One record per host and minute, not one per call: a flood of bad credentials must not
    become a flood of log lines. Never the credential: no token, no certificate name, and
    an unregistered ``caller.system`` the request declared only as a keyed hash (it is the
    caller's own text, which could hold anything, even personal data; the hash still tells
    an auditor how many names were tried and whether a name they suspect was one of them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["unauthenticated"] = "unauthenticated"
    time: datetime
    """The start (UTC) of the minute the attempts fell in."""
    peer_host: str | None
    """The peer's address without its port; None for the hosts beyond those counted one by
    one in that minute, counted together."""
    attempts: int
    reasons: dict[str, int]
    """Attempts per reason (``verifier.service.AuthFailure`` values)."""
    declared_systems: tuple[str, ...] = ()
    """``Pseudonymiser.name_tag`` of each unregistered ``caller.system`` declared (the
    first few)."""
    pseudonym_key_fingerprint: str | None = None
    """``Pseudonymiser.fingerprint`` of the key the tags were made with."""


AuditEvent = Annotated[
    AuditRecord | AlertRecord | RefusalRecord | UnauthenticatedRecord, Field(discriminator="kind")
]
"""Everything the audit log holds, told apart by ``kind``."""


def audited_subjects(
    application: Application, pseudonymiser: Pseudonymiser
) -> tuple[AuditedSubject, ...]:
    return tuple(
        AuditedSubject(
            role=subject.role,
            pseudonym=pseudonymiser.pseudonym(subject.id),
            masked=mask_identifier(subject.id),
        )
        for subject in application.subjects
    )


def refusal_record_for(
    request_id: str,
    application: Application,
    item_version: str,
    caller: CallerIdentity,
    refusals: Sequence[Refusal],
    pseudonymiser: Pseudonymiser,
    time: datetime,
    trace_id: str | None = None,
) -> RefusalRecord:
    return RefusalRecord(
        request_id=request_id,
        trace_id=trace_id,
        time=time,
        service_item=application.service_item,
        item_version=item_version,
        **_request_fields(application, caller, pseudonymiser),
        refusals=tuple(
            AuditedRefusal(
                rule=refusal.rule,
                fact=refusal.fact,
                catalogue_fact=refusal.catalogue_fact,
                department=refusal.department,
                sharing=SharingClass(refusal.sharing) if refusal.sharing else None,
            )
            for refusal in refusals
        ),
    )


def audit_record_for(
    result: VerificationResult | PlainResult,
    application: Application,
    caller: CallerIdentity,
    catalogue: Catalogue,
    pseudonymiser: Pseudonymiser,
    time: datetime,
    trace_id: str | None = None,
    thresholds: Mapping[str, ThresholdValue] | None = None,
) -> AuditRecord:
    """The record of an answered verification; ``thresholds``: the dated parameters in force
    (``DatedRule.thresholds``), kept in its trace."""
    calls_by_department = {call.department: call for call in result.department_calls}
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
            attempts=calls_by_department[fact.provenance.department].attempts,
            latency_ms=calls_by_department[fact.provenance.department].duration_ms,
            roles=tuple(dict.fromkeys(fact.subjects.values())),
            replaces_document=catalogue.facts[fact.fact].replaces_document,
        )
        for fact in result.facts
    )
    return AuditRecord(
        request_id=result.request_id,
        trace_id=trace_id,
        time=time,
        service_item=result.service_item,
        item_version=result.item_version,
        **_request_fields(application, caller, pseudonymiser),
        reference_date=result.reference_date,
        facts=facts,
        decision=result.decision.outcome,
        score=result.decision.score,
        department_calls=_audited_calls(result.department_calls),
        duration_ms=result.duration_ms,
        trace=decision_trace(result, application, thresholds or {}),
    )


def decision_trace(
    result: VerificationResult | PlainResult,
    application: Application,
    thresholds: Mapping[str, ThresholdValue],
) -> DecisionTrace:
    decision = result.decision
    return DecisionTrace(
        rule_version=f"{result.service_item}@{result.item_version}",
        parameters=dict(application.parameters),
        thresholds=dict(thresholds),
        clauses=tuple(_clause(line) for line in decision.explanation),
        score_components=tuple(_component(c) for c in decision.score_components),
    )


def _clause(line: ClauseExplanation | PlainClause) -> ClauseExplanation:
    return ClauseExplanation(
        clause=line.clause,
        label=line.label,
        outcome=line.outcome,
        facts=tuple(line.facts),
        threshold=line.threshold,
        depth=line.depth,
    )


def _component(component: ScoreComponent | PlainComponent) -> ScoreComponent:
    return ScoreComponent(
        component=component.component,
        label=component.label,
        points=component.points,
        facts=tuple(component.facts),
        basis=component.basis,
    )


def cancelled_record_for(
    request_id: str,
    application: Application,
    item_version: str,
    reference_date: date,
    caller: CallerIdentity,
    calls: Sequence[DepartmentCall | PlainCall],
    pseudonymiser: Pseudonymiser,
    time: datetime,
    duration_ms: float,
    trace_id: str | None = None,
) -> AuditRecord:
    """The record of a verification cancelled after departments were asked: every read it
    caused shows in ``calls``, though no answer (no fact, no decision) was given."""
    return AuditRecord(
        request_id=request_id,
        trace_id=trace_id,
        time=time,
        service_item=application.service_item,
        item_version=item_version,
        **_request_fields(application, caller, pseudonymiser),
        reference_date=reference_date,
        facts=(),
        decision=None,
        score=None,
        department_calls=_audited_calls(calls),
        duration_ms=duration_ms,
    )


def _request_fields(
    application: Application, caller: CallerIdentity, pseudonymiser: Pseudonymiser
) -> dict[str, Any]:
    """Who asked about whom, and why: the same in every kind of record."""
    return {
        "caller_system": caller.system,
        "caller_department": caller.department,
        "operator": application.operator,
        "purpose": application.purpose,
        "legal_basis": application.legal_basis,
        "consent_reference": application.consent_reference,
        "case_number": application.case_number,
        "subjects": audited_subjects(application, pseudonymiser),
        "pseudonym_key_fingerprint": pseudonymiser.fingerprint,
    }


def _audited_calls(calls: Sequence[DepartmentCall | PlainCall]) -> tuple[AuditedCall, ...]:
    return tuple(
        AuditedCall(
            department=c.department,
            outcome=c.outcome,
            duration_ms=c.duration_ms,
            attempts=c.attempts,
        )
        for c in calls
    )
