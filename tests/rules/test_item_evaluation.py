"""Evaluating items: Kleene logic over the tree, thresholds by date, explanations without values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from verifier._errors import CatalogueError, InvalidApplication
from verifier.model import DecisionOutcome, FactValue, Truth
from verifier.rules import ItemRegistry, ServiceItem

Loader = Callable[[dict[str, Any]], ServiceItem]
ON = date(2026, 8, 31)
BOTH = frozenset({"guardian", "child"})


@pytest.fixture
def item(load_item: Loader, item_data: dict[str, Any]) -> ServiceItem:
    return load_item(item_data)


def clauses(decision: Any) -> dict[str, Truth]:
    return {line.clause: line.outcome for line in decision.explanation}


def test_explanation_is_in_pre_order_with_depths(item: ServiceItem) -> None:
    decision = item.evaluate(
        {"is_parent": True, "child_in_district": False, "insured_months": 18},
        roles_present=BOTH,
        reference_date=ON,
    )
    assert decision.outcome is DecisionOutcome.ELIGIBLE
    lines = [(line.clause, line.depth, line.outcome) for line in decision.explanation]
    assert lines == [
        ("eligible", 0, Truth.TRUE),
        ("parent", 1, Truth.TRUE),
        ("residence", 1, Truth.TRUE),
        ("insured", 2, Truth.TRUE),
    ]
    parent, insured = decision.explanation[1], decision.explanation[3]
    assert parent.facts == ("is_parent",)
    assert parent.threshold is None
    assert insured.facts == ("insured_months",)
    assert insured.threshold == ">= 18 (test.min_months)"
    assert decision.explanation[0].facts == ("is_parent", "child_in_district", "insured_months")
    assert decision.score is None
    assert decision.score_components == ()


def test_threshold_follows_the_reference_date(item: ServiceItem) -> None:
    values = {"is_parent": True, "child_in_district": False, "insured_months": 15}
    before = item.evaluate(values, roles_present=BOTH, reference_date=date(2020, 6, 30))
    after = item.evaluate(values, roles_present=BOTH, reference_date=date(2020, 7, 1))
    assert before.outcome is DecisionOutcome.ELIGIBLE
    assert clauses(before)["insured"] is Truth.TRUE
    assert before.explanation[-1].threshold == ">= 12 (test.min_months)"
    assert after.outcome is DecisionOutcome.NOT_ELIGIBLE
    assert after.explanation[-1].threshold == ">= 18 (test.min_months)"


def test_evaluating_before_the_first_threshold_is_an_input_error(item: ServiceItem) -> None:
    with pytest.raises(InvalidApplication) as caught:
        item.evaluate({}, roles_present=BOTH, reference_date=date(2010, 1, 1))
    assert caught.value.violations[0].field == "reference_date"


def test_generated_clause_ids_are_paths(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["rule"]["all"][1]["any"][0]["label"] = "child registered"
    item_data["rule"]["all"][2]["label"] = "spouse, if any, has no home"
    item = load_item(item_data)
    decision = item.evaluate({}, roles_present=BOTH, reference_date=ON)
    assert "residence.0" in clauses(decision)
    assert clauses(decision)["eligible.2"] is Truth.TRUE  # the spouse is absent


@pytest.mark.parametrize(
    ("values", "outcome"),
    [
        ({"is_parent": False, "child_in_district": None, "insured_months": None}, "NOT_ELIGIBLE"),
        ({"is_parent": None, "child_in_district": True, "insured_months": None}, "NEEDS_REVIEW"),
        ({"is_parent": True, "child_in_district": True, "insured_months": None}, "ELIGIBLE"),
        ({"is_parent": True, "child_in_district": None, "insured_months": 3}, "NEEDS_REVIEW"),
        ({"is_parent": True, "child_in_district": False, "insured_months": 3}, "NOT_ELIGIBLE"),
        ({"is_parent": True}, "NEEDS_REVIEW"),  # facts absent from values are UNKNOWN
    ],
)
def test_three_valued_outcomes(
    item: ServiceItem, values: dict[str, FactValue | None], outcome: str
) -> None:
    decision = item.evaluate(values, roles_present=BOTH, reference_date=ON)
    assert decision.outcome is DecisionOutcome(outcome)


def test_if_present_reads_the_optional_role_only_when_present(item: ServiceItem) -> None:
    values: dict[str, FactValue | None] = {
        "is_parent": True,
        "child_in_district": True,
        "insured_months": 0,
    }
    absent = item.evaluate(values, roles_present=BOTH, reference_date=ON)
    assert absent.outcome is DecisionOutcome.ELIGIBLE
    with_spouse = BOTH | {"spouse"}
    for spouse_value, outcome in [
        (True, "ELIGIBLE"),
        (False, "NOT_ELIGIBLE"),
        (None, "NEEDS_REVIEW"),
    ]:
        decision = item.evaluate(
            {**values, "spouse_no_home": spouse_value}, roles_present=with_spouse, reference_date=ON
        )
        assert decision.outcome is DecisionOutcome(outcome)


@pytest.mark.parametrize(
    ("op", "held_at"),
    [
        (">=", {11: False, 12: True, 13: True}),
        (">", {11: False, 12: False, 13: True}),
        ("<=", {11: True, 12: True, 13: False}),
        ("<", {11: True, 12: False, 13: False}),
        ("==", {11: False, 12: True, 13: False}),
        ("!=", {11: True, 12: False, 13: True}),
    ],
)
def test_compare_operators_against_a_literal(
    load_item: Loader, item_data: dict[str, Any], op: str, held_at: dict[int, bool]
) -> None:
    item_data["rule"] = {
        "id": "months",
        "label": "months",
        "compare": {"fact": "insured_months", "op": op, "value": 12},
    }
    item_data["facts"] = {"insured_months": item_data["facts"]["insured_months"]}
    item = load_item(item_data)
    for months, held in held_at.items():
        decision = item.evaluate({"insured_months": months}, roles_present=BOTH, reference_date=ON)
        assert decision.explanation[0].outcome is (Truth.TRUE if held else Truth.FALSE)
        assert decision.explanation[0].threshold == f"{op} 12"


def test_not_node(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["rule"] = {"id": "not_parent", "label": "not a parent", "not": {"fact": "is_parent"}}
    item_data["facts"] = {"is_parent": item_data["facts"]["is_parent"]}
    item = load_item(item_data)
    for value, outcome in [(True, "NOT_ELIGIBLE"), (False, "ELIGIBLE"), (None, "NEEDS_REVIEW")]:
        decision = item.evaluate({"is_parent": value}, roles_present=BOTH, reference_date=ON)
        assert decision.outcome is DecisionOutcome(outcome)
        assert decision.explanation[0].facts == ("is_parent",)


def test_wrongly_typed_values_are_a_programming_error(item: ServiceItem) -> None:
    with pytest.raises(TypeError, match="integer"):
        item.evaluate({"insured_months": True}, roles_present=BOTH, reference_date=ON)
    with pytest.raises(TypeError, match="boolean"):
        item.evaluate({"is_parent": 1}, roles_present=BOTH, reference_date=ON)


def test_an_item_built_without_the_loader_cannot_resolve_thresholds(
    item_data: dict[str, Any],
) -> None:
    item = ServiceItem.model_validate(item_data)
    with pytest.raises(CatalogueError, match="not attached"):
        item.evaluate({"insured_months": 20}, roles_present=BOTH, reference_date=ON)


def test_explanations_carry_no_fact_values(registry: ItemRegistry) -> None:
    item = registry.get("school_place")
    # Distinctive values that no threshold or label contains.
    values = {
        "guardian_is_parent": True,
        "child_registered_in_district": False,
        "guardian_rental_months": 97,
        "guardian_social_insurance_months": 113,
    }
    decision = item.evaluate(values, roles_present=BOTH, reference_date=ON)
    assert decision.outcome is DecisionOutcome.ELIGIBLE
    text = decision.model_dump_json()
    assert "97" not in text
    assert "113" not in text
    for line in decision.explanation:
        assert set(line.facts) <= set(item.facts)
        assert line.label  # every line says what it means
