"""A points-based admission item (积分入学): components, caps, unknowns, and the pass mark."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
import yaml

from verifier._errors import CatalogueError
from verifier.catalogue import Catalogue, catalogue_from_yaml
from verifier.model import DecisionOutcome, FactValue, Truth
from verifier.rules import PolicyParameters, ServiceItem, service_item_from_yaml

ON = date(2026, 6, 1)
ROLES = frozenset({"applicant"})

POINTS_CATALOGUE = """
version: "test"
departments:
  city: {name: City}
facts:
  residence_years:
    department: city
    description: Years of residence in the city, capped at 50.
    value_type: integer
    maximum: 50
    sharing: unconditional
    freshness: P1D
    legal_reference: 《办法》
  contribution_months:
    department: city
    description: Months of social insurance contribution.
    value_type: integer
    sharing: unconditional
    freshness: P1D
    legal_reference: 《办法》
  local_household:
    department: city
    description: Household registered in the city.
    value_type: boolean
    sharing: unconditional
    freshness: P1D
    legal_reference: 《办法》
  has_overdue_tax:
    department: city
    description: Tax overdue.
    value_type: boolean
    sharing: unconditional
    freshness: P1D
    legal_reference: 《办法》
"""

POINTS_ITEM: dict[str, Any] = {
    "id": "points_admission",
    "version": "2026.1",
    "title": "Points-based school admission",
    "title_zh": "积分入学",
    "description": "Points from residence, contributions and registration.",
    "policy_reference": "《××市积分入学办法》",
    "effective_from": date(2026, 1, 1),
    "roles": {"applicant": {}, "partner": {"required": False}},
    "facts": {
        "years": {"fact": "residence_years", "subjects": {"subject": "applicant"}},
        "months": {"fact": "contribution_months", "subjects": {"subject": "applicant"}},
        "local": {"fact": "local_household", "subjects": {"subject": "applicant"}},
        "overdue": {"fact": "has_overdue_tax", "subjects": {"subject": "applicant"}},
    },
    "score": {
        "components": [
            {
                "id": "residence",
                "label": "居住年限",
                "fact": "years",
                "per_unit": 3,
                "unit": "year",
                "maximum": 30,
            },
            {
                "id": "contribution",
                "label": "社保缴费月数",
                "fact": "months",
                "per_unit": 0.5,
                "unit": "month",
                "maximum": 30,
            },
            {
                "id": "registration",
                "label": "本市户籍",
                "when": {"id": "is_local", "label": "户籍在本市", "fact": "local"},
                "points": 10,
            },
            {"id": "deduction", "label": "欠税扣分", "when": {"fact": "overdue"}, "points": -5},
        ],
        "pass_mark": {"parameter": "test.pass_mark"},
    },
}


@pytest.fixture(scope="module")
def points_catalogue() -> Catalogue:
    return catalogue_from_yaml(POINTS_CATALOGUE)


def build(data: dict[str, Any], catalogue: Catalogue, parameters: PolicyParameters) -> ServiceItem:
    text = yaml.safe_dump(data, allow_unicode=True)
    return service_item_from_yaml(text, catalogue, parameters, source="points.yaml")


@pytest.fixture
def points(points_catalogue: Catalogue, test_parameters: PolicyParameters) -> ServiceItem:
    return build(POINTS_ITEM, points_catalogue, test_parameters)


def score_of(item: ServiceItem, **values: FactValue | None) -> Any:
    return item.evaluate(values, roles_present=ROLES, reference_date=ON)


def test_all_components_known(points: ServiceItem) -> None:
    decision = score_of(points, years=10, months=48, local=True, overdue=False)
    assert decision.score == 64
    assert decision.outcome is DecisionOutcome.ELIGIBLE
    by_id = {c.component: c for c in decision.score_components}
    assert [c.component for c in decision.score_components] == [
        "residence",
        "contribution",
        "registration",
        "deduction",
    ]
    assert by_id["residence"].points == 30
    assert by_id["residence"].basis == "3 per year, at most 30"
    assert by_id["contribution"].points == 24
    assert by_id["contribution"].basis == "0.5 per month, at most 30"
    assert by_id["contribution"].facts == ("months",)
    assert by_id["registration"].points == 10
    assert by_id["registration"].basis == "10 if the clause holds"
    assert by_id["deduction"].points == 0
    assert by_id["deduction"].label == "欠税扣分"


def test_caps_and_deductions(points: ServiceItem) -> None:
    decision = score_of(points, years=50, months=200, local=True, overdue=True)
    assert decision.score == 30 + 30 + 10 - 5
    assert decision.outcome is DecisionOutcome.ELIGIBLE
    low = score_of(points, years=10, months=40, local=True, overdue=True)
    assert low.score == 30 + 20 + 10 - 5
    assert low.outcome is DecisionOutcome.NOT_ELIGIBLE


def test_boundary_at_the_pass_mark(points: ServiceItem) -> None:
    assert score_of(points, years=10, months=40, local=True, overdue=False).score == 60
    at = score_of(points, years=10, months=40, local=True, overdue=False)
    below = score_of(points, years=10, months=39, local=True, overdue=False)
    assert at.outcome is DecisionOutcome.ELIGIBLE
    assert below.score == 59.5
    assert below.outcome is DecisionOutcome.NOT_ELIGIBLE


def test_an_unknown_component_that_could_change_the_outcome(points: ServiceItem) -> None:
    decision = score_of(points, years=10, months=None, local=True, overdue=False)
    assert decision.score is None
    assert decision.outcome is DecisionOutcome.NEEDS_REVIEW
    contribution = decision.score_components[1]
    assert contribution.points is None
    assert contribution.basis == "0.5 per month, at most 30"


def test_unknown_components_that_cannot_lift_it_over_the_mark(points: ServiceItem) -> None:
    decision = score_of(points, years=2, months=10, local=None, overdue=None)
    # At most 6 + 5 + 10 + 0 = 21 < 60.
    assert decision.score is None
    assert decision.outcome is DecisionOutcome.NOT_ELIGIBLE


def test_unknown_components_that_cannot_pull_it_under_the_mark(points: ServiceItem) -> None:
    decision = score_of(points, years=20, months=60, local=None, overdue=False)
    # At least 30 + 30 + 0 + 0 = 60.
    assert decision.score is None
    assert decision.outcome is DecisionOutcome.ELIGIBLE
    # An unknown deduction counts at its worst when judging the lower bound.
    worst = score_of(points, years=20, months=60, local=None, overdue=None)
    assert worst.outcome is DecisionOutcome.NEEDS_REVIEW


def test_labelled_clauses_inside_components_are_explained(points: ServiceItem) -> None:
    decision = score_of(points, years=1, months=1, local=None, overdue=False)
    assert [(line.clause, line.outcome) for line in decision.explanation] == [
        ("is_local", Truth.UNKNOWN)
    ]
    assert decision.explanation[0].facts == ("local",)


def test_without_a_pass_mark_the_outcome_says_whether_the_score_is_known(
    points_catalogue: Catalogue, test_parameters: PolicyParameters
) -> None:
    data = copy.deepcopy(POINTS_ITEM)
    del data["score"]["pass_mark"]
    item = build(data, points_catalogue, test_parameters)
    known = score_of(item, years=1, months=1, local=False, overdue=False)
    assert known.outcome is DecisionOutcome.ELIGIBLE
    assert known.score == 3.5
    unknown = score_of(item, years=1, months=None, local=False, overdue=False)
    assert unknown.outcome is DecisionOutcome.NEEDS_REVIEW
    assert unknown.score is None


def test_with_a_rule_the_rule_decides_and_the_score_is_reported(
    points_catalogue: Catalogue, test_parameters: PolicyParameters
) -> None:
    data = copy.deepcopy(POINTS_ITEM)
    data["rule"] = {"id": "no_overdue_tax", "label": "无欠税", "not": {"fact": "overdue"}}
    item = build(data, points_catalogue, test_parameters)
    decision = score_of(item, years=20, months=60, local=True, overdue=True)
    assert decision.score == 65  # would pass the mark…
    assert decision.outcome is DecisionOutcome.NOT_ELIGIBLE  # …but the rule says no
    assert decision.explanation[0].clause == "no_overdue_tax"
    low = score_of(item, years=0, months=0, local=False, overdue=False)
    assert low.outcome is DecisionOutcome.ELIGIBLE
    assert low.score == 0


def test_quantities_from_dated_parameters(
    points_catalogue: Catalogue, test_parameters: PolicyParameters
) -> None:
    data = copy.deepcopy(POINTS_ITEM)
    data["score"]["components"][0]["maximum"] = {"parameter": "test.min_months"}
    item = build(data, points_catalogue, test_parameters)
    decision = score_of(item, years=50, months=0, local=False, overdue=False)
    assert decision.score_components[0].points == 18
    assert decision.score_components[0].basis == "3 per year, at most 18 (test.min_months)"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["score"]["components"][1].update(id="residence"),
            "score component 'residence': duplicate component id",
        ),
        (
            lambda d: d["score"]["components"][1].update(per_unit=0),
            "score component 'contribution': per_unit must be positive",
        ),
        (
            lambda d: d["score"]["components"][1].update(maximum=-1),
            "maximum must not be negative",
        ),
        (
            lambda d: d["score"]["components"][1].update(fact="local"),
            "fact 'local' is boolean, expected integer",
        ),
        (
            lambda d: d["score"]["components"][1].update(fact="nothing"),
            "unknown fact name 'nothing'",
        ),
        (
            lambda d: d["score"].update(pass_mark={"parameter": "test.missing"}),
            "score pass_mark: unknown dated parameter 'test.missing'",
        ),
        (
            lambda d: d["score"]["components"][2].update(points={"parameter": "test.label"}),
            "dated parameter 'test.label' is not a number",
        ),
        (
            lambda d: d["facts"]["months"]["subjects"].update(subject="partner"),
            "fact 'months' concerns optional role 'partner'",
        ),
    ],
)
def test_score_consistency(
    points_catalogue: Catalogue,
    test_parameters: PolicyParameters,
    change: Any,
    problem: str,
) -> None:
    data = copy.deepcopy(POINTS_ITEM)
    change(data)
    with pytest.raises(CatalogueError) as caught:
        build(data, points_catalogue, test_parameters)
    assert str(caught.value).startswith("points.yaml: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "component",
    [
        {"id": "both", "label": "x", "fact": "years", "when": {"fact": "local"}, "points": 1},
        {"id": "neither", "label": "x", "points": 1},
    ],
)
def test_a_component_is_either_per_unit_or_when(
    points_catalogue: Catalogue, test_parameters: PolicyParameters, component: dict[str, Any]
) -> None:
    data = copy.deepcopy(POINTS_ITEM)
    data["score"]["components"].append(component)
    with pytest.raises(CatalogueError, match="exactly one of: when, fact"):
        build(data, points_catalogue, test_parameters)
