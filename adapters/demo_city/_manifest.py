"""What a generated demo city is: where its databases are, its planted samples, its canaries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

FactAnswer = bool | int


@dataclass(frozen=True, slots=True)
class ExpectedFact:
    """A fact a planted sample was built to produce, as its department derives it.

    ``subjects`` maps the fact's subject slots to the application's roles; ``unknown`` is
    the reason code when the department must answer UNKNOWN (then ``value`` is None).
    """

    department: str
    fact: str
    subjects: Mapping[str, str]
    parameters: Mapping[str, str | int] = field(default_factory=dict)
    value: FactAnswer | None = None
    unknown: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "department": self.department,
            "fact": self.fact,
            "subjects": dict(self.subjects),
            "parameters": dict(self.parameters),
        }
        if self.unknown is not None:
            data["unknown"] = self.unknown
        else:
            data["value"] = self.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExpectedFact:
        return cls(
            department=data["department"],
            fact=data["fact"],
            subjects=dict(data["subjects"]),
            parameters=dict(data.get("parameters", {})),
            value=data.get("value"),
            unknown=data.get("unknown"),
        )


@dataclass(frozen=True, slots=True)
class DemoSample:
    """A planted household whose outcome is known by construction."""

    name: str
    description: str
    expected: str
    """The decision the item's rule must reach: ELIGIBLE, NOT_ELIGIBLE or NEEDS_REVIEW."""
    application: Mapping[str, Any]
    """The application, as plain data a service hall would send."""
    facts: tuple[ExpectedFact, ...]
    what_if: Mapping[str, str] = field(default_factory=dict)
    """What-if name (``_what_if.WHAT_IFS``) → the decision the item's rule reaches under it,
    for the samples that case was planted for (a replay of their records must find it)."""

    def subject_id(self, role: str) -> str:
        for entry in self.application["subjects"]:
            if entry["role"] == role:
                return str(entry["id"])
        raise KeyError(role)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "expected": self.expected,
            "application": self.application,
            "facts": [fact.to_json() for fact in self.facts],
            "what_if": dict(self.what_if),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DemoSample:
        return cls(
            name=data["name"],
            description=data["description"],
            expected=data["expected"],
            application=data["application"],
            facts=tuple(ExpectedFact.from_json(fact) for fact in data.get("facts", ())),
            what_if=dict(data.get("what_if", {})),
        )


@dataclass(frozen=True, slots=True)
class DemoCityManifest:
    """A generated city: its databases (``urls`` by department), samples and canaries."""

    urls: Mapping[str, str]
    people: int
    """Residents written, the planted samples' included (more than asked if the samples
    alone outnumber it)."""
    seed: int
    reference_date: date
    samples: tuple[DemoSample, ...]
    canaries: tuple[str, ...]
    """Every canary string planted in a raw text field; none may ever leave an adapter."""
    data_dir: Path | None = None
    rows: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Rows written, by department and table."""
    caseloads: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per re-check item: its caseload file, rows, and the planted people who no longer
    qualify, counted per reason, with the rule clause each reason fails (``_caseloads``)."""

    def sample(self, name: str) -> DemoSample:
        for sample in self.samples:
            if sample.name == name:
                return sample
        raise KeyError(name)

    def caseloads_json(self) -> dict[str, Any]:
        return {
            "reference_date": self.reference_date.isoformat(),
            "seed": self.seed,
            "people": self.people,
            "caseloads": dict(self.caseloads),
        }

    def samples_json(self) -> dict[str, Any]:
        return {
            "reference_date": self.reference_date.isoformat(),
            "seed": self.seed,
            "people": self.people,
            "samples": [sample.to_json() for sample in self.samples],
        }


def load_samples(path: Path) -> tuple[DemoSample, ...]:
    """Read a ``samples.json`` written by ``generate_demo_city``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(DemoSample.from_json(sample) for sample in data["samples"])
