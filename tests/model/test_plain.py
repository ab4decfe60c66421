"""The engine's plain results turn into exactly the public models validation would build.

``trusted`` builds a pydantic model without validating it; these tests pin that what it
builds is indistinguishable from the validated model (equal, same dump, same fields set,
still frozen), so a pydantic release that changes its internals fails here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from verifier.model import (
    CallOutcome,
    DecisionOutcome,
    FactStatus,
    Truth,
    UnknownReason,
    VerificationResult,
)
from verifier.model._plain import (
    PlainCall,
    PlainClause,
    PlainComponent,
    PlainDecision,
    PlainFact,
    PlainProvenance,
    PlainResult,
)

RETRIEVED = datetime(2026, 12, 7, 8, 30, 1, 123456, tzinfo=UTC)


def plain_result() -> PlainResult:
    fresh = PlainProvenance("household", RETRIEVED, RETRIEVED, "school_place@2026.1")
    cached = PlainProvenance(
        "housing", None, RETRIEVED, "school_place@2026.1", cached=True, stale=True
    )
    facts = (
        PlainFact(
            "child_registered",
            "household_registered_in_district",
            {"person": "child"},
            FactStatus.KNOWN,
            True,
            None,
            fresh,
        ),
        PlainFact(
            "rental_months",
            "continuous_rental_months",
            {"tenant": "guardian"},
            FactStatus.KNOWN,
            14,
            None,
            cached,
        ),
        PlainFact(
            "owns_home",
            "owns_home_in_city",
            {"owner": "guardian"},
            FactStatus.UNKNOWN,
            None,
            UnknownReason.SUBJECT_NOT_FOUND,
            fresh,
        ),
    )
    decision = PlainDecision(
        DecisionOutcome.NEEDS_REVIEW,
        (
            PlainClause("rule", "所有条件", Truth.UNKNOWN, ("child_registered",), None, 0),
            PlainClause("rule.1", "租赁", Truth.TRUE, ("rental_months",), ">= 12 (p)", 1),
        ),
        12.5,
        (PlainComponent("months", "Months", None, ("rental_months",), "0.5 per month"),),
    )
    calls = (
        PlainCall("household", CallOutcome.OK, 1.25, ("child_registered", "owns_home"), 2),
        PlainCall("housing", CallOutcome.OK, 0.0, ("rental_months",), 0),
    )
    return PlainResult(
        "r1",
        "school_place",
        "2026.1",
        date(2026, 9, 1),
        facts,
        decision,
        ("户口簿",),
        calls,
        3.5,
    )


def test_public_equals_the_validated_model() -> None:
    trusted = plain_result().public()
    validated = VerificationResult.model_validate(trusted.model_dump())
    assert trusted == validated
    assert trusted.model_dump_json() == validated.model_dump_json()
    assert trusted.model_dump(mode="json") == validated.model_dump(mode="json")
    assert trusted.model_fields_set == validated.model_fields_set
    assert trusted.facts[0].model_fields_set == validated.facts[0].model_fields_set
    assert trusted.fact("rental_months").provenance.cached is True


def test_public_models_stay_frozen() -> None:
    result = plain_result().public()
    with pytest.raises(ValidationError):
        result.request_id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        result.facts[0].provenance.department = "tax"  # type: ignore[misc]


def test_public_copies_what_a_caller_could_change() -> None:
    plain = plain_result()
    result = plain.public()
    result.facts[0].subjects["person"] = "someone else"
    assert plain.facts[0].subjects == {"person": "child"}
