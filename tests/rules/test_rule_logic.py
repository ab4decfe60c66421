"""Kleene three-valued logic: exhaustive truth tables, lattice laws, and monotonicity."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.model import DecisionOutcome, Truth
from verifier.rules import (
    ItemRegistry,
    kleene_all,
    kleene_any,
    kleene_not,
    outcome_of,
    truth_of,
)

T, F, U = Truth.TRUE, Truth.FALSE, Truth.UNKNOWN
ORDER = {F: 0, U: 1, T: 2}
truths = st.sampled_from([T, F, U])

AND_TABLE = {
    (T, T): T, (T, F): F, (T, U): U,
    (F, T): F, (F, F): F, (F, U): F,
    (U, T): U, (U, F): F, (U, U): U,
}  # fmt: skip
OR_TABLE = {
    (T, T): T, (T, F): T, (T, U): T,
    (F, T): T, (F, F): F, (F, U): U,
    (U, T): T, (U, F): U, (U, U): U,
}  # fmt: skip


@pytest.mark.parametrize(("pair", "expected"), AND_TABLE.items())
def test_all_truth_table(pair: tuple[Truth, Truth], expected: Truth) -> None:
    assert kleene_all(pair) is expected


@pytest.mark.parametrize(("pair", "expected"), OR_TABLE.items())
def test_any_truth_table(pair: tuple[Truth, Truth], expected: Truth) -> None:
    assert kleene_any(pair) is expected


@pytest.mark.parametrize(("truth", "expected"), [(T, F), (F, T), (U, U)])
def test_not_truth_table(truth: Truth, expected: Truth) -> None:
    assert kleene_not(truth) is expected


@pytest.mark.parametrize("triple", list(itertools.product([T, F, U], repeat=3)))
def test_three_operands_exhaustive(triple: tuple[Truth, Truth, Truth]) -> None:
    assert kleene_all(triple) is kleene_all([kleene_all(triple[:2]), triple[2]])
    assert kleene_any(triple) is kleene_any([kleene_any(triple[:2]), triple[2]])


def test_empty_all_is_true_and_empty_any_is_false() -> None:
    assert kleene_all([]) is T
    assert kleene_any([]) is F


def test_false_and_unknown_is_false_and_true_or_unknown_is_true() -> None:
    assert kleene_all([F, U]) is F
    assert kleene_any([T, U]) is T


@given(st.lists(truths, min_size=1, max_size=8))
def test_all_is_minimum_and_any_is_maximum(values: list[Truth]) -> None:
    assert kleene_all(values) is min(values, key=ORDER.__getitem__)
    assert kleene_any(values) is max(values, key=ORDER.__getitem__)


@given(st.lists(truths, max_size=8))
def test_de_morgan(values: list[Truth]) -> None:
    assert kleene_not(kleene_all(values)) is kleene_any(kleene_not(v) for v in values)
    assert kleene_not(kleene_any(values)) is kleene_all(kleene_not(v) for v in values)


@given(truths)
def test_double_negation(value: Truth) -> None:
    assert kleene_not(kleene_not(value)) is value


def test_truth_of_boolean_facts() -> None:
    assert truth_of(True) is T
    assert truth_of(False) is F
    assert truth_of(None) is U


def test_truth_of_rejects_an_integer() -> None:
    with pytest.raises(TypeError, match="boolean"):
        truth_of(1)


@pytest.mark.parametrize(
    ("truth", "outcome"),
    [
        (T, DecisionOutcome.ELIGIBLE),
        (F, DecisionOutcome.NOT_ELIGIBLE),
        (U, DecisionOutcome.NEEDS_REVIEW),
    ],
)
def test_outcome_of(truth: Truth, outcome: DecisionOutcome) -> None:
    assert outcome_of(truth) is outcome


FIRST_HOME = {
    "buyer_owns_no_home": st.booleans(),
    "spouse_owns_no_home": st.booleans(),
    "buyer_local_household": st.booleans(),
    "buyer_social_insurance_months": st.integers(0, 40),
    "buyer_income_tax_months": st.integers(0, 40),
}


@given(
    values=st.fixed_dictionaries(FIRST_HOME),
    hidden=st.sets(st.sampled_from(sorted(FIRST_HOME))),
    spouse=st.booleans(),
)
def test_a_settled_decision_never_depends_on_unknown_facts(
    registry: ItemRegistry, values: dict[str, bool | int], hidden: set[str], spouse: bool
) -> None:
    """Monotonicity: if the decision is settled with some facts UNKNOWN, the real values
    of those facts cannot change it — so the engine may stop asking their departments."""
    item = registry.get("first_home_purchase")
    roles = {"buyer", "spouse"} if spouse else {"buyer"}
    partial = {name: (None if name in hidden else value) for name, value in values.items()}
    on = date(2026, 6, 1)
    settled = item.evaluate(partial, roles_present=roles, reference_date=on).outcome
    complete = item.evaluate(values, roles_present=roles, reference_date=on).outcome
    assert complete is not DecisionOutcome.NEEDS_REVIEW
    if settled is not DecisionOutcome.NEEDS_REVIEW:
        assert settled is complete
