"""Verification results to and from VerifyResponse."""

from __future__ import annotations

from verifier.model import (
    ClauseExplanation,
    Decision,
    DepartmentCall,
    FactResult,
    Provenance,
    ScoreComponent,
    VerificationResult,
)
from verifier.model._plain import PlainDecision, PlainFact, PlainResult
from verifier.service._convert._wire import (
    CALL_OUTCOMES,
    FACT_STATUSES,
    OUTCOMES,
    TRUTHS,
    UNKNOWN_REASONS,
    date_from_proto,
    date_to_proto,
    datetime_from_proto,
    duration_to_proto,
    from_wire,
    milliseconds_from_proto,
    timestamp_to_proto,
)
from verifier.service._generated.v1 import verification_pb2 as pb


def result_to_proto(result: VerificationResult | PlainResult) -> pb.VerifyResponse:
    """The response for a result, public or as the engine made it (the service's case)."""
    return pb.VerifyResponse(
        request_id=result.request_id,
        service_item=result.service_item,
        item_version=result.item_version,
        reference_date=date_to_proto(result.reference_date),
        facts=[_fact_to_proto(fact) for fact in result.facts],
        decision=_decision_to_proto(result.decision),
        documents_not_required=result.documents_not_required,
        department_calls=[
            pb.DepartmentCall(
                department=call.department,
                outcome=CALL_OUTCOMES[call.outcome],
                duration=duration_to_proto(call.duration_ms),
                facts=call.facts,
                attempts=call.attempts,
            )
            for call in result.department_calls
        ],
        duration=duration_to_proto(result.duration_ms),
    )


def _fact_to_proto(fact: FactResult | PlainFact) -> pb.Fact:
    message = pb.Fact(
        name=fact.name,
        fact=fact.fact,
        subjects=fact.subjects,
        status=FACT_STATUSES[fact.status],
        provenance=pb.Provenance(
            department=fact.provenance.department,
            retrieved_at=timestamp_to_proto(fact.provenance.retrieved_at),
            cached=fact.provenance.cached,
            stale=fact.provenance.stale,
            rule_version=fact.provenance.rule_version,
        ),
    )
    if fact.provenance.source_as_of is not None:
        message.provenance.source_as_of.CopyFrom(timestamp_to_proto(fact.provenance.source_as_of))
    if isinstance(fact.value, bool):  # before int: a bool is an int in Python
        message.bool_value = fact.value
    elif isinstance(fact.value, int):
        message.int_value = fact.value
    if fact.reason is not None:
        message.reason = UNKNOWN_REASONS[fact.reason]
    return message


def _decision_to_proto(decision: Decision | PlainDecision) -> pb.Decision:
    message = pb.Decision(
        outcome=OUTCOMES[decision.outcome],
        explanation=[
            pb.ClauseExplanation(
                clause=clause.clause,
                label=clause.label,
                outcome=TRUTHS[clause.outcome],
                facts=clause.facts,
                threshold=clause.threshold,
                depth=clause.depth,
            )
            for clause in decision.explanation
        ],
        score_components=[
            pb.ScoreComponent(
                component=component.component,
                label=component.label,
                points=component.points,
                facts=component.facts,
                basis=component.basis,
            )
            for component in decision.score_components
        ],
    )
    if decision.score is not None:
        message.score = decision.score
    return message


def result_from_proto(message: pb.VerifyResponse) -> VerificationResult:
    """The inverse of ``result_to_proto`` (ValueError for an enum this client does not know)."""
    return VerificationResult(
        request_id=message.request_id,
        service_item=message.service_item,
        item_version=message.item_version,
        reference_date=date_from_proto(message.reference_date),
        facts=tuple(_fact_from_proto(fact) for fact in message.facts),
        decision=_decision_from_proto(message.decision),
        documents_not_required=tuple(message.documents_not_required),
        department_calls=tuple(
            DepartmentCall(
                department=call.department,
                outcome=from_wire(CALL_OUTCOMES, call.outcome, "call outcome"),
                duration_ms=milliseconds_from_proto(call.duration),
                facts=tuple(call.facts),
                attempts=call.attempts,
            )
            for call in message.department_calls
        ),
        duration_ms=milliseconds_from_proto(message.duration),
    )


def _fact_from_proto(message: pb.Fact) -> FactResult:
    which = message.WhichOneof("value")
    provenance = message.provenance
    return FactResult(
        name=message.name,
        fact=message.fact,
        subjects=dict(message.subjects),
        status=from_wire(FACT_STATUSES, message.status, "fact status"),
        value=None if which is None else getattr(message, which),
        reason=(
            None
            if message.reason == pb.UNKNOWN_REASON_UNSPECIFIED
            else from_wire(UNKNOWN_REASONS, message.reason, "unknown reason")
        ),
        provenance=Provenance(
            department=provenance.department,
            source_as_of=(
                datetime_from_proto(provenance.source_as_of)
                if provenance.HasField("source_as_of")
                else None
            ),
            retrieved_at=datetime_from_proto(provenance.retrieved_at),
            cached=provenance.cached,
            stale=provenance.stale,
            rule_version=provenance.rule_version,
        ),
    )


def _decision_from_proto(message: pb.Decision) -> Decision:
    return Decision(
        outcome=from_wire(OUTCOMES, message.outcome, "decision outcome"),
        explanation=tuple(
            ClauseExplanation(
                clause=clause.clause,
                label=clause.label,
                outcome=from_wire(TRUTHS, clause.outcome, "clause outcome"),
                facts=tuple(clause.facts),
                threshold=clause.threshold if clause.HasField("threshold") else None,
                depth=clause.depth,
            )
            for clause in message.explanation
        ),
        score=message.score if message.HasField("score") else None,
        score_components=tuple(
            ScoreComponent(
                component=component.component,
                label=component.label,
                points=component.points if component.HasField("points") else None,
                facts=tuple(component.facts),
                basis=component.basis if component.HasField("basis") else None,
            )
            for component in message.score_components
        ),
    )


# ---- service items ----------------------------------------------------------------------
