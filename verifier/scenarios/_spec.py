"""A scenario file: a list of scenarios a policy officer can read and write (openfisca style).

::

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

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, StrictInt

from verifier.model import DecisionOutcome, Truth


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
    """One scenario: an item, a date, the roles present, the facts, what must come out."""

    model_config = ConfigDict(extra="forbid")

    name: str
    item: str
    reference_date: date
    roles: list[str]
    facts: dict[str, FactEntry]
    expect: Expectation
    note: str | None = None


class ScenarioFileError(ValueError):
    """A scenario file that cannot be read as a list of named scenarios."""


@dataclass(frozen=True, slots=True)
class ScenarioEntry:
    """One entry of a file, not yet validated (a malformed one fails as its own test)."""

    name: str
    spec: dict[str, Any]
    path: Path
    line: int
    """1-based line of the entry in its file."""


def read_scenario_file(path: Path) -> list[ScenarioEntry]:
    """The entries of a scenario file, with their line numbers; names checked unique."""
    try:
        text = path.read_text(encoding="utf-8")
        entries = yaml.safe_load(text)
        # Line numbers from the YAML nodes, so a failure points at the scenario.
        nodes = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioFileError(f"{path.name}: cannot read scenarios ({exc})") from None
    if not isinstance(entries, list):
        raise ScenarioFileError(f"{path.name}: expected a list of scenarios")
    lines = [node.start_mark.line for node in nodes.value] if nodes is not None else []
    seen: set[str] = set()
    found = []
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or "::" in name:
            raise ScenarioFileError(f"{path.name}: scenario #{index + 1} needs a name")
        if name in seen:
            raise ScenarioFileError(f"{path.name}: two scenarios named {name!r}")
        seen.add(name)
        found.append(ScenarioEntry(name, entry, path, lines[index] + 1))
    return found
