"""The resilience pipeline around each department call, in the order docs/architecture.md gives
("The flow of a verification", step 7):

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
import contextlib
import functools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Iterator
from typing import Any, Generic, TypeVar, cast

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from verifier._errors import DepartmentAnswerInvalid, DepartmentError
from verifier.adapter import DepartmentAdapter, DepartmentAnswer, DepartmentQuery
from verifier.engine._breaker import GAUGE_VALUE, BreakerState, CircuitBreaker
from verifier.engine._bulkhead import Bulkhead, BulkheadFull
from verifier.engine._coalescing import Coalescer, InlineHint, query_key
from verifier.engine._hedging import LatencyTracker, hedge_delay, hedged
from verifier.engine._resilience_call import CallReport, CallState
from verifier.engine._resilience_policy import DepartmentPolicy, ResiliencePolicy
from verifier.engine._retry import Fetch, RetryBudget, with_retries
from verifier.engine._telemetry import INSTRUMENTATION_NAME
from verifier.model import CallOutcome

logger = logging.getLogger("verifier.engine")

T = TypeVar("T")

BreakerWatcher = Callable[[str, str], object]
"""Told ``(department, state)`` on each breaker transition; see ``Resilience.watch_breakers``."""

CIRCUIT_OPEN = "CircuitOpen"
BULKHEAD_FULL = "BulkheadFull"
"""``error.type`` of calls not attempted (the engine's own names, not exception types)."""


class DepartmentGuard:
    """One department's breaker, bulkhead, retry budget and latency record."""

    def __init__(
        self,
        department: str,
        policy: DepartmentPolicy,
        clock: Callable[[], float],
        on_breaker_change: Callable[[BreakerState], object] | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.department = department
        self.policy = policy
        self._timer = timer
        self.breaker = CircuitBreaker(policy.breaker, clock, on_breaker_change)
        self.bulkhead = Bulkhead(policy.bulkhead)
        self.budget = RetryBudget(policy.retry, clock)
        self.latency = LatencyTracker()
        self.inline = InlineHint()

    async def run(
        self, adapter: DepartmentAdapter, query: DepartmentQuery, state: CallState
    ) -> CallReport:
        trial = self.breaker.admit()
        if trial is None:
            return CallReport(CallOutcome.ERROR, error_type=CIRCUIT_OPEN, unavailable=True)
        # The work is stepped once by hand: an answer that comes without suspending (an
        # in-process department) needs no timer; one that suspends continues under the
        # call's timeout, in this same task, exactly as if it had been awaited.
        work = self._work(adapter, query, state)
        timeout: asyncio.Timeout | None = None
        try:
            try:
                awaited = work.send(None)
            except StopIteration as done:
                answer: DepartmentAnswer = done.value
            else:
                state.suspended = True
                timeout = asyncio.timeout_at(state.at)
                async with timeout:
                    state.timeout = timeout
                    answer = await _Resumed(work, awaited)
        except BulkheadFull:
            self.breaker.abandoned(trial)
            return CallReport(CallOutcome.ERROR, error_type=BULKHEAD_FULL, unavailable=True)
        except TimeoutError as exc:
            if timeout is None or not timeout.expired():
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
            # Whether the department answers in process: the fan-out awaits such calls
            # in the verification's own task, and coalescing runs them inline.
            self.inline.inline = not state.suspended
        self.breaker.succeeded(trial)
        return CallReport(CallOutcome.OK, answer, state.attempts)

    async def _work(
        self, adapter: DepartmentAdapter, query: DepartmentQuery, state: CallState
    ) -> DepartmentAnswer:
        """The call once admitted: a bulkhead slot, then the attempts."""
        await self.bulkhead.acquire()
        try:
            return await with_retries(
                self._attempts(adapter, query, state),
                self.policy.retry,
                self.budget,
                lambda: state.at,
            )
        finally:
            self.bulkhead.release()

    def _attempts(
        self, adapter: DepartmentAdapter, query: DepartmentQuery, state: CallState
    ) -> Fetch:
        """One attempt (hedged if the policy says so), counting backend calls in ``state``."""
        hedging = self.policy.hedging.enabled
        latency = self.latency
        timer = self._timer

        async def attempt() -> DepartmentAnswer:
            state.attempts += 1
            if not hedging:
                return await adapter.fetch(query)
            started = timer()
            answer = await adapter.fetch(query)
            latency.observe(timer() - started)
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
        timer: Callable[[], float] = time.perf_counter,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """``clock``: the breakers' and retry budgets' time; ``timer``: what attempt
        durations (the hedging p95) are measured with. Both injectable for tests."""
        self.policy = policy
        self._watchers: list[BreakerWatcher] = []
        self.guards = {
            department: DepartmentGuard(
                department,
                policy.for_department(department),
                clock,
                functools.partial(self._breaker_changed, department),
                timer,
            )
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

    def watch_breakers(self, watcher: BreakerWatcher) -> Callable[[], None]:
        """Call ``watcher(department, state)`` (``closed`` / ``open`` / ``half_open``) on
        every breaker transition, until the returned function is called. It is called where
        the transition happens: usually the event loop, but a metrics reader's thread may
        be the one to notice an open circuit's time is up.

        Once a circuit opens, it is read again after ``open_seconds`` (on the running loop),
        so that watchers hear of half-open on time even with no traffic to notice it."""
        self._watchers.append(watcher)

        def unwatch() -> None:
            with contextlib.suppress(ValueError):
                self._watchers.remove(watcher)

        return unwatch

    def _breaker_changed(self, department: str, state: BreakerState) -> None:
        for watcher in tuple(self._watchers):
            try:
                watcher(department, state.value)
            except Exception:  # a watcher's bug must not fail the department call
                logger.exception("breaker watcher failed")
        if state is not BreakerState.OPEN or not self._watchers:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on a loop: the next read will notice
            return
        breaker = self.guards[department].breaker
        loop.call_later(self.guards[department].policy.breaker.open_seconds, lambda: breaker.state)

    def answers_inline(self, department: str) -> bool:
        """Whether the department's last call answered without suspending."""
        guard = self.guards.get(department)
        return guard is not None and guard.inline.inline

    async def call(
        self,
        adapter: DepartmentAdapter,
        query: DepartmentQuery,
        deadline: float,
        seen: Callable[[CallState], None] | None = None,
    ) -> tuple[CallReport, bool]:
        """One department call under the pipeline; ``deadline`` is the request's department
        deadline (``loop.time()``). Also says whether this caller made the backend call
        (False: it shared another's). ``seen`` is given the state that counts this caller's
        backend calls, if it makes them (for the record of a cancelled verification)."""
        guard = self.guards[query.department]
        end = deadline - guard.policy.deadline_margin_ms / 1000

        def run(state: CallState) -> Awaitable[CallReport]:
            if seen is not None:
                seen(state)
            return guard.run(adapter, query, state)

        if not guard.policy.coalescing:
            return await run(CallState(end)), True
        return await self.coalescer.join(query_key(query), end, run, guard.inline)


class _Resumed(Generic[T]):
    """Awaits a coroutine already stepped once by hand (it is waiting on ``awaited``) as
    ``await`` would have: what it yields goes to the task, what the task sends or throws
    (a cancellation) goes back to it."""

    __slots__ = ("_awaited", "_coro")

    def __init__(self, coro: Coroutine[Any, Any, T], awaited: object) -> None:
        self._coro = coro
        self._awaited = awaited

    def __await__(self) -> Generator[Any, None, T]:
        coro, awaited = self._coro, self._awaited
        while True:
            thrown: BaseException | None = None
            try:
                yield awaited
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # what the awaited future raised (a cancellation)
                thrown = exc
            try:
                awaited = coro.send(None) if thrown is None else coro.throw(thrown)
            except StopIteration as done:
                return cast(T, done.value)
            finally:
                del thrown  # no reference cycle through the traceback


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
