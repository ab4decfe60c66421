"""Numeric outcomes: points from components, as in points-based school admission (积分入学).

    score:
      components:
        - {id: residence, label: 居住满五年, when: {fact: resident_five_years}, points: 10}
        - {id: contribution, label: 社保缴费, fact: social_insurance_months,
           per_unit: 0.5, unit: month, maximum: 30}
      pass_mark: {parameter: points_admission.pass_mark}

A component whose fact is UNKNOWN has no points; the total is then unknown too, but the
outcome can still be settled against the pass mark from the range the total can lie in.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictFloat, StrictInt, Tag

from verifier.model import Identifier
from verifier.rules._tree import PolicyParameterRef, RuleNode

Quantity = StrictInt | StrictFloat | PolicyParameterRef
"""A number, or a dated parameter holding one."""


class _Component(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    id: Identifier
    label: str = Field(min_length=1)


class PointsWhen(_Component):
    """``points`` when the clause holds, none when it does not (may be negative: a deduction)."""

    kind: ClassVar[str] = "when"
    when: RuleNode
    points: Quantity


class PointsPerUnit(_Component):
    """``per_unit`` points for each unit of an integer fact, capped at ``maximum``."""

    kind: ClassVar[str] = "fact"
    fact: Identifier
    per_unit: Quantity
    unit: str = "unit"
    """How a unit is called in the basis text: ``0.5 per month, at most 30``."""
    maximum: Quantity | None = None


def _component_kind(value: Any) -> str | None:
    if isinstance(value, _Component):
        return value.kind
    if isinstance(value, dict):
        present = [key for key in ("when", "fact") if key in value]
        return present[0] if len(present) == 1 else None
    return None


ScoreComponentDefinition = Annotated[
    Annotated[PointsWhen, Tag("when")] | Annotated[PointsPerUnit, Tag("fact")],
    Discriminator(
        _component_kind,
        custom_error_type="score_component",
        custom_error_message="a score component needs exactly one of: when, fact",
    ),
]


class Score(BaseModel):
    """The numeric outcome. Without a rule, ``pass_mark`` (if any) decides eligibility."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    components: tuple[ScoreComponentDefinition, ...] = Field(min_length=1)
    pass_mark: Quantity | None = None
