"""Collect service-item scenarios (``*.yaml`` in this folder) as tests, openfisca style.

Each file is a list of scenarios a policy officer can read and write::

    - name: 本区户籍，亲子关系成立 → 符合 (local household registration)
      item: school_place
      reference_date: 2026-08-31
      roles: [guardian, child]            # the roles named in the application
      facts:                              # every fact the item asks for these roles
        guardian_is_parent: true
        child_registered_in_district: true
        guardian_rental_months: UNKNOWN   # a department that did not answer
        guardian_social_insurance_months: 3
      expect:
        decision: ELIGIBLE                # ELIGIBLE | NOT_ELIGIBLE | NEEDS_REVIEW
        clauses: {hukou_or_rental: TRUE}  # optional: clause id → TRUE | FALSE | UNKNOWN
        thresholds: {rental_months: ">= 12 (school_place.min_rental_months)"}  # optional
        score: 64                         # optional, for items with a score
      note: Why this case matters.        # optional

A scenario must list exactly the facts the item asks for with those roles, so that a
forgotten fact is never silently UNKNOWN.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StrictInt, ValidationError

from verifier.catalogue import load_catalogue
from verifier.model import Decision, DecisionOutcome, FactValue, Truth
from verifier.rules import ItemRegistry, ServiceItem, load_service_items


def _truth(value: object) -> object:
    # YAML 1.1 reads TRUE and FALSE as booleans; the scenario means the truth values.
    if isinstance(value, bool):
        return Truth.TRUE if value else Truth.FALSE
    return value


ClauseTruth = Annotated[Truth, BeforeValidator(_truth)]


def _fact_value(value: object) -> object:
    if value == "UNKNOWN":
        return None
    if isinstance(value, bool) or (isinstance(value, int) and value >= 0):
        return value
    raise ValueError("must be true, false, a whole number, or UNKNOWN")


FactEntry = Annotated[StrictBool | StrictInt | None, BeforeValidator(_fact_value)]


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: DecisionOutcome
    clauses: dict[str, ClauseTruth] = {}
    thresholds: dict[str, str] = {}
    score: float | None = None


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    item: str
    reference_date: date
    roles: list[str]
    facts: dict[str, FactEntry]
    expect: Expectation
    note: str | None = None


class ScenarioError(Exception):
    """A scenario did not come out as written; the lines say how."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@functools.cache
def _registry() -> ItemRegistry:
    return load_service_items(load_catalogue())


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> ScenarioFile | None:
    if file_path.suffix == ".yaml" and file_path.parent == Path(__file__).parent:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        text = self.path.read_text(encoding="utf-8")
        entries = yaml.safe_load(text)
        if not isinstance(entries, list):
            raise self.CollectError(f"{self.path.name}: expected a list of scenarios")
        # Line numbers from the YAML nodes, so a failure points at the scenario.
        nodes = yaml.compose(text, Loader=yaml.SafeLoader)
        lines = [node.start_mark.line for node in nodes.value] if nodes is not None else []
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name or "::" in name:
                raise self.CollectError(f"{self.path.name}: scenario #{index + 1} needs a name")
            if name in seen:
                raise self.CollectError(f"{self.path.name}: two scenarios named {name!r}")
            seen.add(name)
            yield ScenarioItem.from_parent(self, name=name, spec=entry, line=lines[index])


class ScenarioItem(pytest.Item):
    def __init__(self, *, spec: dict[str, Any], line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.line = line

    def runtest(self) -> None:
        try:
            scenario = Scenario.model_validate(self.spec)
        except ValidationError as exc:
            raise ScenarioError(["the scenario is malformed:", *_describe(exc)]) from None
        item = _registry().get(scenario.item)
        values = _fact_values(item, scenario)
        decision = item.evaluate(
            values, roles_present=set(scenario.roles), reference_date=scenario.reference_date
        )
        problems = _differences(scenario.expect, decision)
        if problems:
            raise ScenarioError([*problems, "", "explanation:", *_explain(decision)])

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioError):
            header = f"scenario: {self.name}  ({self.path.name}, line {self.line + 1})"
            return "\n".join([header, *("  " + line for line in excinfo.value.lines)])
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line, f"scenario: {self.name}"


def _fact_values(item: ServiceItem, scenario: Scenario) -> dict[str, FactValue | None]:
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
    if problems:
        raise ScenarioError(["the scenario does not fit the item:", *problems])
    return dict(scenario.facts)


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
