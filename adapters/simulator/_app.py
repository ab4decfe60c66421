"""One simulated department: the HTTP wire contract, answered by the real SQL adapter.

Routes (``aiohttp.web``):

- ``POST /v1/departments/{department}/facts``: the contract of ``adapters.http._wire``; the
  answer is what the department's own adapter derives from the demo city's SQLite file,
  then bent by the fault plan;
- ``GET /v1/stats``: requests served per outcome, connections seen, handlers in flight;
- ``GET /v1/faults`` / ``POST /v1/faults``: read or replace the fault plan while running.

Run it under a runner made with ``handler_cancellation=True`` (``run_simulators`` does):
then a client that gives up on a hanging request cancels its handler.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from adapters.demo_city import load_samples
from adapters.http import FactsRequest, answer_body, query_from_request
from adapters.http._wire import WIRE_VERSION
from adapters.simulator._faults import FaultDice, FaultPlan, Outcome
from verifier._errors import ConfigurationError, DepartmentAnswerInvalid, DepartmentError
from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest

JSON = "application/json"
FALLBACK_DECOY_ID = "110101199001019503"
"""Swapped in by ``wrong_subject`` when the city has no samples.json to take a real ID from."""


@dataclass(slots=True)
class SimulatorStats:
    """What a simulator has served; ``GET /v1/stats`` shows the same."""

    outcomes: Counter[str] = field(default_factory=Counter)
    """Per drawn outcome, plus ``rejected`` (a bad request) and ``failed`` (the adapter)."""
    peers: set[tuple[Any, ...]] = field(default_factory=set)
    """Client (host, port) pairs seen: with keep-alive, one per pooled connection."""
    in_flight: int = 0
    cancelled: int = 0
    """Handlers cancelled because the client went away (hangs, mostly)."""

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "outcomes": {str(name): count for name, count in sorted(self.outcomes.items())},
            "connections": len(self.peers),
            "in_flight": self.in_flight,
            "cancelled": self.cancelled,
        }


class DepartmentSimulator:
    """The state behind one simulated department: its adapter, plan, dice and counters."""

    def __init__(
        self,
        department: str,
        adapter: DepartmentAdapter,
        faults: FaultPlan,
        *,
        seed: int,
        decoy_ids: Sequence[str] = (),
    ) -> None:
        self.department = department
        self.adapter = adapter
        self.faults = faults
        self.stats = SimulatorStats()
        # Per department, so departments run with one seed do not fail in lockstep.
        self.dice = FaultDice(f"{seed}:{department}")
        self._decoys = tuple(sorted(set(decoy_ids))) or (FALLBACK_DECOY_ID,)
        self._stopping = asyncio.Event()

    async def facts(self, request: web.Request) -> web.StreamResponse:
        self.stats.peers.add(_peer(request))
        if request.match_info["department"] != self.department:
            return self._refused(404, "unknown_department")
        try:
            body = FactsRequest.model_validate_json(await request.read())
        except ValidationError:
            return self._refused(400, "invalid_request")
        query = query_from_request(self.department, body)
        draw = self.dice.draw(self.faults)
        self.stats.in_flight += 1
        try:
            if draw.outcome is Outcome.HANG:
                self.stats.outcomes[draw.outcome] += 1
                return await self._hang()
            await asyncio.sleep(draw.delay_seconds)
            return await self._answer(request, query, draw.outcome)
        except asyncio.CancelledError:
            self.stats.cancelled += 1
            raise
        finally:
            self.stats.in_flight -= 1

    async def stats_view(self, request: web.Request) -> web.Response:
        return web.json_response({"department": self.department, **self.stats.as_json()})

    async def faults_view(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                self.faults = FaultPlan.model_validate_json(await request.read())
            except ValidationError:
                return self._refused(400, "invalid_fault_plan", count=False)
        return web.Response(body=self.faults.model_dump_json(), content_type=JSON)

    async def stop(self, app: web.Application) -> None:
        """Release hanging handlers: the simulator is shutting down."""
        self._stopping.set()

    async def close(self, app: web.Application) -> None:
        await self.adapter.aclose()

    async def _answer(
        self, request: web.Request, query: DepartmentQuery, outcome: Outcome
    ) -> web.StreamResponse:
        if outcome is Outcome.ERROR:
            self.stats.outcomes[outcome] += 1
            return _error(503, "simulated_unavailable")
        if outcome is Outcome.WRONG_SUBJECT:
            query = self._about_someone_else(query)
        try:
            answer = await self.adapter.fetch(query)
        except DepartmentError as failure:
            self.stats.outcomes["failed" if failure.retryable else "rejected"] += 1
            return _error(*_status_of(failure))
        self.stats.outcomes[outcome] += 1
        content = answer_body(self.department, query, answer).model_dump_json().encode()
        if outcome is Outcome.RESET:
            return await _reset_mid_body(request, content)
        if outcome is Outcome.MALFORMED:
            content = content[: len(content) // 2]
        return web.Response(body=content, content_type=JSON)

    async def _hang(self) -> web.StreamResponse:
        await self._stopping.wait()
        return _error(503, "simulator_stopping")

    def _about_someone_else(self, query: DepartmentQuery) -> DepartmentQuery:
        asked = sorted(query.subject_ids())
        candidates = [decoy for decoy in self._decoys if decoy not in asked] or [FALLBACK_DECOY_ID]
        decoy = self.dice.random.choice(candidates)
        if not asked:
            return query
        victim = self.dice.random.choice(asked)
        requests = tuple(
            FactRequest(
                r.key,
                r.fact,
                {slot: decoy if sid == victim else sid for slot, sid in r.subjects.items()},
                r.parameters,
            )
            for r in query.requests
        )
        return DepartmentQuery(query.department, query.reference_date, requests)

    def _refused(self, status: int, code: str, *, count: bool = True) -> web.Response:
        if count:
            self.stats.outcomes["rejected"] += 1
        return _error(status, code)


def _status_of(failure: DepartmentError) -> tuple[int, str]:
    # The adapter's message stays here: the wire gets a code, as a real department's would.
    if failure.retryable:
        return 503, "department_unavailable"
    if isinstance(failure, DepartmentAnswerInvalid):
        return 500, "department_error"
    return 400, "unanswerable_request"  # an unknown fact, a missing parameter…


def _error(status: int, code: str) -> web.Response:
    return web.json_response({"error": code}, status=status)


def _peer(request: web.Request) -> tuple[Any, ...]:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return tuple(peer) if peer else ("unknown",)


async def _reset_mid_body(request: web.Request, content: bytes) -> web.StreamResponse:
    """Headers and half the body, then a TCP reset: the connection dies mid-answer."""
    response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
    response.content_length = len(content)
    await response.prepare(request)
    await response.write(content[: len(content) // 2])
    transport = request.transport
    if transport is not None:
        raw = transport.get_extra_info("socket")
        if raw is not None:
            # Linger 0: close() sends RST instead of FIN, as a crashed peer or middlebox would.
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return response


def create_simulator_app(
    department: str, data_dir: Path, faults: FaultPlan, *, seed: int
) -> web.Application:
    """A simulated ``department`` over the demo city in ``data_dir`` (``<department>.db``)."""
    database = data_dir / f"{department}.db"
    if not database.is_file():
        raise ConfigurationError(f"simulator: no {database.name} in the demo city directory")
    samples = data_dir / "samples.json"
    decoys = [
        str(subject["id"]).upper()
        for sample in (load_samples(samples) if samples.is_file() else ())
        for subject in sample.application["subjects"]
    ]
    simulator = DepartmentSimulator(
        department, _sql_adapter(department, database), faults, seed=seed, decoy_ids=decoys
    )
    app = web.Application()
    app[SIMULATOR] = simulator
    app.router.add_post(f"/{WIRE_VERSION}/departments/{{department}}/facts", simulator.facts)
    app.router.add_get("/v1/stats", simulator.stats_view)
    app.router.add_get("/v1/faults", simulator.faults_view)
    app.router.add_post("/v1/faults", simulator.faults_view)
    app.on_shutdown.append(simulator.stop)
    app.on_cleanup.append(simulator.close)
    return app


def _sql_adapter(department: str, database: Path) -> DepartmentAdapter:
    """The department's real adapter, found as the engine finds it (its entry point)."""
    found = entry_points(group="verifier.adapters", name=department)
    if not found:
        raise ConfigurationError(f"simulator: no 'verifier.adapters' entry point {department!r}")
    factory = next(iter(found)).load()
    adapter = factory({"url": f"sqlite:///{database.as_posix()}", "department": department})
    if not isinstance(adapter, DepartmentAdapter):
        raise ConfigurationError(f"simulator: {department!r} is not a department adapter")
    return adapter


SIMULATOR = web.AppKey("simulator", DepartmentSimulator)
"""``app[SIMULATOR]``: the simulator behind an app, for tests (stats, faults)."""
