"""What one guarded department call shares with whoever waits for it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from verifier.adapter import DepartmentAnswer
from verifier.model import CallOutcome


@dataclass(frozen=True, slots=True)
class CallReport:
    """How a guarded call ended, as the fan-out needs it."""

    outcome: CallOutcome
    answer: DepartmentAnswer | None = None
    attempts: int = 0
    """Backend calls made, hedges included."""
    error_type: str | None = None
    unavailable: bool = False
    """Not attempted: the circuit is open or the bulkhead is full."""


class CallState:
    """A call's end (``loop.time()``), which coalesced waiters may extend, its attempts, and
    whether it had to wait for anything (set by whoever runs the call; if it stays False,
    the next call to the department runs inline and unshared: ``_coalescing``)."""

    __slots__ = ("at", "attempts", "suspended", "timeout")

    def __init__(self, at: float) -> None:
        self.at = at
        self.attempts = 0
        self.suspended = False
        self.timeout: asyncio.Timeout | None = None

    def extend(self, at: float) -> None:
        if at <= self.at:
            return
        self.at = at
        if self.timeout is not None and not self.timeout.expired():
            self.timeout.reschedule(at)
