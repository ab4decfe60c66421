"""Evaluating an item over fact values: Kleene logic over the rule tree, and scores.

Every labelled node yields one explanation line, in pre-order, naming the facts it read
and the threshold it applied — never a fact's value (the values travel, with their
provenance, in the fact results beside the decision). ``depth`` counts labelled
ancestors only, so unlabelled grouping nodes do not indent the explanation.

The tree is compiled once per (item, reference date) into nested closures (``DatedRule``):
the thresholds in force on that date, their explanation text, each clause's id, label and
depth are worked out then, so evaluating an application only reads its fact values. Every
node is evaluated, none short-circuited: the explanation shows every labelled clause.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from verifier.model import Decision, DecisionOutcome, FactValue, Truth
from verifier.model._plain import PlainClause, PlainComponent, PlainDecision
from verifier.rules._logic import kleene_all, kleene_any, kleene_not, outcome_of, truth_of
from verifier.rules._parameters import PolicyValue
from verifier.rules._score import PointsWhen, Quantity
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

Facts = tuple[str, ...]


@dataclass(slots=True)
class _Run:
    """One evaluation: the application's fact values and the explanation being written."""

    values: Mapping[str, FactValue | None]
    roles_present: AbstractSet[str]
    lines: list[PlainClause | None] = field(default_factory=list)


Step = Callable[[_Run], tuple[Truth, Facts]]
"""A compiled node: its truth for one evaluation and the facts it read."""


class DatedRule:
    """An item's rule and score compiled for one reference date."""

    __slots__ = ("_components", "_pass_mark", "_rule", "thresholds")

    def __init__(self, item: ServiceItem, reference_date: date) -> None:
        compiler = _Compiler(item, reference_date)
        self.thresholds: Mapping[str, PolicyValue] = {
            name: policy_value(item, name, reference_date)
            for name in sorted(item.policy_parameters)
        }
        """Every dated parameter the item reads, as in force on the reference date: what
        the audit record's decision trace keeps, so a replay can tell what changed."""
        self._rule = None if item.rule is None else compiler.node(item.rule, "rule", 0)
        self._components: tuple[Callable[[_Run], tuple[PlainComponent, float, float]], ...] = ()
        self._pass_mark: float | None = None
        if item.score is not None:
            self._components = tuple(compiler.component(c) for c in item.score.components)
            if item.score.pass_mark is not None:
                self._pass_mark = compiler.quantity(item.score.pass_mark)[0]

    def evaluate(
        self, values: Mapping[str, FactValue | None], roles_present: AbstractSet[str]
    ) -> PlainDecision:
        """The decision from fact values (None, or absent, means UNKNOWN)."""
        run = _Run(values, roles_present)
        outcome = None if self._rule is None else outcome_of(self._rule(run)[0])
        components: tuple[PlainComponent, ...] = ()
        total: float | None = None
        if self._components:
            components, total, score_outcome = self._score(run)
            # With a rule, the rule decides eligibility and the score is only reported.
            if outcome is None:
                outcome = score_outcome
        assert outcome is not None  # an item has a rule or a score (checked when built)
        return PlainDecision(
            outcome,
            tuple(line for line in run.lines if line is not None),
            total,
            components,
        )

    def _score(self, run: _Run) -> tuple[tuple[PlainComponent, ...], float | None, DecisionOutcome]:
        components = []
        lower = upper = 0.0
        for component in self._components:
            made, low, high = component(run)
            components.append(made)
            lower, upper = lower + low, upper + high
        known = all(component.points is not None for component in components)
        total = round(lower, 6) if known else None
        if self._pass_mark is None:
            # Nothing to pass: the outcome says whether the score could be established.
            outcome = DecisionOutcome.ELIGIBLE if known else DecisionOutcome.NEEDS_REVIEW
        elif lower >= self._pass_mark:
            outcome = DecisionOutcome.ELIGIBLE
        elif upper < self._pass_mark:
            outcome = DecisionOutcome.NOT_ELIGIBLE
        else:
            outcome = DecisionOutcome.NEEDS_REVIEW
        return tuple(components), total, outcome


def evaluate(
    item: ServiceItem,
    values: Mapping[str, FactValue | None],
    *,
    roles_present: AbstractSet[str],
    reference_date: date,
) -> Decision:
    return item.rule_at(reference_date).evaluate(values, roles_present).public()


@dataclass(frozen=True, slots=True)
class _Compiler:
    item: ServiceItem
    reference_date: date

    def node(self, node: RuleNode, path: str, depth: int) -> Step:
        clause = node.id or path
        label = node.label
        inner_depth = depth + 1 if label is not None else depth
        judge, threshold = self._judge(node, clause, inner_depth)
        if label is None:
            return judge

        def labelled(run: _Run) -> tuple[Truth, Facts]:
            lines = run.lines
            # Reserve the line now so the explanation stays in pre-order.
            slot = len(lines)
            lines.append(None)
            truth, facts = judge(run)
            lines[slot] = PlainClause(clause, label, truth, facts, threshold, depth)
            return truth, facts

        return labelled

    def _judge(self, node: RuleNode, clause: str, depth: int) -> tuple[Step, str | None]:
        if isinstance(node, FactNode):
            return _fact_step(node.fact), None
        if isinstance(node, CompareNode):
            return self._compare(node)
        steps = tuple(
            self.node(child, f"{clause}.{index}", depth)
            for index, child in enumerate(children(node))
        )
        if isinstance(node, IfPresentNode):
            return _if_present_step(node.if_present.role, steps[0]), None
        if isinstance(node, AllNode):
            return _combined_step(steps, kleene_all), None
        if isinstance(node, AnyNode):
            return _combined_step(steps, kleene_any), None
        assert isinstance(node, NotNode)
        return _combined_step(steps, lambda truths: kleene_not(truths[0])), None

    def _compare(self, node: CompareNode) -> tuple[Step, str]:
        comparison = node.compare
        threshold, text = self.quantity(comparison.value)
        name = comparison.fact
        facts = (name,)
        test = _OPERATORS[comparison.op]

        def compare(run: _Run) -> tuple[Truth, Facts]:
            value = run.values.get(name)
            if value is None:
                return Truth.UNKNOWN, facts
            if isinstance(value, bool):
                raise TypeError(f"fact {name!r} is compared, so it must be an integer")
            return (Truth.TRUE if test(value, threshold) else Truth.FALSE), facts

        return compare, f"{comparison.op} {text}"

    def quantity(self, quantity: Quantity) -> tuple[float, str]:
        """A number and how to show it: ``12`` or ``12 (school_place.min_rental_months)``."""
        if isinstance(quantity, PolicyParameterRef):
            value = policy_value(self.item, quantity.parameter, self.reference_date)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"parameter {quantity.parameter!r} is not a number")
            return value, f"{_number(value)} ({quantity.parameter})"
        return quantity, _number(quantity)

    def component(
        self, definition: PointsWhen | PointsPerUnit
    ) -> Callable[[_Run], tuple[PlainComponent, float, float]]:
        """The component's step: the component, and the least and most it can contribute."""
        if isinstance(definition, PointsWhen):
            return self._points_when(definition)
        return self._points_per_unit(definition)

    def _points_when(
        self, definition: PointsWhen
    ) -> Callable[[_Run], tuple[PlainComponent, float, float]]:
        when = self.node(definition.when, f"score.{definition.id}", 0)
        points, text = self.quantity(definition.points)
        basis = f"{text} if the clause holds"
        component_id, label = definition.id, definition.label

        def points_when(run: _Run) -> tuple[PlainComponent, float, float]:
            truth, facts = when(run)
            if truth is Truth.TRUE:
                earned: float | None = points
                low = high = points
            elif truth is Truth.FALSE:
                earned, low, high = 0, 0, 0
            else:
                earned, low, high = None, min(0, points), max(0, points)
            return PlainComponent(component_id, label, earned, facts, basis), low, high

        return points_when

    def _points_per_unit(
        self, definition: PointsPerUnit
    ) -> Callable[[_Run], tuple[PlainComponent, float, float]]:
        per_unit, basis = self.quantity(definition.per_unit)
        basis = f"{basis} per {definition.unit}"
        cap = math.inf
        if definition.maximum is not None:
            cap, cap_text = self.quantity(definition.maximum)
            basis += f", at most {cap_text}"
        name, component_id, label = definition.fact, definition.id, definition.label
        facts = (name,)

        def points_per_unit(run: _Run) -> tuple[PlainComponent, float, float]:
            value = run.values.get(name)
            if value is None:
                earned: float | None = None
                low, high = 0.0, cap
            elif isinstance(value, bool):
                raise TypeError(f"fact {name!r} scores per unit, so it must be an integer")
            else:
                earned = low = high = round(min(value * per_unit, cap), 6)
            return PlainComponent(component_id, label, earned, facts, basis), low, high

        return points_per_unit


def _fact_step(name: str) -> Step:
    facts = (name,)
    return lambda run: (truth_of(run.values.get(name)), facts)


def _if_present_step(role: str, inner: Step) -> Step:
    def if_present(run: _Run) -> tuple[Truth, Facts]:
        if role not in run.roles_present:
            # The optional role is absent: its facts were never asked for and cannot fail.
            return Truth.TRUE, ()
        return inner(run)

    return if_present


def _combined_step(steps: tuple[Step, ...], combine: Callable[[list[Truth]], Truth]) -> Step:
    def combined(run: _Run) -> tuple[Truth, Facts]:
        results = [step(run) for step in steps]
        facts = tuple(dict.fromkeys(name for _, names in results for name in names))
        return combine([truth for truth, _ in results]), facts

    return combined


def _number(value: float) -> str:
    """``12`` rather than ``12.0``; ``0.5`` as is."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
