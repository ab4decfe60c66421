"""Kleene's three-valued logic, the algebra every rule tree is evaluated in.

A department that failed leaves its facts UNKNOWN. Kleene's connectives let a decision that
no longer depends on those facts still resolve: ``FALSE and UNKNOWN`` is FALSE, ``TRUE or
UNKNOWN`` is TRUE. Over the order FALSE < UNKNOWN < TRUE, ``all`` is the minimum and ``any``
the maximum, and both are monotone: replacing an UNKNOWN by either value never flips a
TRUE or FALSE result. That is what lets the engine stop asking departments once the answer
is settled.
"""

from __future__ import annotations

from collections.abc import Iterable

from verifier.model import DecisionOutcome, FactValue, Truth

_OUTCOMES = {
    Truth.TRUE: DecisionOutcome.ELIGIBLE,
    Truth.FALSE: DecisionOutcome.NOT_ELIGIBLE,
    Truth.UNKNOWN: DecisionOutcome.NEEDS_REVIEW,
}


def kleene_all(truths: Iterable[Truth]) -> Truth:
    """FALSE if any is FALSE, else UNKNOWN if any is UNKNOWN, else TRUE (TRUE when empty)."""
    result = Truth.TRUE
    for truth in truths:
        if truth is Truth.FALSE:
            return Truth.FALSE
        if truth is Truth.UNKNOWN:
            result = Truth.UNKNOWN
    return result


def kleene_any(truths: Iterable[Truth]) -> Truth:
    """TRUE if any is TRUE, else UNKNOWN if any is UNKNOWN, else FALSE (FALSE when empty)."""
    result = Truth.FALSE
    for truth in truths:
        if truth is Truth.TRUE:
            return Truth.TRUE
        if truth is Truth.UNKNOWN:
            result = Truth.UNKNOWN
    return result


def kleene_not(truth: Truth) -> Truth:
    if truth is Truth.TRUE:
        return Truth.FALSE
    if truth is Truth.FALSE:
        return Truth.TRUE
    return Truth.UNKNOWN


def truth_of(value: FactValue | None) -> Truth:
    """A boolean fact as a truth value; None (the fact is UNKNOWN) is UNKNOWN."""
    if value is None:
        return Truth.UNKNOWN
    if not isinstance(value, bool):
        raise TypeError("a boolean fact must be True, False or None")
    return Truth.TRUE if value else Truth.FALSE


def outcome_of(truth: Truth) -> DecisionOutcome:
    """TRUE → ELIGIBLE, FALSE → NOT_ELIGIBLE, UNKNOWN → NEEDS_REVIEW (a clerk must look)."""
    return _OUTCOMES[truth]
