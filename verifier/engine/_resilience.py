"""The resilience pipeline around each department call, in the order DESIGN.md gives:

    coalescing → circuit breaker → bulkhead → retry / hedge (each attempt under the
    call's remaining budget) → adapter.fetch

- coalescing (``_coalescing``): identical concurrent queries share one backend call;
- breaker (``_breaker``): an open circuit answers at once, 0 attempts, facts UNKNOWN
  (``DEPARTMENT_UNAVAILABLE``);
- bulkhead (``_bulkhead``): at most ``max_concurrent`` calls in flight per department;
- retry (``_retry``, tenacity) of retryable errors within attempts, deadline and budget,
  each attempt optionally hedged (``_hedging``).

The whole call runs under the request's department deadline minus ``deadline_margin_ms``,
so a call cut short is judged (a TIMEOUT the breaker counts) before the fan-out's own
deadline would have to cancel it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Iterator

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from verifier._errors import DepartmentAnswerInvalid, DepartmentError
from verifier.adapter import DepartmentAdapter, DepartmentAnswer, DepartmentQuery
from verifier.engine._breaker import GAUGE_VALUE, CircuitBreaker
from verifier.engine._bulkhead import Bulkhead, BulkheadFull
from verifier.engine._coalescing import Coalescer, query_key
from verifier.engine._hedging import LatencyTracker, hedge_delay, hedged
from verifier.engine._resilience_call import CallReport, CallState
from verifier.engine._resilience_policy import DepartmentPolicy, ResiliencePolicy
from verifier.engine._retry import Fetch, RetryBudget, with_retries
from verifier.engine._telemetry import INSTRUMENTATION_NAME
from verifier.model import CallOutcome

logger = logging.getLogger("verifier.engine")

CIRCUIT_OPEN = "CircuitOpen"
BULKHEAD_FULL = "BulkheadFull"
"""``error.type`` of calls not attempted (the engine's own names, not exception types)."""


class DepartmentGuard:
    """One department's breaker, bulkhead, retry budget and latency record."""

    def __init__(
        self, department: str, policy: DepartmentPolicy, clock: Callable[[], float]
    ) -> None:
        self.department = department
        self.policy = policy
        self.breaker = CircuitBreaker(policy.breaker, clock)
        self.bulkhead = Bulkhead(policy.bulkhead)
        self.budget = RetryBudget(policy.retry, clock)
        self.latency = LatencyTracker()

    async def run(
        self, adapter: DepartmentAdapter, query: DepartmentQuery, state: CallState
    ) -> CallReport:
        trial = self.breaker.admit()
        if trial is None:
            return CallReport(CallOutcome.ERROR, error_type=CIRCUIT_OPEN, unavailable=True)
        timeout = asyncio.timeout_at(state.at)
        acquired = False
        try:
            async with timeout:
                state.timeout = timeout
                await self.bulkhead.acquire()
                acquired = True
                answer = await with_retries(
                    self._attempts(adapter, query, state),
                    self.policy.retry,
                    self.budget,
                    lambda: state.at,
                )
        except BulkheadFull:
            self.breaker.abandoned(trial)
            return CallReport(CallOutcome.ERROR, error_type=BULKHEAD_FULL, unavailable=True)
        except TimeoutError as exc:
            if not timeout.expired():
                return self._raised(exc, trial, state)
            # Out of time: a failure if the department was asked, else no verdict on it.
            (self.breaker.failed if state.attempts else self.breaker.abandoned)(trial)
            return CallReport(CallOutcome.TIMEOUT, attempts=state.attempts)
        except DepartmentError as exc:
            # A rejected answer (not retryable) shows the department is up.
            (self.breaker.failed if exc.retryable else self.breaker.succeeded)(trial)
            # The adapter's message is ours to log: adapters keep record values out of it.
            logger.warning("department %s failed: %s", self.department, exc)
            # A malformed answer, or one about someone else, is the department's invalid
            # answer (INVALID_ANSWER), not its failure.
            outcome = (
                CallOutcome.INVALID_ANSWER
                if isinstance(exc, DepartmentAnswerInvalid)
                else CallOutcome.ERROR
            )
            return CallReport(outcome, None, state.attempts, type(exc).__name__)
        except asyncio.CancelledError:
            self.breaker.abandoned(trial)
            raise
        except Exception as exc:  # an adapter bug must cost its facts, not the request
            return self._raised(exc, trial, state)
        finally:
            state.timeout = None
            if acquired:
                self.bulkhead.release()
        self.breaker.succeeded(trial)
        return CallReport(CallOutcome.OK, answer, state.attempts)

    def _attempts(
        self, adapter: DepartmentAdapter, query: DepartmentQuery, state: CallState
    ) -> Fetch:
        """One attempt (hedged if the policy says so), counting backend calls in ``state``."""
        hedging = self.policy.hedging.enabled
        latency = self.latency

        async def attempt() -> DepartmentAnswer:
            state.attempts += 1
            if not hedging:
                return await adapter.fetch(query)
            started = time.perf_counter()
            answer = await adapter.fetch(query)
            latency.observe(time.perf_counter() - started)
            return answer

        delay = hedge_delay(self.policy.hedging, latency)
        if delay is None:
            return attempt
        budget = self.budget
        return lambda: hedged(attempt, delay, budget)

    def _raised(self, exc: BaseException, trial: bool, state: CallState) -> CallReport:
        self.breaker.abandoned(trial)
        # Only the type: a foreign exception's text may carry record values.
        logger.error("department %s raised %s", self.department, type(exc).__name__)
        return CallReport(CallOutcome.ERROR, None, state.attempts, type(exc).__name__)


class Resilience:
    """The guards of every department, and the calls in flight (for coalescing)."""

    def __init__(
        self,
        policy: ResiliencePolicy,
        departments: Iterable[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.policy = policy
        self.guards = {
            department: DepartmentGuard(department, policy.for_department(department), clock)
            for department in departments
        }
        self.coalescer = Coalescer()
        meter = metrics.get_meter(INSTRUMENTATION_NAME, meter_provider=meter_provider)
        meter.create_observable_gauge(
            "verifier.breaker.state",
            callbacks=[_breaker_gauge(weakref.ref(self))],
            unit="1",
            description="Circuit breaker state per department: 0 closed, 1 half-open, 2 open",
        )

    def breaker_states(self) -> dict[str, str]:
        """Department → ``closed`` / ``open`` / ``half_open``."""
        return {name: guard.breaker.state.value for name, guard in self.guards.items()}

    async def call(
        self, adapter: DepartmentAdapter, query: DepartmentQuery, deadline: float
    ) -> tuple[CallReport, bool]:
        """One department call under the pipeline; ``deadline`` is the request's department
        deadline (``loop.time()``). Also says whether this caller made the backend call
        (False: it shared another's)."""
        guard = self.guards[query.department]
        end = deadline - guard.policy.deadline_margin_ms / 1000
        if not guard.policy.coalescing:
            return await guard.run(adapter, query, CallState(end)), True
        return await self.coalescer.join(
            query_key(query), end, lambda state: guard.run(adapter, query, state)
        )


def _breaker_gauge(
    resilience: weakref.ref[Resilience],
) -> Callable[[CallbackOptions], Iterator[Observation]]:
    # A weak reference: the meter must not keep a closed Verifier alive.
    def observe(options: CallbackOptions) -> Iterator[Observation]:
        found = resilience()
        if found is None:
            return
        for department, guard in found.guards.items():
            yield Observation(GAUGE_VALUE[guard.breaker.state], {"verifier.department": department})

    return observe
