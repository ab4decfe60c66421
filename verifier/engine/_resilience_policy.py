"""How hard the engine tries with each department: deadlines, retries, hedging, breaker,
bulkhead — one policy for every department, with per-department overrides.

    resilience:
      deadline_margin_ms: 5
      retry: {max_attempts: 3, initial_backoff_ms: 20, max_backoff_ms: 200, jitter_ms: 20,
              budget_ratio: 0.2, budget_min_retries: 3, budget_refill_per_second: 1}
      hedging: {enabled: false, delay_ms: p95}
      breaker: {enabled: true, failure_threshold: 5, open_seconds: 5, half_open_trials: 1}
      bulkhead: {max_concurrent: 32, max_wait_ms: null}
      coalescing: true
      departments:
        tax: {hedging: {enabled: true}, bulkhead: {max_concurrent: 8}}

An override names only what differs; the rest comes from the top level. The models are
the engine's own (pydantic, frozen), so the configuration section is this class itself.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class _Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicy(_Policy):
    """Retries of errors the adapter marks retryable, with exponential back-off and jitter."""

    max_attempts: int = Field(default=3, ge=1, le=10)
    """Backend calls per department call, the first included (hedges are not counted here)."""
    initial_backoff_ms: float = Field(default=20.0, ge=0)
    max_backoff_ms: float = Field(default=200.0, ge=0)
    jitter_ms: float = Field(default=20.0, ge=0)
    """A uniform random 0…jitter_ms added to each back-off, so callers do not retry in step."""
    budget_ratio: float = Field(default=0.2, ge=0, le=1)
    """Retries and hedges allowed per first attempt: an outage adds at most this share of
    extra calls (plus the small minimum below)."""
    budget_min_retries: float = Field(default=3.0, ge=0)
    """Tokens the budget starts with and can always refill to, so a quiet department can
    still retry."""
    budget_refill_per_second: float = Field(default=1.0, ge=0)
    """Tokens regained per second up to ``budget_min_retries`` whatever the traffic."""


class HedgingPolicy(_Policy):
    """A second read of a slow department, raced against the first; the first answer wins."""

    enabled: bool = False
    delay_ms: float | Literal["p95"] = "p95"
    """How long the first attempt may run before the hedge starts: a number, or ``p95``: the
    department's observed 95th percentile (no hedge until ``min_samples`` are observed)."""
    min_samples: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _positive_delay(self) -> HedgingPolicy:
        if isinstance(self.delay_ms, float) and self.delay_ms <= 0:
            raise ValueError("delay_ms must be positive (or 'p95')")
        return self


class BreakerPolicy(_Policy):
    """Consecutive failed calls open the circuit; after ``open_seconds`` trial calls probe it."""

    enabled: bool = True
    failure_threshold: int = Field(default=5, ge=1)
    open_seconds: float = Field(default=5.0, gt=0)
    half_open_trials: int = Field(default=1, ge=1)


class BulkheadPolicy(_Policy):
    """At most ``max_concurrent`` calls in flight to the department; the rest wait."""

    max_concurrent: int | None = Field(default=32, ge=1)
    """``null``: no limit (the disabled policy's)."""
    max_wait_ms: float | None = Field(default=None, ge=0)
    """How long an excess call waits for a slot: ``null`` (default) for as long as its
    deadline allows, ``0`` to fail fast."""


class DepartmentPolicy(_Policy):
    """Everything the engine does around one department's calls."""

    deadline_margin_ms: float = Field(default=5.0, ge=0)
    """Kept back from the request's deadline so a cut-short call is still judged in time."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    hedging: HedgingPolicy = Field(default_factory=HedgingPolicy)
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)
    bulkhead: BulkheadPolicy = Field(default_factory=BulkheadPolicy)
    coalescing: bool = True
    """Identical concurrent queries share one backend call."""


class ResiliencePolicy(DepartmentPolicy):
    """The top-level policy, with partial per-department overrides under ``departments``."""

    departments: dict[str, dict[str, Any]] = Field(default_factory=dict)
    _resolved: dict[str, DepartmentPolicy] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _resolve_overrides(self) -> ResiliencePolicy:
        # Only the per-department fields: a subclass (the configuration section) may add more.
        base = self.model_dump(include=set(DepartmentPolicy.model_fields))
        for name, override in self.departments.items():
            self._resolved[name] = DepartmentPolicy.model_validate(_merged(base, override))
        return self

    @classmethod
    def disabled(cls) -> ResiliencePolicy:
        """Resilience off: each department asked once — no retries, hedges, breaker,
        concurrency limit or coalescing, no margin before the request's deadline. The
        engine runs it through the same pipeline, so a call is judged alike either way."""
        return cls(
            deadline_margin_ms=0,
            retry=RetryPolicy(max_attempts=1),
            hedging=HedgingPolicy(enabled=False),
            breaker=BreakerPolicy(enabled=False),
            bulkhead=BulkheadPolicy(max_concurrent=None),
            coalescing=False,
        )

    def for_department(self, department: str) -> DepartmentPolicy:
        found = self._resolved.get(department)
        return found if found is not None else self


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged
