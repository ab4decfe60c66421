"""A re-check about a person no register holds is never a "still qualifies": every
department's "nothing held" (no death, no car, no business, no contribution…) about them is
UNKNOWN with reason SUBJECT_NOT_FOUND, and the decision goes to a caseworker."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from support import resident_id

from adapters.demo_city import DemoCityManifest
from verifier.adapter import DepartmentAdapter
from verifier.engine import Verifier
from verifier.model import DecisionOutcome, FactStatus, UnknownReason, parse_application

NOBODY = resident_id("11010119900101950")  # valid, but no one in the city has it


def replaced(application: dict[str, Any], role: str) -> dict[str, Any]:
    changed = copy.deepcopy(application)
    for subject in changed["subjects"]:
        if subject["role"] == role:
            subject["id"] = NOBODY
    return changed


@pytest.mark.parametrize(
    ("sample", "role"),
    [
        ("unemployment_still_qualifies", "recipient"),
        ("social_assistance_still_qualifies", "member_1"),
        ("social_assistance_still_qualifies", "applicant"),
    ],
)
async def test_a_person_no_register_holds_makes_the_recheck_need_review(
    sample: str,
    role: str,
    city: DemoCityManifest,
    city_adapters: dict[str, DepartmentAdapter],
    make_test_verifier: Callable[..., Verifier],
) -> None:
    application = city.sample(sample).application
    async with make_test_verifier(city_adapters) as verifier:
        planted = await verifier.verify(parse_application(application))
        unknown = await verifier.verify(parse_application(replaced(application, role)))
    assert planted.decision.outcome is DecisionOutcome.ELIGIBLE
    assert unknown.decision.outcome is DecisionOutcome.NEEDS_REVIEW
    about_role = [
        fact
        for fact in unknown.facts
        if role in fact.subjects.values() and not fact.name.endswith("_population_register")
    ]
    assert about_role
    for fact in about_role:
        assert fact.status is FactStatus.UNKNOWN, fact.name
        assert fact.reason is UnknownReason.SUBJECT_NOT_FOUND, fact.name
    # The others the register holds keep what their departments said.
    others = [f for f in unknown.facts if role not in f.subjects.values()]
    assert all(fact.known for fact in others)
