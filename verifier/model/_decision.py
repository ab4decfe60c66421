"""Decisions and their explanations: which clause held, over which facts — no raw data."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Truth(StrEnum):
    """Three-valued logic: a clause is true, false, or cannot be decided (a fact is UNKNOWN)."""

    TRUE = "TRUE"
    FALSE = "FALSE"
    UNKNOWN = "UNKNOWN"


class DecisionOutcome(StrEnum):
    ELIGIBLE = "ELIGIBLE"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    NEEDS_REVIEW = "NEEDS_REVIEW"
    """A fact that could change the outcome is UNKNOWN: a clerk must look."""


class ClauseExplanation(BaseModel):
    """How one labelled clause of the rule came out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clause: str
    """Stable id of the clause within the item."""
    label: str
    """What the clause means, in the words of the policy (shown to the clerk)."""
    outcome: Truth
    facts: tuple[str, ...] = ()
    """The item's fact names this clause reads."""
    threshold: str | None = None
    """The comparison and threshold applied, e.g. ``>= 12`` — never the fact's source record."""
    depth: int = 0
    """Nesting depth in the rule tree, for indenting a readable explanation."""


class ScoreComponent(BaseModel):
    """One component of a computed numeric outcome (points, as in points-based admission)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str
    label: str
    points: float | None
    """None when the component's fact is UNKNOWN."""
    facts: tuple[str, ...] = ()
    basis: str | None = None
    """How the points were computed, e.g. ``0.5 per month, at most 30``."""


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: DecisionOutcome
    explanation: tuple[ClauseExplanation, ...]
    score: float | None = None
    """The computed score for items whose outcome is numeric; None otherwise or if UNKNOWN."""
    score_components: tuple[ScoreComponent, ...] = ()
