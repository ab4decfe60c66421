"""Coalescing's inline path: a department that answers without suspending is called in the
caller's own coroutine (no task); one that suspends is shared through a task, as before."""

from __future__ import annotations

import asyncio

from resilience_support import housing_query, policy
from support import ELIGIBLE_FACTS

from verifier import DepartmentUnavailable
from verifier.adapter import DepartmentAnswer, DepartmentQuery, MockAdapter
from verifier.engine._resilience import Resilience
from verifier.model import CallOutcome


class Recording(MockAdapter):
    """Housing, remembering the task each call ran in."""

    def __init__(self) -> None:
        super().__init__("housing", values=ELIGIBLE_FACTS["housing"])
        self.tasks: list[asyncio.Task[object] | None] = []
        self.failures = 0
        """The next calls that fail (retryably) before answering."""

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        self.tasks.append(asyncio.current_task())
        if self.failures:
            self.failures -= 1
            self.queries.append(query)
            raise DepartmentUnavailable("blip")
        return await super().fetch(query)


def resilience(**settings: object) -> Resilience:
    return Resilience(policy(**settings), ["housing"])


async def call(guarded: Resilience, adapter: MockAdapter, timeout: float = 1.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    return await guarded.call(adapter, housing_query(), deadline)


async def test_a_department_answering_without_suspending_is_called_inline() -> None:
    guarded, adapter = resilience(), Recording()
    ours = asyncio.current_task()
    first, made_it = await call(guarded, adapter)
    assert (first.outcome, first.attempts, made_it) == (CallOutcome.OK, 1, True)
    assert adapter.tasks[0] is not ours  # not known yet: a shared call, in a task
    assert guarded.guards["housing"].inline.inline

    second, made_it = await call(guarded, adapter)
    assert (second.outcome, second.attempts, made_it) == (CallOutcome.OK, 1, True)
    assert adapter.tasks[1] is ours  # inline: in the caller's own task
    assert guarded.coalescer.in_flight == 0


async def test_calls_that_never_overlap_are_not_shared() -> None:
    guarded, adapter = resilience(), Recording()
    await call(guarded, adapter)
    results = await asyncio.gather(*(call(guarded, adapter) for _ in range(3)))
    # Each answered before the next started: three calls, each the maker of its own.
    assert adapter.calls == 4
    assert [made_it for _, made_it in results] == [True, True, True]


async def test_an_inline_department_that_starts_suspending_is_shared_again() -> None:
    guarded, adapter = resilience(), Recording()
    await call(guarded, adapter)
    assert guarded.guards["housing"].inline.inline
    adapter.delay = 0.05
    results = await asyncio.gather(*(call(guarded, adapter) for _ in range(5)))
    # The first ran inline (nobody can join it); the next found it in flight, learned the
    # department suspends and started a shared call the other three joined: one extra
    # backend call, every answer right.
    assert adapter.calls == 1 + 2
    assert all(report.outcome is CallOutcome.OK for report, _ in results)
    assert sum(report.attempts for report, made_it in results if made_it) == 2
    assert not guarded.guards["housing"].inline.inline

    results = await asyncio.gather(*(call(guarded, adapter) for _ in range(5)))
    assert adapter.calls == 3 + 1  # shared as before
    assert [made_it for _, made_it in results].count(True) == 1
    assert guarded.coalescer.in_flight == 0


async def test_an_inline_call_that_hangs_is_judged_at_its_deadline() -> None:
    guarded, adapter = resilience(breaker={"failure_threshold": 1}), Recording()
    await call(guarded, adapter)
    adapter.hang = True
    report, made_it = await call(guarded, adapter, timeout=0.05)
    assert (report.outcome, report.attempts, made_it) == (CallOutcome.TIMEOUT, 1, True)
    assert adapter.cancelled == 1
    assert guarded.breaker_states() == {"housing": "open"}  # a hang is a failure
    assert guarded.coalescer.in_flight == 0


async def test_an_inline_caller_cancelled_cancels_its_call() -> None:
    guarded, adapter = resilience(), Recording()
    await call(guarded, adapter)
    adapter.hang = True
    caller = asyncio.ensure_future(call(guarded, adapter))
    while adapter.calls < 2:  # noqa: ASYNC110 - nothing to wait on but the counter
        await asyncio.sleep(0.001)
    caller.cancel()
    await asyncio.gather(caller, return_exceptions=True)
    assert caller.cancelled()
    assert adapter.cancelled == 1
    assert guarded.breaker_states() == {"housing": "closed"}  # no verdict on the department
    assert guarded.coalescer.in_flight == 0


async def test_a_first_failure_retried_after_an_inline_start_still_answers() -> None:
    guarded, adapter = resilience(retry={"max_attempts": 3}), Recording()
    await call(guarded, adapter)  # now inline
    adapter.failures = 1
    report, _ = await call(guarded, adapter)
    # The failure is answered without suspending, the back-off suspends: the retry runs
    # under the call's deadline, in the caller's task, and answers.
    assert (report.outcome, report.attempts) == (CallOutcome.OK, 2)
    assert adapter.tasks[-1] is asyncio.current_task()
    assert not guarded.guards["housing"].inline.inline  # it had to wait (the back-off)
