"""A service item (事项): a versioned, declarative definition read from one YAML file.

It names the roles an application fills, the parameters it supplies, the catalogue facts it
needs (with their subjects and parameters bound), and its outcome: an eligibility ``rule``,
a ``score``, or both (then the rule decides eligibility and the score is reported).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from verifier._errors import FieldViolation, InvalidApplication
from verifier.catalogue import Catalogue
from verifier.model import Application, Decision, FactValue, Identifier, SubjectKind
from verifier.rules import _binding, _evaluation, _validation
from verifier.rules._parameters import DatedParameter
from verifier.rules._score import PointsPerUnit, PointsWhen, Quantity, Score
from verifier.rules._tree import (
    ApplicationParameterRef,
    CompareNode,
    PolicyParameterRef,
    RuleNode,
    children,
)

Version = Annotated[str, StringConstraints(pattern=r"^\d{4}\.\d+$")]
"""``<year>.<release>``, e.g. ``2026.1``; quote it in YAML, or it reads as a number."""

PARAMETERS_CONTEXT = "dated_parameters"
"""Validation-context key under which the loader passes the dated parameters."""

FactParameterBinding = StrictStr | StrictInt | ApplicationParameterRef | PolicyParameterRef
"""A literal, ``{param: <item parameter>}`` or ``{parameter: <dated parameter>}``."""


class RoleDefinition(BaseModel):
    """A role a subject of the application fills (guardian, child, buyer, spouse…)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SubjectKind = SubjectKind.NATURAL_PERSON
    required: bool = True
    description: str = ""


class ParameterDefinition(BaseModel):
    """A value the application supplies, checked before any department is asked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["string", "integer", "boolean"]
    required: bool = True
    pattern: str | None = None
    """A regular expression the whole string must match (strings only)."""
    minimum: int | None = None
    maximum: int | None = None
    counts_subjects: bool = False
    """The value must be the number of subjects the application names (integers only): a
    household's declared size, which a register check compares with the booklet, so that a
    member the application leaves out cannot go unchecked."""
    description: str = ""

    _compiled: re.Pattern[str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_constraints(self) -> ParameterDefinition:
        if self.pattern is not None and self.type != "string":
            raise ValueError("only string parameters have a pattern")
        if (self.minimum is not None or self.maximum is not None) and self.type != "integer":
            raise ValueError("only integer parameters have a minimum or maximum")
        if self.counts_subjects and self.type != "integer":
            raise ValueError("only integer parameters can count the subjects")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        if self.pattern is not None:
            # Compiled once here: validate_application runs on every request.
            try:
                # ASCII: a pattern like ^\d{6}$ must not accept full-width or Arabic-Indic
                # digits, which departments would not recognise as the same code.
                self._compiled = re.compile(self.pattern, re.ASCII)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return self

    @property
    def compiled_pattern(self) -> re.Pattern[str] | None:
        return self._compiled


class FactUse(BaseModel):
    """One use of a catalogue fact, under the item's own name for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fact: Identifier
    """The catalogue fact id."""
    subjects: dict[Identifier, Identifier]
    """Every subject slot of the catalogue fact → one of the item's roles."""
    parameters: dict[Identifier, FactParameterBinding] = Field(default_factory=dict)
    """Every parameter of the catalogue fact → its value or where the value comes from."""


class ServiceItem(BaseModel):
    """A service item. Build it with ``service_item_from_yaml`` / ``load_service_items``.

    Loading checks it against the catalogue and attaches the dated parameters it uses; an
    item validated directly from data (without them in the validation context) has none
    attached and cannot resolve thresholds.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    version: Version
    title: str
    title_zh: str
    description: str
    policy_reference: str
    effective_from: date
    """From when this version applies. Evaluating at an earlier reference date is allowed
    (replay, what-if): thresholds then resolve at that date from the dated parameters."""
    roles: dict[Identifier, RoleDefinition] = Field(min_length=1)
    parameters: dict[Identifier, ParameterDefinition] = Field(default_factory=dict)
    facts: dict[Identifier, FactUse] = Field(min_length=1)
    rule: RuleNode | None = None
    score: Score | None = None

    _policy: dict[str, DatedParameter] = PrivateAttr(default_factory=dict)
    _dated: dict[date, _DatedItem] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_outcome(self) -> ServiceItem:
        if self.rule is None and self.score is None:
            raise ValueError("a service item needs a rule, a score, or both")
        return self

    @model_validator(mode="after")
    def _attach_parameters(self, info: ValidationInfo) -> ServiceItem:
        # The loader passes the dated parameters in the validation context, so an item is
        # complete (and immutable) once built; unknown names are reported by the loader.
        context = info.context if isinstance(info.context, dict) else {}
        parameters: Mapping[str, DatedParameter] = context.get(PARAMETERS_CONTEXT, {})
        self._policy = {
            name: parameters[name] for name in self.policy_parameter_names() if name in parameters
        }
        return self

    @property
    def rule_version(self) -> str:
        """``<id>@<version>``: recorded with every fact and decision the item produced."""
        return f"{self.id}@{self.version}"

    @property
    def policy_parameters(self) -> Mapping[str, DatedParameter]:
        """The dated parameters this item reads, attached when it was loaded."""
        return self._policy

    def policy_parameter_names(self) -> set[str]:
        """Every dated parameter the item references, in its rule, score or fact bindings."""
        names = {
            binding.parameter
            for use in self.facts.values()
            for binding in use.parameters.values()
            if isinstance(binding, PolicyParameterRef)
        }
        for node in self.rule_nodes():
            if isinstance(node, CompareNode) and isinstance(node.compare.value, PolicyParameterRef):
                names.add(node.compare.value.parameter)
        if self.score is not None:
            names.update(_score_parameter_names(self.score))
        return names

    def rule_nodes(self) -> Iterator[RuleNode]:
        """Every node of the rule and of the score's clauses, in pre-order."""
        roots: list[RuleNode] = [] if self.rule is None else [self.rule]
        if self.score is not None:
            roots.extend(c.when for c in self.score.components if isinstance(c, PointsWhen))
        stack = list(reversed(roots))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(children(node)))

    def fact_names_for(self, roles_present: AbstractSet[str]) -> list[str]:
        """The item's facts established when these roles are present, in declaration order."""
        return [
            name
            for name, use in self.facts.items()
            if all(role in roles_present for role in use.subjects.values())
        ]

    def rule_at(self, reference_date: date) -> _evaluation.DatedRule:
        """The rule and score compiled for ``reference_date`` (thresholds in force then)."""
        return self._at(reference_date).rule

    def date_violation(self, reference_date: date) -> FieldViolation | None:
        """A violation when a threshold the item uses has no value yet on ``reference_date``."""
        return self._at(reference_date).violation

    def _at(self, reference_date: date) -> _DatedItem:
        dated = self._dated.get(reference_date)
        if dated is None:
            violation = _validation.reference_date_violation(self, reference_date)
            # A date before the thresholds cannot be compiled; it is refused at validation.
            rule = None if violation is not None else _evaluation.DatedRule(self, reference_date)
            dated = _DatedItem(rule, violation)
            if len(self._dated) >= MAX_COMPILED_DATES:
                self._dated.clear()  # replays over years of dates must not grow it forever
            self._dated[reference_date] = dated
        return dated

    def validate_application(self, application: Application) -> list[FieldViolation]:
        """Every problem with the application's roles, subjects and parameters; [] if none.

        Messages name fields, roles and parameter names, never values or IDs.
        """
        return _validation.validate_application(self, application)

    def bind(
        self, application: Application, catalogue: Catalogue, reference_date: date
    ) -> list[_binding.BoundFact]:
        """The facts to establish for a valid application, resolved at ``reference_date``.

        A fact use whose optional role is absent is skipped.
        """
        return _binding.bind(self, application, catalogue, reference_date)

    def evaluate(
        self,
        values: Mapping[str, FactValue | None],
        *,
        roles_present: AbstractSet[str],
        reference_date: date,
    ) -> Decision:
        """The decision from fact values (None, or absent, means UNKNOWN)."""
        return _evaluation.evaluate(
            self, values, roles_present=roles_present, reference_date=reference_date
        )


MAX_COMPILED_DATES = 400
"""Reference dates an item keeps compiled: more than a year of daily traffic."""


@dataclass(frozen=True, slots=True)
class _DatedItem:
    """What an item is on one reference date, worked out once."""

    compiled: _evaluation.DatedRule | None
    violation: FieldViolation | None

    @property
    def rule(self) -> _evaluation.DatedRule:
        if self.compiled is None:
            assert self.violation is not None
            raise InvalidApplication([self.violation])
        return self.compiled


def _score_parameter_names(score: Score) -> set[str]:
    quantities: list[Quantity | None] = [score.pass_mark]
    for component in score.components:
        if isinstance(component, PointsPerUnit):
            quantities.extend((component.per_unit, component.maximum))
        else:
            quantities.append(component.points)
    return {q.parameter for q in quantities if isinstance(q, PolicyParameterRef)}
