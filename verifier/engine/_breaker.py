"""A circuit breaker per department: closed → open → half-open → closed (or open again).

    CLOSED     calls pass; ``failure_threshold`` consecutive failures open the circuit
    OPEN       calls fail at once (no backend call) until ``open_seconds`` have passed
    HALF_OPEN  up to ``half_open_trials`` calls pass as trials; a trial that succeeds closes
               the circuit, one that fails opens it again; other calls fail at once

Consecutive failures rather than a failure-rate window: a department's traffic varies from
a trickle at night to admission-week peaks, and a rate needs a minimum volume to mean
anything, while "five calls in a row failed, each after its retries" is unambiguous at any
volume and gives exact, testable transitions. A failure is a call that ended unavailable
(a retryable error after its retries, or out of time); an answer we reject (malformed,
about someone else) still shows the department is up, so it counts as a success here.

The clock is injectable (``time.monotonic`` by default) so tests step time by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from verifier.engine._resilience_policy import BreakerPolicy


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


GAUGE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
"""``verifier.breaker.state``'s value for each state."""


class CircuitBreaker:
    """Ask ``admit()`` before a call; report its end with ``succeeded``, ``failed`` or
    ``abandoned`` (no verdict: the caller went away), passing what ``admit`` returned."""

    __slots__ = (
        "_clock",
        "_failures",
        "_opened_at",
        "_policy",
        "_state",
        "_trials",
        "on_change",
    )

    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], object] | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trials = 0
        self.on_change = on_change
        """Called with the new state on every transition. Open → half-open happens when the
        state is next read after ``open_seconds``, whoever reads it."""

    @property
    def state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self._policy.open_seconds
        ):
            self._trials = 0
            self._become(BreakerState.HALF_OPEN)
        return self._state

    def admit(self) -> bool | None:
        """``None``: refused (fail fast). Otherwise whether the call is a half-open trial."""
        if not self._policy.enabled:
            return False
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and self._trials < self._policy.half_open_trials:
            self._trials += 1
            return True
        return None

    def succeeded(self, trial: bool) -> None:
        # A late answer to a call admitted before the circuit opened proves little: only
        # a trial closes it.
        if trial and self._state is BreakerState.HALF_OPEN:
            self._become(BreakerState.CLOSED)
        if self._state is BreakerState.CLOSED:
            self._failures = 0

    def failed(self, trial: bool) -> None:
        if not self._policy.enabled:
            return
        if trial:
            if self._state is BreakerState.HALF_OPEN:
                self._open()
            return
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self._policy.failure_threshold:
                self._open()

    def abandoned(self, trial: bool) -> None:
        """The call ended without a verdict: a trial's slot is given back."""
        if trial and self._state is BreakerState.HALF_OPEN:
            self._trials -= 1

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._become(BreakerState.OPEN)

    def _become(self, state: BreakerState) -> None:
        self._state = state
        if self.on_change is not None:
            self.on_change(state)
