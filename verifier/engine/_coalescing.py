"""Request coalescing: concurrent identical department queries share one backend call.

Identical means same department, reference date and requests (key, fact, subjects,
parameters). The shared call runs in a task of its own, until the last of its waiters'
deadlines; each waiter stops waiting at its own deadline without cancelling the call for
the others, and the call is cancelled only when no waiter is left. Nothing is kept once the
call ends: reusing answers over time is the fact cache's business, not this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable

from verifier.adapter import DepartmentQuery
from verifier.engine._resilience_call import CallReport, CallState
from verifier.model import CallOutcome


def query_key(query: DepartmentQuery) -> Hashable:
    return (
        query.department,
        query.reference_date,
        tuple(
            (
                request.key,
                request.fact,
                tuple(sorted(request.subjects.items())),
                tuple(sorted(request.parameters.items())),
            )
            for request in query.requests
        ),
    )


class _Flight:
    __slots__ = ("state", "task", "waiters")

    def __init__(self, state: CallState, task: asyncio.Task[CallReport]) -> None:
        self.state = state
        self.task = task
        self.waiters = 0


class Coalescer:
    """The calls in flight, by query."""

    __slots__ = ("_flights",)

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight] = {}

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    async def join(
        self, key: Hashable, until: float, start: Callable[[CallState], Awaitable[CallReport]]
    ) -> tuple[CallReport, bool]:
        """The shared call's report (started with ``start`` if none is in flight), and
        whether this waiter started it. ``until``: this waiter's end (``loop.time()``)."""
        flight = self._flights.get(key)
        leader = flight is None
        if flight is None:
            state = CallState(until)
            flight = _Flight(state, asyncio.ensure_future(start(state)))
            self._flights[key] = flight
            flight.task.add_done_callback(lambda _: self._forget(key, flight))
        else:
            flight.state.extend(until)
        flight.waiters += 1
        try:
            # The waiter with the latest end is answered by the call's own timeout, which
            # judges the department (a hang is a failure); earlier ones give up on their own.
            own_end = until if until < flight.state.at else None
            async with asyncio.timeout_at(own_end):
                report = await asyncio.shield(flight.task)
        except TimeoutError:
            attempts = flight.state.attempts if leader else 0
            return CallReport(CallOutcome.TIMEOUT, attempts=attempts), leader
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                flight.task.cancel()
                self._forget(key, flight)
        return report, leader

    def _forget(self, key: Hashable, flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
