"""Turn department answers into fact results, trusting nothing a department says.

A department that lies — a value of the wrong type, a negative count, a missing answer —
yields UNKNOWN(INVALID_ANSWER), never a fact. Integer facts are capped at the catalogue's
maximum: the caller learns "at least N", which is all a rule needs (data minimisation).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from verifier.adapter import Unknown
from verifier.catalogue import FactDefinition
from verifier.engine._fanout import DepartmentOutcome
from verifier.model import CallOutcome, FactStatus, FactValue, UnknownReason, ValueType
from verifier.model._plain import PlainFact, PlainProvenance
from verifier.rules import BoundFact

_REASON_FOR_CALL = {
    CallOutcome.ERROR: UnknownReason.DEPARTMENT_ERROR,
    CallOutcome.TIMEOUT: UnknownReason.DEADLINE_EXCEEDED,
    CallOutcome.NO_ADAPTER: UnknownReason.NO_ADAPTER,
    CallOutcome.INVALID_ANSWER: UnknownReason.INVALID_ANSWER,
}


def judged(
    outcome: DepartmentOutcome, retrieved_at: datetime, rule_version: str
) -> DepartmentOutcome:
    """``outcome`` with its facts and its call outcome as judged (unchanged if already)."""
    if outcome.facts is not None:
        return outcome
    facts, call_outcome = fact_results(outcome, retrieved_at, rule_version)
    return replace(outcome, outcome=call_outcome, facts=tuple(facts))


def fact_results(
    outcome: DepartmentOutcome, retrieved_at: datetime, rule_version: str
) -> tuple[list[PlainFact], CallOutcome]:
    """The facts of one department call, and the call outcome as finally judged."""
    answer = outcome.answer
    source_as_of = answer.source_as_of if answer is not None else None
    provenance = PlainProvenance(outcome.plan.department, source_as_of, retrieved_at, rule_version)
    results = []
    call_outcome = outcome.outcome
    for bound in outcome.plan.facts:
        if answer is None:
            value: FactValue | UnknownReason = (
                outcome.unknown_reason or _REASON_FOR_CALL[outcome.outcome]
            )
        else:
            value = checked_value(bound.definition, answer.facts.get(bound.name))
            if value is UnknownReason.INVALID_ANSWER:
                call_outcome = CallOutcome.INVALID_ANSWER
        results.append(_result(bound, value, provenance))
    return results, call_outcome


def checked_value(definition: FactDefinition, raw: object) -> FactValue | UnknownReason:
    """The value if it has the catalogue's type, else the reason it cannot be used."""
    if isinstance(raw, Unknown) and isinstance(raw.reason, UnknownReason):
        return raw.reason
    # ``type(...) is`` on purpose: bool is a subclass of int, and a department answering
    # True for a month count (or 1 for a yes/no) is giving a malformed answer.
    if definition.value_type is ValueType.BOOLEAN and type(raw) is bool:
        return raw
    if definition.value_type is ValueType.INTEGER and type(raw) is int and raw >= 0:
        return raw if definition.maximum is None else min(raw, definition.maximum)
    return UnknownReason.INVALID_ANSWER


def _result(
    bound: BoundFact, value: FactValue | UnknownReason, provenance: PlainProvenance
) -> PlainFact:
    # One provenance for all the facts of a call: nothing changes a plain result once made.
    if isinstance(value, UnknownReason):
        return PlainFact(
            bound.name,
            bound.definition.id,
            bound.roles,
            FactStatus.UNKNOWN,
            None,
            value,
            provenance,
        )
    return PlainFact(
        bound.name, bound.definition.id, bound.roles, FactStatus.KNOWN, value, None, provenance
    )
