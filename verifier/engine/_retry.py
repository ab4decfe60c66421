"""Retries (tenacity) of errors the adapter marks retryable, bounded by attempts, by the
call's deadline and by a retry budget; each attempt optionally hedged.

The retry policy reads the error (``DepartmentError.retryable``), never a list of types.
The first attempt runs outside tenacity — the common case, an answer, costs nothing extra;
only its failure builds the retrying loop, which replays that failure as attempt 1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from verifier._errors import DepartmentError
from verifier.adapter import DepartmentAnswer
from verifier.engine._resilience_policy import RetryPolicy

MIN_ATTEMPT_SECONDS = 0.005
"""A retry is not started with less time than this left: it could not answer anyway."""
BUDGET_CAP_MIN = 10.0
"""The budget never holds more than this many tokens (or ``budget_min_retries`` if more),
so a long healthy spell does not bank a burst of retries for the next outage."""

Fetch = Callable[[], Awaitable[DepartmentAnswer]]


class RetryBudget:
    """Tokens for retries and hedges: each first attempt deposits ``budget_ratio``, each
    retry or hedge takes one. Besides, the balance refills by ``budget_refill_per_second``
    up to ``budget_min_retries``, so a quiet department can still retry.

    Over an outage the extra calls are therefore at most ``budget_ratio`` × calls, plus the
    starting balance and the slow refill.
    """

    __slots__ = ("_balance", "_cap", "_clock", "_policy", "_refilled_at")

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._balance = policy.budget_min_retries
        self._cap = max(policy.budget_min_retries, BUDGET_CAP_MIN)
        self._refilled_at = clock()

    @property
    def balance(self) -> float:
        return self._balance

    def deposit(self) -> None:
        self._balance = min(self._cap, self._balance + self._policy.budget_ratio)

    def withdraw(self) -> bool:
        now = self._clock()
        floor = self._policy.budget_min_retries
        if self._balance < floor:
            refill = (now - self._refilled_at) * self._policy.budget_refill_per_second
            self._balance = min(floor, self._balance + refill)
        self._refilled_at = now
        if self._balance >= 1:
            self._balance -= 1
            return True
        return False


class _StopAtDeadline(stop_base):
    """Stop when the back-off would leave too little of the call's time for an attempt."""

    def __init__(self, deadline: Callable[[], float], loop: asyncio.AbstractEventLoop) -> None:
        self._deadline = deadline
        self._loop = loop

    def __call__(self, retry_state: RetryCallState) -> bool:
        resume = self._loop.time() + retry_state.upcoming_sleep
        return resume + MIN_ATTEMPT_SECONDS >= self._deadline()


class _StopWhenBudgetSpent(stop_base):
    def __init__(self, budget: RetryBudget) -> None:
        self._budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self._budget.withdraw()


def _retryable(error: BaseException) -> bool:
    return isinstance(error, DepartmentError) and error.retryable


async def with_retries(
    attempt: Fetch, policy: RetryPolicy, budget: RetryBudget, deadline: Callable[[], float]
) -> DepartmentAnswer:
    """``attempt()``'s answer, retrying retryable errors within the policy; the last error
    is raised once no retry is allowed. ``deadline()`` is the call's end (``loop.time()``)."""
    budget.deposit()
    try:
        return await attempt()
    except DepartmentError as error:
        if not error.retryable or policy.max_attempts <= 1:
            raise
        first_failure: DepartmentError | None = error

    async def replay_then_attempt() -> DepartmentAnswer:
        nonlocal first_failure
        if first_failure is not None:
            failure, first_failure = first_failure, None
            raise failure
        return await attempt()

    retrying = AsyncRetrying(
        sleep=asyncio.sleep,
        # In this order: the budget is only spent on a retry that will really happen.
        stop=(
            stop_after_attempt(policy.max_attempts)
            | _StopAtDeadline(deadline, asyncio.get_running_loop())
            | _StopWhenBudgetSpent(budget)
        ),
        wait=wait_exponential_jitter(
            multiplier=policy.initial_backoff_ms / 1000,
            max=policy.max_backoff_ms / 1000,
            jitter=policy.jitter_ms / 1000,
        ),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    answer: DepartmentAnswer = await retrying(replay_then_attempt)
    return answer
