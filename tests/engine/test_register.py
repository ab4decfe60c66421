"""Evidence for a "no": a "nothing held" answer counts only about a subject the population
register holds (verifier/engine/_register.py), over mock departments."""

from __future__ import annotations

from datetime import timedelta

from support import ELIGIBLE_FACTS, FIRST_HOME_ACCESS, MakeVerifier, mock_departments, resident_id

from verifier import (
    DecisionOutcome,
    DepartmentUnavailable,
    FactStatus,
    MockAdapter,
    UnknownReason,
    parse_application,
)
from verifier.adapter import FactRequest
from verifier.engine import CachePolicy
from verifier.model import FactValue

BUYER = resident_id("43010219900101303")
SPOUSE = resident_id("44030619920202404")
REGISTER = "registered_in_population_register"


def first_home() -> dict[str, object]:
    return {
        "service_item": "first_home_purchase",
        "subjects": [{"role": "buyer", "id": BUYER}, {"role": "spouse", "id": SPOUSE}],
        "reference_date": "2026-08-31",
        **FIRST_HOME_ACCESS,
    }


def household(*, holds: set[str]) -> MockAdapter:
    """The household department; its population register holds only ``holds``."""

    def answer(request: FactRequest) -> FactValue:
        if request.fact == REGISTER:
            return request.subjects["subject"] in holds
        return ELIGIBLE_FACTS["household"][request.fact]

    return MockAdapter("household", responder=answer)


def housing(**by_subject: FactValue) -> MockAdapter:
    """``owns_no_home_in_city`` per subject ID (default: true, "nothing held")."""
    return MockAdapter(
        "housing", responder=lambda request: by_subject.get(request.subjects["subject"], True)
    )


async def test_a_no_about_someone_no_register_holds_is_unknown_subject_not_found(
    make_test_verifier: MakeVerifier,
) -> None:
    register = household(holds={BUYER})
    async with make_test_verifier(mock_departments(household=register)) as verifier:
        result = await verifier.verify(parse_application(first_home()))
    spouse = result.fact("spouse_owns_no_home")
    assert spouse.status is FactStatus.UNKNOWN
    assert spouse.reason is UnknownReason.SUBJECT_NOT_FOUND
    assert spouse.provenance.department == "housing"
    # The buyer, whom the register holds, keeps the same answer as a fact.
    assert result.fact("buyer_owns_no_home").value is True
    assert result.decision.outcome is DecisionOutcome.NEEDS_REVIEW
    assert result.fact("buyer_local_household").value is True
    # The register's questions ride in the household call: one call, both subjects.
    assert register.calls == 1
    [query] = register.queries
    asked = {r.subjects["subject"] for r in query.requests if r.fact == REGISTER}
    assert asked == {BUYER, SPOUSE}
    assert result.fact(f"spouse.{REGISTER}").value is False
    [call] = [c for c in result.department_calls if c.department == "household"]
    assert f"spouse.{REGISTER}" in call.facts


async def test_a_positive_fact_stands_whatever_the_register_says(
    make_test_verifier: MakeVerifier,
) -> None:
    adapters = mock_departments(
        household=household(holds=set()), housing=housing(**{SPOUSE: False})
    )
    async with make_test_verifier(adapters) as verifier:
        result = await verifier.verify(parse_application(first_home()))
    # A home owned is evidence of the spouse whoever holds them; so are 30 months paid.
    assert result.fact("spouse_owns_no_home").value is False
    assert result.fact("buyer_social_insurance_months").value == 30
    assert result.fact("buyer_income_tax_months").value == 30
    assert result.fact("buyer_local_household").value is True
    # Only the "nothing held" about the unregistered buyer is questioned.
    assert result.fact("buyer_owns_no_home").reason is UnknownReason.SUBJECT_NOT_FOUND
    assert result.decision.outcome is DecisionOutcome.NOT_ELIGIBLE


async def test_a_zero_count_about_an_unregistered_subject_is_questioned_too(
    make_test_verifier: MakeVerifier,
) -> None:
    quiet = MockAdapter("tax", values={**ELIGIBLE_FACTS["tax"], "income_tax_months_in_window": 0})
    adapters = mock_departments(household=household(holds={SPOUSE}), tax=quiet)
    async with make_test_verifier(adapters) as verifier:
        result = await verifier.verify(parse_application(first_home()))
    months = result.fact("buyer_income_tax_months")
    assert (months.status, months.reason) == (
        FactStatus.UNKNOWN,
        UnknownReason.SUBJECT_NOT_FOUND,
    )
    assert result.fact("spouse_owns_no_home").value is True


async def test_a_register_that_cannot_answer_leaves_negatives_unconfirmed(
    make_test_verifier: MakeVerifier,
) -> None:
    down = MockAdapter("household", error=DepartmentUnavailable("down"))
    async with make_test_verifier(mock_departments(household=down)) as verifier:
        result = await verifier.verify(parse_application(first_home()))
    for name in ("buyer_owns_no_home", "spouse_owns_no_home"):
        fact = result.fact(name)
        assert (fact.status, fact.reason) == (
            FactStatus.UNKNOWN,
            UnknownReason.SUBJECT_UNCONFIRMED,
        ), name
    assert result.fact("buyer_social_insurance_months").value == 30
    assert result.decision.outcome is DecisionOutcome.NEEDS_REVIEW


async def test_a_cached_no_is_questioned_as_a_fetched_one(
    make_test_verifier: MakeVerifier,
) -> None:
    register = household(holds={BUYER})
    adapters = mock_departments(household=register)
    cache = CachePolicy(ttl=timedelta(minutes=5))
    async with make_test_verifier(adapters, cache=cache) as verifier:
        first = await verifier.verify(parse_application(first_home()))
        second = await verifier.verify(parse_application(first_home()))
    assert register.calls == 1  # the register's answer was cached with the rest
    for result in (first, second):
        assert result.fact("spouse_owns_no_home").reason is UnknownReason.SUBJECT_NOT_FOUND
        assert result.decision.outcome is DecisionOutcome.NEEDS_REVIEW
    assert second.fact("spouse_owns_no_home").provenance.cached
