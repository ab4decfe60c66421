"""What goes wrong, how often, and how slowly: a fault plan and the seeded dice that apply it.

Each request draws exactly two numbers from the simulator's ``random.Random``: one picks the
outcome, one the latency (by inverse CDF, so a lognormal costs one draw too). The sequence
of outcomes therefore depends only on the seed and the plans in force, never on timing.

Outcomes, tried in this order against one uniform draw (the rates must sum to at most 1):

- ``error``: answered ``503`` after the latency;
- ``hang``: never answered, until the client gives up (closes the connection) or the
  simulator stops;
- ``reset``: status line, headers and half of the real body are sent, then the TCP connection
  is reset (RST), so the client sees the connection die mid-body;
- ``malformed``: ``200`` with the real body cut in half (invalid JSON, a complete message);
- ``wrong_subject``: a well-formed ``200`` answered about somebody else: one asked-about ID is
  swapped for another real resident's, and the facts are that resident's;
- ``ok``: the real answer.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_LATENCY_MS = 60_000.0
"""A drawn latency is capped here: the lognormal tail is unbounded, a test run is not."""
_Z99 = NormalDist().inv_cdf(0.99)


class Outcome(StrEnum):
    OK = "ok"
    ERROR = "error"
    HANG = "hang"
    RESET = "reset"
    MALFORMED = "malformed"
    WRONG_SUBJECT = "wrong_subject"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FixedLatency(_Frozen):
    """Every answer waits ``ms`` milliseconds."""

    kind: Literal["fixed"] = "fixed"
    ms: float = Field(default=0.0, ge=0, le=MAX_LATENCY_MS)

    def seconds(self, uniform: float) -> float:
        return self.ms / 1000


class LognormalLatency(_Frozen):
    """Latency with median ``p50_ms`` and 99th percentile ``p99_ms``: a long right tail.

    ``ln(latency)`` is normal with ``mu = ln(p50_ms)`` and
    ``sigma = (ln(p99_ms) - ln(p50_ms)) / z(0.99)`` (``z(0.99)`` ≈ 2.326), so the two
    percentiles are exactly the ones given; ``p99_ms == p50_ms`` is a fixed latency.
    """

    kind: Literal["lognormal"] = "lognormal"
    p50_ms: float = Field(gt=0, le=MAX_LATENCY_MS)
    p99_ms: float = Field(gt=0, le=MAX_LATENCY_MS)

    @model_validator(mode="after")
    def _ordered(self) -> LognormalLatency:
        if self.p99_ms < self.p50_ms:
            raise ValueError("p99_ms must be at least p50_ms")
        return self

    def seconds(self, uniform: float) -> float:
        sigma = (math.log(self.p99_ms) - math.log(self.p50_ms)) / _Z99
        # inv_cdf needs 0 < u < 1; random() may return exactly 0.
        z = NormalDist().inv_cdf(min(max(uniform, 1e-12), 1 - 1e-12))
        return min(self.p50_ms * math.exp(sigma * z), MAX_LATENCY_MS) / 1000


Latency = Annotated[FixedLatency | LognormalLatency, Field(discriminator="kind")]

_RATES = ("error_rate", "hang_rate", "reset_rate", "malformed_rate", "wrong_subject_rate")
_OUTCOME_OF_RATE = {
    "error_rate": Outcome.ERROR,
    "hang_rate": Outcome.HANG,
    "reset_rate": Outcome.RESET,
    "malformed_rate": Outcome.MALFORMED,
    "wrong_subject_rate": Outcome.WRONG_SUBJECT,
}


class FaultPlan(_Frozen):
    """How one simulated department misbehaves; fractions of requests, summing to ≤ 1."""

    latency: Latency = Field(default_factory=FixedLatency)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    hang_rate: float = Field(default=0.0, ge=0, le=1)
    reset_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    wrong_subject_rate: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_everything(self) -> FaultPlan:
        if sum(getattr(self, rate) for rate in _RATES) > 1 + 1e-9:
            raise ValueError("the fault rates must sum to at most 1")
        return self

    @classmethod
    def only(cls, outcome: Outcome) -> FaultPlan:
        """Every request meets ``outcome`` (``ok``: none misbehaves), without latency."""
        if outcome is Outcome.OK:
            return cls()
        rate = next(name for name, found in _OUTCOME_OF_RATE.items() if found is outcome)
        return cls.model_validate({rate: 1.0})


@dataclass(frozen=True, slots=True)
class Draw:
    outcome: Outcome
    delay_seconds: float


class FaultDice:
    """The seeded source of every random choice a simulator makes."""

    def __init__(self, seed: int | str) -> None:
        self.random = random.Random(seed)

    def draw(self, plan: FaultPlan) -> Draw:
        roll, latency = self.random.random(), self.random.random()
        outcome = Outcome.OK
        threshold = 0.0
        for rate in _RATES:
            threshold += getattr(plan, rate)
            if roll < threshold:
                outcome = _OUTCOME_OF_RATE[rate]
                break
        return Draw(outcome, plan.latency.seconds(latency))
