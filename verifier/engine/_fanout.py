"""Call every planned department concurrently, within one deadline, leaving nothing running.

A department that raises, answers late or never answers costs its own facts (they become
UNKNOWN with a reason), never the request: nothing here raises out to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from verifier._errors import DepartmentError
from verifier.adapter import DepartmentAdapter, DepartmentAnswer
from verifier.engine._planner import DepartmentPlan
from verifier.model import CallOutcome

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
    attempts: int = 1


async def call_departments(
    plans: Sequence[DepartmentPlan],
    adapters: Mapping[str, DepartmentAdapter],
    deadline: float,
) -> list[DepartmentOutcome]:
    """Run one call per department; ``deadline`` is an absolute ``loop.time()``."""
    loop = asyncio.get_running_loop()
    outcomes: dict[int, DepartmentOutcome] = {}
    tasks: dict[asyncio.Task[DepartmentOutcome], int] = {}
    started = time.perf_counter()
    for index, plan in enumerate(plans):
        adapter = adapters.get(plan.department)
        if adapter is None:
            outcomes[index] = DepartmentOutcome(plan, CallOutcome.NO_ADAPTER, 0.0, attempts=0)
        else:
            tasks[asyncio.ensure_future(_call(adapter, plan))] = index
    if tasks:
        try:
            done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
        except asyncio.CancelledError:
            # The caller gave up (e.g. its RPC was cancelled): leave nothing running.
            await _cancel(set(tasks))
            raise
        for task in done:
            outcomes[tasks[task]] = task.result()
        if pending:
            elapsed_ms = (time.perf_counter() - started) * 1000
            await _cancel(pending)
            for task in pending:
                plan = plans[tasks[task]]
                outcomes[tasks[task]] = DepartmentOutcome(plan, CallOutcome.TIMEOUT, elapsed_ms)
    return [outcomes[index] for index in range(len(plans))]


async def _call(adapter: DepartmentAdapter, plan: DepartmentPlan) -> DepartmentOutcome:
    started = time.perf_counter()
    try:
        answer = await adapter.fetch(plan.query)
    except DepartmentError as exc:
        outcome = CallOutcome.ERROR
        # The adapter's message is ours to log: adapters keep record values out of it.
        logger.warning("department %s failed: %s", plan.department, exc)
        answer = None
    except Exception as exc:  # an adapter bug must cost its facts, not the request
        outcome = CallOutcome.ERROR
        # Only the type: a foreign exception's text may carry record values.
        logger.error("department %s raised %s", plan.department, type(exc).__name__)
        answer = None
    else:
        outcome = CallOutcome.OK
    duration_ms = (time.perf_counter() - started) * 1000
    return DepartmentOutcome(plan, outcome, duration_ms, answer)


async def _cancel(pending: set[asyncio.Task[DepartmentOutcome]]) -> None:
    for task in pending:
        task.cancel()
    _, stuck = await asyncio.wait(pending, timeout=CANCEL_GRACE_SECONDS)
    for task in stuck:
        logger.error("department call ignored cancellation: %s", task.get_name())
