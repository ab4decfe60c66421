"""Department simulators: small HTTP servers answering the HTTP wire contract, with faults.

Each serves one department of the demo city by running that department's real SQL adapter
over its SQLite file, so its answers are the real derived facts; a ``FaultPlan`` (latency
distribution, error, hang, reset mid-body, malformed body, wrong subject), drawn from a
seeded RNG and changeable at runtime (``POST /v1/faults``), bends them. Used by the tests,
the benchmarks and the demo (``verifier simulate``).
"""

from adapters.simulator._app import (
    SIMULATOR,
    DepartmentSimulator,
    SimulatorStats,
    create_simulator_app,
)
from adapters.simulator._faults import (
    Draw,
    FaultDice,
    FaultPlan,
    FixedLatency,
    LognormalLatency,
    Outcome,
)
from adapters.simulator._run import RunningSimulators, run_simulators

__all__ = [
    "SIMULATOR",
    "DepartmentSimulator",
    "Draw",
    "FaultDice",
    "FaultPlan",
    "FixedLatency",
    "LognormalLatency",
    "Outcome",
    "RunningSimulators",
    "SimulatorStats",
    "create_simulator_app",
    "run_simulators",
]
