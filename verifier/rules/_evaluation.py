"""Evaluating an item over fact values: Kleene logic over the rule tree, and scores.

Every labelled node yields one explanation line, in pre-order, naming the facts it read
and the threshold it applied — never a fact's value (the values travel, with their
provenance, in the fact results beside the decision). ``depth`` counts labelled
ancestors only, so unlabelled grouping nodes do not indent the explanation.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from verifier.model import (
    ClauseExplanation,
    Decision,
    DecisionOutcome,
    FactValue,
    ScoreComponent,
    Truth,
)
from verifier.rules._logic import kleene_all, kleene_any, kleene_not, outcome_of, truth_of
from verifier.rules._score import PointsWhen, Quantity, Score
from verifier.rules._tree import (
    AllNode,
    AnyNode,
    CompareNode,
    FactNode,
    IfPresentNode,
    NotNode,
    PolicyParameterRef,
    RuleNode,
    children,
)
from verifier.rules._validation import policy_value

if TYPE_CHECKING:
    from verifier.rules._item import ServiceItem
    from verifier.rules._score import PointsPerUnit

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(slots=True)
class _Walk:
    item: ServiceItem
    values: Mapping[str, FactValue | None]
    roles_present: AbstractSet[str]
    reference_date: date
    lines: list[ClauseExplanation | None] = field(default_factory=list)

    def visit(self, node: RuleNode, path: str, depth: int) -> tuple[Truth, tuple[str, ...]]:
        """The node's truth and the facts it read; records its explanation if labelled."""
        clause = node.id or path
        slot = None
        if node.label is not None:
            # Reserve the line now so the explanation stays in pre-order.
            slot = len(self.lines)
            self.lines.append(None)
        inner_depth = depth + 1 if slot is not None else depth
        truth, facts, threshold = self._judge(node, clause, inner_depth)
        if slot is not None and node.label is not None:
            self.lines[slot] = ClauseExplanation(
                clause=clause,
                label=node.label,
                outcome=truth,
                facts=facts,
                threshold=threshold,
                depth=depth,
            )
        return truth, facts

    def _judge(
        self, node: RuleNode, clause: str, depth: int
    ) -> tuple[Truth, tuple[str, ...], str | None]:
        if isinstance(node, FactNode):
            return truth_of(self.values.get(node.fact)), (node.fact,), None
        if isinstance(node, CompareNode):
            return self._compare(node)
        if isinstance(node, IfPresentNode) and node.if_present.role not in self.roles_present:
            # The optional role is absent: its facts were never asked for and cannot fail.
            return Truth.TRUE, (), None
        results = [
            self.visit(child, f"{clause}.{index}", depth)
            for index, child in enumerate(children(node))
        ]
        truths = [truth for truth, _ in results]
        facts = tuple(dict.fromkeys(name for _, names in results for name in names))
        if isinstance(node, AllNode):
            return kleene_all(truths), facts, None
        if isinstance(node, AnyNode):
            return kleene_any(truths), facts, None
        if isinstance(node, NotNode):
            return kleene_not(truths[0]), facts, None
        return truths[0], facts, None  # if_present with the role present: the inner node

    def _compare(self, node: CompareNode) -> tuple[Truth, tuple[str, ...], str | None]:
        comparison = node.compare
        threshold, text = self.quantity(comparison.value)
        value = self.values.get(comparison.fact)
        if value is None:
            truth = Truth.UNKNOWN
        elif isinstance(value, bool):
            raise TypeError(f"fact {comparison.fact!r} is compared, so it must be an integer")
        else:
            held = _OPERATORS[comparison.op](value, threshold)
            truth = Truth.TRUE if held else Truth.FALSE
        return truth, (comparison.fact,), f"{comparison.op} {text}"

    def quantity(self, quantity: Quantity) -> tuple[float, str]:
        """A number and how to show it: ``12`` or ``12 (school_place.min_rental_months)``."""
        if isinstance(quantity, PolicyParameterRef):
            value = policy_value(self.item, quantity.parameter, self.reference_date)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"parameter {quantity.parameter!r} is not a number")
            return value, f"{_number(value)} ({quantity.parameter})"
        return quantity, _number(quantity)


def evaluate(
    item: ServiceItem,
    values: Mapping[str, FactValue | None],
    *,
    roles_present: AbstractSet[str],
    reference_date: date,
) -> Decision:
    walk = _Walk(item, values, roles_present, reference_date)
    outcome = None
    if item.rule is not None:
        outcome = outcome_of(walk.visit(item.rule, "rule", 0)[0])
    components: tuple[ScoreComponent, ...] = ()
    total: float | None = None
    if item.score is not None:
        components, total, score_outcome = _score(walk, item.score)
        # With a rule, the rule decides eligibility and the score is only reported.
        if outcome is None:
            outcome = score_outcome
    assert outcome is not None  # an item has a rule or a score (checked when built)
    return Decision(
        outcome=outcome,
        explanation=tuple(line for line in walk.lines if line is not None),
        score=total,
        score_components=components,
    )


def _score(
    walk: _Walk, score: Score
) -> tuple[tuple[ScoreComponent, ...], float | None, DecisionOutcome]:
    components = []
    lower = upper = 0.0
    for definition in score.components:
        if isinstance(definition, PointsWhen):
            component, low, high = _points_when(walk, definition)
        else:
            component, low, high = _points_per_unit(walk, definition)
        components.append(component)
        lower, upper = lower + low, upper + high
    known = all(component.points is not None for component in components)
    total = round(lower, 6) if known else None
    if score.pass_mark is None:
        # Nothing to pass: the outcome says whether the score could be established.
        outcome = DecisionOutcome.ELIGIBLE if known else DecisionOutcome.NEEDS_REVIEW
    else:
        pass_mark = walk.quantity(score.pass_mark)[0]
        if lower >= pass_mark:
            outcome = DecisionOutcome.ELIGIBLE
        elif upper < pass_mark:
            outcome = DecisionOutcome.NOT_ELIGIBLE
        else:
            outcome = DecisionOutcome.NEEDS_REVIEW
    return tuple(components), total, outcome


def _points_when(walk: _Walk, definition: PointsWhen) -> tuple[ScoreComponent, float, float]:
    """The component, and the least and most it can contribute."""
    truth, facts = walk.visit(definition.when, f"score.{definition.id}", 0)
    points, text = walk.quantity(definition.points)
    if truth is Truth.TRUE:
        earned: float | None = points
        low = high = points
    elif truth is Truth.FALSE:
        earned, low, high = 0, 0, 0
    else:
        earned, low, high = None, min(0, points), max(0, points)
    component = ScoreComponent(
        component=definition.id,
        label=definition.label,
        points=earned,
        facts=facts,
        basis=f"{text} if the clause holds",
    )
    return component, low, high


def _points_per_unit(walk: _Walk, definition: PointsPerUnit) -> tuple[ScoreComponent, float, float]:
    per_unit, basis = walk.quantity(definition.per_unit)
    basis = f"{basis} per {definition.unit}"
    cap = math.inf
    if definition.maximum is not None:
        cap, cap_text = walk.quantity(definition.maximum)
        basis += f", at most {cap_text}"
    value = walk.values.get(definition.fact)
    if value is None:
        earned: float | None = None
        low, high = 0.0, cap
    elif isinstance(value, bool):
        raise TypeError(f"fact {definition.fact!r} scores per unit, so it must be an integer")
    else:
        earned = low = high = round(min(value * per_unit, cap), 6)
    component = ScoreComponent(
        component=definition.id,
        label=definition.label,
        points=earned,
        facts=(definition.fact,),
        basis=basis,
    )
    return component, low, high


def _number(value: float) -> str:
    """``12`` rather than ``12.0``; ``0.5`` as is."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
