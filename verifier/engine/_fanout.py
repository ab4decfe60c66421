"""Call every planned department concurrently, within one deadline, leaving nothing running.

A department that raises, answers late or never answers costs its own facts (they become
UNKNOWN with a reason), never the request: nothing here raises out to the caller.

Each call goes through the resilience pipeline (coalescing, breaker, bulkhead, retries,
hedging: ``verifier.engine._resilience``) under the deadline minus a margin — with
resilience off too, as a disabled policy (``ResiliencePolicy.disabled``), so that a call is
judged one way whatever the configuration. The fan-out's own deadline stays the backstop.

If the verification is cancelled meanwhile (its caller gave up, or its deadline ended the
RPC), the calls are cancelled and the cancellation goes on; the ``CallLedger`` passed in
says how far each call got (answered, or CANCELLED after so many backend calls), so the
engine can record the reads the cancelled verification caused.

Each call goes through the ``department`` stage (``verifier.engine._interceptors``), so that
what plugs in there — the ``department`` span, made current for a backend that speaks HTTP
— sees every call; the fan-out itself knows nothing of telemetry.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from verifier.adapter import DepartmentAdapter, DepartmentAnswer
from verifier.engine._planner import DepartmentPlan
from verifier.engine._resilience import Resilience
from verifier.engine._resilience_call import CallState
from verifier.model import CallOutcome, UnknownReason
from verifier.model._plain import PlainCall, PlainFact

logger = logging.getLogger("verifier.engine")

# How long cancelled department calls get to unwind. An adapter that swallows
# cancellation cannot hold the answer hostage beyond this.
CANCEL_GRACE_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class DepartmentOutcome:
    plan: DepartmentPlan
    outcome: CallOutcome
    duration_ms: float
    answer: DepartmentAnswer | None = None
    unknown_reason: UnknownReason | None = None
    """Why the facts are UNKNOWN when no answer came, if the call outcome alone does not say
    (a call not attempted because the circuit is open or the bulkhead full)."""
    attempts: int = 1
    """Backend calls this verification made (hedges included; 0 when it shared another
    verification's call or made none)."""
    error_type: str | None = None
    """The type name of what the adapter raised, if it raised (never the message)."""
    ended_ns: int | None = None
    """When the call ended (``time.time_ns``)."""
    facts: tuple[PlainFact, ...] | None = None
    """The call's facts as judged (``verifier.engine._facts.judged``), and ``outcome``
    then the call's outcome as judged (a malformed answer fails it); None until judged."""

    def call(self) -> PlainCall:
        """The call as the result and the audit record show it."""
        facts = tuple(fact.name for fact in self.plan.facts)
        return PlainCall(
            self.plan.department, self.outcome, round(self.duration_ms, 3), facts, self.attempts
        )


class CallLedger:
    """How far one verification's department calls got, for the audit record of a
    verification cancelled after departments were asked."""

    def __init__(self) -> None:
        self.asked = False
        """Whether any department call was started."""
        self.plans: Sequence[DepartmentPlan] = ()
        self.outcomes: dict[int, DepartmentOutcome] = {}
        """The calls that ended, by their plan's index."""
        self._states: dict[int, CallState] = {}
        self._started = time.perf_counter()

    def calls(self) -> tuple[PlainCall, ...]:
        """Every planned call: how it ended if it did, else CANCELLED with the backend
        calls it had made."""
        elapsed_ms = round((time.perf_counter() - self._started) * 1000, 3)
        calls = []
        for index, plan in enumerate(self.plans):
            facts = tuple(fact.name for fact in plan.facts)
            outcome = self.outcomes.get(index)
            if outcome is None:
                state = self._states.get(index)
                attempts = 0 if state is None else state.attempts
                call = PlainCall(
                    plan.department, CallOutcome.CANCELLED, elapsed_ms, facts, attempts
                )
            else:
                call = outcome.call()
            calls.append(call)
        return tuple(calls)

    def seen(self, index: int) -> Callable[[CallState], None]:
        """What the call of plan ``index`` is given to show the state counting its backend
        calls."""
        return functools.partial(self._states.__setitem__, index)


DepartmentCall = Callable[
    [DepartmentPlan, Callable[[CallState], None]], Coroutine[Any, Any, DepartmentOutcome]
]
"""One department's call through the verifier's ``department`` stage: given its plan and
what to show the pipeline's state of the call to (the ledger)."""


async def call_departments(
    plans: Sequence[DepartmentPlan],
    adapters: Mapping[str, DepartmentAdapter],
    deadline: float,
    call: DepartmentCall,
    answers_inline: Callable[[str], bool],
    ledger: CallLedger | None = None,
) -> list[DepartmentOutcome]:
    """Run one call per department; ``deadline`` is an absolute ``loop.time()``.
    ``answers_inline(department)``: whether its last call answered without suspending
    (``Resilience.answers_inline``)."""
    loop = asyncio.get_running_loop()
    ledger = ledger or CallLedger()
    ledger.plans = plans
    outcomes = ledger.outcomes
    tasks: dict[asyncio.Task[DepartmentOutcome], int] = {}
    inline: list[tuple[int, Coroutine[Any, Any, DepartmentOutcome]]] = []
    started = time.perf_counter()
    for index, plan in enumerate(plans):
        if plan.department not in adapters:
            outcomes[index] = DepartmentOutcome(plan, CallOutcome.NO_ADAPTER, 0.0, attempts=0)
            continue
        ledger.asked = True
        coroutine = call(plan, ledger.seen(index))
        if answers_inline(plan.department):
            inline.append((index, coroutine))
        else:
            tasks[asyncio.ensure_future(coroutine)] = index
    try:
        # In-process departments last answered without suspending: awaited here, in this
        # task, once the others are on their way — no task to create, schedule and wait
        # for. One that suspends after all is still bounded by its guard's timeout (the
        # backstop below bounds the rest), and runs in a task from its next call on.
        async with asyncio.timeout_at(deadline if inline else None):
            for index, coroutine in inline:
                outcomes[index] = await coroutine
    except TimeoutError:
        ended_ns = time.time_ns()
        elapsed_ms = (time.perf_counter() - started) * 1000
        for index, coroutine in inline:
            coroutine.close()  # a no-op for those that answered
            if index not in outcomes:
                outcomes[index] = _timed_out(plans[index], elapsed_ms, ended_ns)
    except asyncio.CancelledError:
        for _, coroutine in inline:
            coroutine.close()  # those not reached yet
        await _abandon(tasks, outcomes)
        raise
    if tasks:
        try:
            done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
        except asyncio.CancelledError:
            await _abandon(tasks, outcomes)
            raise
        for task in done:
            outcomes[tasks[task]] = task.result()
        if pending:
            elapsed_ms = (time.perf_counter() - started) * 1000
            ended_ns = time.time_ns()
            await _cancel(pending)
            for task in pending:
                index = tasks[task]
                outcomes[index] = _timed_out(plans[index], elapsed_ms, ended_ns)
    return [outcomes[index] for index in range(len(plans))]


async def _abandon(
    tasks: Mapping[asyncio.Task[DepartmentOutcome], int], outcomes: dict[int, DepartmentOutcome]
) -> None:
    """The caller gave up (e.g. its RPC was cancelled): leave nothing running, keep what
    answered before the cancellation (for the ledger)."""
    await _cancel(set(tasks))
    for task, index in tasks.items():
        if task.done() and not task.cancelled():
            outcomes[index] = task.result()


async def guarded_call(
    resilience: Resilience,
    adapter: DepartmentAdapter,
    plan: DepartmentPlan,
    deadline: float,
    seen: Callable[[CallState], None],
) -> DepartmentOutcome:
    """One department's call through the resilience pipeline, not yet judged."""
    started = time.perf_counter()
    report, made_the_call = await resilience.call(adapter, plan.query, deadline, seen)
    duration_ms = (time.perf_counter() - started) * 1000
    return DepartmentOutcome(
        plan,
        report.outcome,
        duration_ms,
        report.answer,
        unknown_reason=UnknownReason.DEPARTMENT_UNAVAILABLE if report.unavailable else None,
        attempts=report.attempts if made_the_call else 0,
        error_type=report.error_type,
        ended_ns=time.time_ns(),
    )


def _timed_out(plan: DepartmentPlan, elapsed_ms: float, ended_ns: int) -> DepartmentOutcome:
    return DepartmentOutcome(plan, CallOutcome.TIMEOUT, elapsed_ms, ended_ns=ended_ns)


async def _cancel(pending: set[asyncio.Task[DepartmentOutcome]]) -> None:
    for task in pending:
        task.cancel()
    _, stuck = await asyncio.wait(pending, timeout=CANCEL_GRACE_SECONDS)
    for task in stuck:
        logger.error("department call ignored cancellation: %s", task.get_name())
