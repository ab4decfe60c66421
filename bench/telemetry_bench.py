"""What telemetry costs a verification: exporter none vs console (to /dev/null) vs JSON Lines.

    python bench/telemetry_bench.py [--people 10000] [--rounds 10] [--per-round 300]

One run, the demo city's sample applications, one verification at a time, audit without
fsync (so the disk does not drown the difference). The three verifiers are open side by
side and take turns in rounds, so drift on a shared machine hits them alike; each turn's
span backlog is exported before the next turn starts, so no mode pays for another's. A
last row times only the engine's telemetry calls for one verification with exporter none
(the ``verify`` span, one span per department, the metrics), without the verification.

Timings drift on a shared 2-core machine: compare the rows within one run. One run there
(medians): none 787 µs, jsonl 1425 µs, console 2803 µs (pretty-printed JSON: for a
terminal, not for load); the engine's own telemetry calls with none: 17 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import verifier
from verifier.engine import Verifier, plan_departments
from verifier.engine._telemetry import DepartmentFinished, EngineTelemetry, VerificationStarted
from verifier.model import Application, CallerIdentity, CallOutcome, DepartmentCall
from verifier.telemetry import TelemetryHandle, configure_telemetry

MODES = ("none", "console", "jsonl")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def build(data_dir: Path, scratch: Path, mode: str) -> tuple[Verifier, TelemetryHandle]:
    config = verifier.load_config(
        data_dir=data_dir,
        audit={"fsync": False, "directory": scratch / f"audit-{mode}"},
        telemetry={"exporter": mode, "jsonl_path": scratch / "telemetry.jsonl"},
    )
    telemetry = configure_telemetry(config.telemetry)
    return verifier.build_verifier(config, telemetry=telemetry), telemetry


async def timed(engine: Verifier, applications: list[Application], count: int) -> list[float]:
    timings = []
    for index in range(count):
        started = time.perf_counter()
        await engine.verify(applications[index % len(applications)])
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


async def run(data_dir: Path, scratch: Path, rounds: int, per_round: int) -> dict[str, list[float]]:
    samples = json.loads((data_dir / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications = [verifier.parse_application(s["application"]) for s in samples]
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    built = {mode: build(data_dir, scratch, mode) for mode in MODES}
    engines = {mode: engine for mode, (engine, _) in built.items()}
    async with contextlib.AsyncExitStack() as stack:
        for engine in engines.values():
            await stack.enter_async_context(engine)
        for engine in engines.values():  # warm-up: caches, SQLite pages, code paths
            await timed(engine, applications, len(applications) * 10)
        gc.collect()
        for _ in range(rounds):
            for mode, (engine, telemetry) in built.items():
                results[mode] += await timed(engine, applications, per_round)
                # Export this turn's backlog now, untimed, so it cannot slow the next
                # mode's turn (batches of 512 spans still export within each turn).
                telemetry.force_flush()
    results["engine telemetry calls only (none)"] = instrumentation_only(
        engines["none"], applications[0], rounds * per_round
    )
    return results


def instrumentation_only(engine: Verifier, application: Application, count: int) -> list[float]:
    """The telemetry calls one verification makes, with the no-op global providers."""
    telemetry = EngineTelemetry(None, lambda identifier: identifier)
    item = engine.items.get(application.service_item)
    reference = application.reference_date or date.today()
    plans = plan_departments(item.bind(application, engine.catalogue, reference), reference)
    calls = [
        DepartmentCall(
            department=plan.department, outcome=CallOutcome.OK, duration_ms=1.0, facts=()
        )
        for plan in plans
    ]
    started_input = VerificationStarted("request", CallerIdentity(system="bench"), application)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        with telemetry.verification(started_input) as span:
            span.item_resolved(item.id, item.version)
            for plan, call in zip(plans, calls, strict=True):
                department_span = telemetry.department_span(plan)
                finished = DepartmentFinished(department_span, call, (), None, time.time_ns())
                telemetry.department_finished(finished)
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=300)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch) / "city"
        verifier.ensure_demo_city(data_dir, people=args.people)
        # Console spans go to /dev/null: the exporter binds sys.stdout when it is made.
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            results = asyncio.run(run(data_dir, Path(scratch), args.rounds, args.per_round))
    baseline = statistics.median(results["none"])
    print(f"{args.rounds} rounds x {args.per_round} verifications per exporter, one at a time\n")
    print(f"{'telemetry':36} {'median µs':>10} {'p99 µs':>10} {'median / none':>14}")
    for label, timings in results.items():
        median = statistics.median(timings)
        ratio = f"{median / baseline:14.2f}" if label in MODES else ""
        print(f"{label:36} {median:10.1f} {percentile(timings, 0.99):10.1f} {ratio}")


if __name__ == "__main__":
    main()
