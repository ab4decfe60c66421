"""``verifier simulate``: the demo city's departments as HTTP APIs, with faults on demand.

One simulator per department (every department of the catalogue unless ``--department``
names some), department number *i* of the catalogue on ``--port-base + i`` (``0``: any free
port), all on 127.0.0.1, until SIGINT or SIGTERM. It prints each base URL and a
configuration snippet that points the verifier at them (``adapter: http``).

The simulators ship beside the demo city's adapters (``adapters.simulator``) and are found
at run time, as the demo data generator is, so ``verifier`` keeps no static import of
``adapters``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import threading
from pathlib import Path
from typing import Any

from verifier._errors import ConfigurationError
from verifier.catalogue import load_catalogue
from verifier.cli._arguments import fraction, milliseconds, port, whole_number
from verifier.cli._local import add_config_arguments, config_from
from verifier.config import ensure_demo_city

SIMULATOR_MODULE = "adapters.simulator"
DEFAULT_PORT_BASE = 8600


def add_simulate_command(commands: Any) -> None:
    """Register ``simulate`` on the ``verifier`` command's subparsers."""
    simulate = commands.add_parser(
        "simulate", help="serve the demo city's departments over HTTP, with injected faults"
    )
    add_config_arguments(simulate)
    simulate.add_argument(
        "--department", action="append", help="repeatable; default: every department"
    )
    simulate.add_argument("--port-base", type=port, default=DEFAULT_PORT_BASE, help="0: any port")
    simulate.add_argument("--latency-ms", type=milliseconds, default=20.0, help="median latency")
    simulate.add_argument(
        "--latency-p99-ms",
        type=milliseconds,
        help="99th percentile (lognormal); fixed latency if unset",
    )
    for fault in ("error", "hang", "reset", "malformed", "wrong-subject"):
        simulate.add_argument(
            f"--{fault}-rate", type=fraction, default=0.0, help="fraction of requests, 0-1"
        )
    simulate.add_argument("--seed", type=whole_number(0), default=1, help="the fault dice's seed")
    simulate.set_defaults(run=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    config = config_from(args)
    ensure_demo_city(config.data_dir, progress=print)
    known = list(load_catalogue(config.catalogue).departments)
    chosen = args.department or known
    for department in chosen:
        if department not in known:
            raise ConfigurationError(f"--department: {department!r} is not in the catalogue")
    ports = {
        department: 0 if args.port_base == 0 else args.port_base + known.index(department)
        for department in chosen
    }
    simulator = _simulator_module()
    faults = _fault_plan(simulator, args)
    asyncio.run(_serve(simulator, config.data_dir, ports, faults, args.seed))
    print("simulators stopped", flush=True)
    return 0


def _fault_plan(simulator: Any, args: argparse.Namespace) -> Any:
    latency: dict[str, Any] = {"kind": "fixed", "ms": args.latency_ms}
    if args.latency_p99_ms is not None:
        latency = {"kind": "lognormal", "p50_ms": args.latency_ms, "p99_ms": args.latency_p99_ms}
    plan = {
        "latency": latency,
        "error_rate": args.error_rate,
        "hang_rate": args.hang_rate,
        "reset_rate": args.reset_rate,
        "malformed_rate": args.malformed_rate,
        "wrong_subject_rate": args.wrong_subject_rate,
    }
    try:
        return simulator.FaultPlan.model_validate(plan)
    except ValueError as failure:  # pydantic's ValidationError is a ValueError
        raise ConfigurationError(f"fault plan: {failure}") from None


async def _serve(
    simulator: Any, data_dir: Path, ports: dict[str, int], faults: Any, seed: int
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Signal handlers can only be installed from the main thread (tests may run us elsewhere).
    signals = (signal.SIGINT, signal.SIGTERM)
    handled = threading.current_thread() is threading.main_thread()
    if handled:
        for signum in signals:
            loop.add_signal_handler(signum, stop.set)
    try:
        async with simulator.run_simulators(data_dir, ports, faults, seed=seed) as running:
            for department, url in running.urls.items():
                print(f"simulating {department} at {url}", flush=True)
            print("configuration (paste into your verifier config):", flush=True)
            print(running.config_snippet(), flush=True)
            await stop.wait()
    finally:
        if handled:
            for signum in signals:
                loop.remove_signal_handler(signum)


def _simulator_module() -> Any:
    try:
        return importlib.import_module(SIMULATOR_MODULE)
    except ImportError:
        raise ConfigurationError(
            f"verifier simulate needs {SIMULATOR_MODULE} (installed with the demo adapters)"
        ) from None
