"""Running a scenario: the item decides on the scenario's facts; differences are listed."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from verifier.model import Decision, FactValue
from verifier.rules import ItemRegistry, ServiceItem
from verifier.scenarios._spec import Expectation, Scenario, ScenarioEntry


@dataclass(frozen=True, slots=True)
class ScenarioOutcome:
    """What running one scenario found: no problems means it passed."""

    entry: ScenarioEntry
    problems: list[str]
    explanation: list[str]
    """The decision's explanation, one clause a line (empty if the item was not evaluated)."""

    @property
    def passed(self) -> bool:
        return not self.problems

    def report(self) -> list[str]:
        """Lines a policy officer can read: where the scenario is and how it differed."""
        header = f"scenario: {self.entry.name}  ({self.entry.path.name}, line {self.entry.line})"
        body = [*self.problems]
        if self.explanation:
            body += ["", "explanation:", *self.explanation]
        return [header, *("  " + line for line in body)]


def run_scenario(entry: ScenarioEntry, items: ItemRegistry) -> ScenarioOutcome:
    """Evaluate ``entry``'s item on its facts and compare with what it expects."""
    try:
        scenario = Scenario.model_validate(entry.spec)
    except ValidationError as exc:
        return ScenarioOutcome(entry, ["the scenario is malformed:", *_describe(exc)], [])
    if scenario.item not in items:
        return ScenarioOutcome(entry, [f"item {scenario.item!r} is not defined"], [])
    item = items.get(scenario.item)
    misfit = _misfit(item, scenario)
    if misfit:
        return ScenarioOutcome(entry, ["the scenario does not fit the item:", *misfit], [])
    values: dict[str, FactValue | None] = dict(scenario.facts)
    decision = item.evaluate(
        values, roles_present=set(scenario.roles), reference_date=scenario.reference_date
    )
    return ScenarioOutcome(entry, _differences(scenario.expect, decision), _explain(decision))


def _misfit(item: ServiceItem, scenario: Scenario) -> list[str]:
    problems = [
        f"role {role!r} is not defined for {item.id!r}"
        for role in scenario.roles
        if role not in item.roles
    ]
    problems += [
        f"required role {role!r} is missing"
        for role, definition in item.roles.items()
        if definition.required and role not in scenario.roles
    ]
    asked = item.fact_names_for(set(scenario.roles))
    problems += [
        f"fact {name!r} must be given (or UNKNOWN)" for name in asked if name not in scenario.facts
    ]
    problems += [
        f"fact {name!r} is not asked for with roles {scenario.roles}"
        for name in scenario.facts
        if name not in asked
    ]
    return problems


def _describe(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in error['loc'])}: "
        + str(error["msg"]).removeprefix("Value error, ")
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _differences(expect: Expectation, decision: Decision) -> list[str]:
    problems = []
    if decision.outcome is not expect.decision:
        problems.append(f"decision: expected {expect.decision}, got {decision.outcome}")
    lines = {line.clause: line for line in decision.explanation}
    for clause, truth in expect.clauses.items():
        if clause not in lines:
            problems.append(f"clause {clause!r}: not in the explanation")
        elif lines[clause].outcome is not truth:
            problems.append(f"clause {clause!r}: expected {truth}, got {lines[clause].outcome}")
    for clause, threshold in expect.thresholds.items():
        actual = lines[clause].threshold if clause in lines else None
        if actual != threshold:
            problems.append(f"threshold of {clause!r}: expected {threshold!r}, got {actual!r}")
    if expect.score is not None and decision.score != expect.score:
        problems.append(f"score: expected {expect.score}, got {decision.score}")
    return problems


def _explain(decision: Decision) -> list[str]:
    return [
        f"{'  ' * line.depth}{line.outcome:<7} {line.clause}: {line.label}"
        + (f"  [{line.threshold}]" if line.threshold else "")
        for line in decision.explanation
    ]
