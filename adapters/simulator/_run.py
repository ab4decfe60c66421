"""Run several simulated departments in one process, each on its own port of 127.0.0.1."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from adapters.simulator._app import SIMULATOR, DepartmentSimulator, create_simulator_app
from adapters.simulator._faults import FaultPlan

LOCALHOST = "127.0.0.1"
SHUTDOWN_SECONDS = 2.0
"""How long stopping waits for answers in progress (hangs are released at once)."""


@dataclass(frozen=True, slots=True)
class RunningSimulators:
    """Simulators that are up: their base URLs and their state, by department."""

    urls: Mapping[str, str]
    simulators: Mapping[str, DepartmentSimulator]

    def facts(self, department: str) -> list[str]:
        return sorted(self.simulators[department].adapter.supported_facts())

    def config_snippet(self) -> str:
        """YAML to paste into a verifier configuration to use these departments over HTTP."""
        lines = ["departments:"]
        for department, url in self.urls.items():
            facts = ", ".join(self.facts(department))
            lines.append(
                f"  {department}: {{adapter: http, url: {json.dumps(url)}, facts: [{facts}]}}"
            )
        return "\n".join(lines)


@asynccontextmanager
async def run_simulators(
    data_dir: Path,
    ports_by_department: Mapping[str, int],
    faults: FaultPlan | Mapping[str, FaultPlan] | None = None,
    *,
    seed: int = 1,
    host: str = LOCALHOST,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[RunningSimulators]:
    """Start one simulator per department (port 0: any free port); stop them all on exit.

    ``faults`` is one plan for every department, or a plan per department (default: none).
    With ``ssl_context`` the simulators speak https.
    """
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}
    simulators: dict[str, DepartmentSimulator] = {}
    scheme = "https" if ssl_context is not None else "http"
    try:
        for department, port in ports_by_department.items():
            app = create_simulator_app(department, data_dir, _plan(faults, department), seed=seed)
            runner = web.AppRunner(
                app,
                # A client that gives up cancels its handler (a hang ends with its client).
                handler_cancellation=True,
                access_log=None,
                shutdown_timeout=SHUTDOWN_SECONDS,
            )
            await runner.setup()
            runners.append(runner)
            site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
            await site.start()
            bound = runner.addresses[0][1]
            urls[department] = f"{scheme}://{host}:{bound}"
            simulators[department] = app[SIMULATOR]
        yield RunningSimulators(urls, simulators)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def _plan(faults: FaultPlan | Mapping[str, FaultPlan] | None, department: str) -> FaultPlan:
    if faults is None:
        return FaultPlan()
    if isinstance(faults, FaultPlan):
        return faults
    return faults.get(department, FaultPlan())
