"""What telemetry costs a verification: exporter none vs console (to /dev/null) vs JSON Lines.

    python bench/telemetry_bench.py [--people 10000] [--rounds 10] [--per-round 300] [--smoke]

One run, the demo city's sample applications, one verification at a time, audit without
fsync (so the disk does not drown the difference) and the fact cache off (every
verification asks its departments, so each has its full set of department spans). The
three verifiers are open side by side and take turns in rounds, so drift on a shared
machine hits them alike; each turn's span backlog is exported before the next turn starts,
so no mode pays for another's. A last row times only the engine's telemetry calls for one
verification with exporter none (the ``verify`` span, one span per department, the
metrics), without the verification.

Timings drift on a shared 2-core machine: compare the ratios within one run
(docs/benchmarks.md has the numbers; console is pretty-printed JSON: for a terminal, not
for load).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from _common import (
    demo_city,
    median,
    parse_args,
    parser,
    percentile,
    print_ratio,
    sample_applications,
    timed,
)

import verifier
from verifier.engine import Verifier, plan_departments
from verifier.engine._fanout import DepartmentOutcome
from verifier.engine._interceptors import VerifyInput
from verifier.engine._telemetry import EngineTelemetry
from verifier.model import Application, CallerIdentity, CallOutcome
from verifier.telemetry import TelemetryHandle, configure_telemetry

MODES = ("none", "console", "jsonl")


def build(data_dir: Path, scratch: Path, mode: str) -> tuple[Verifier, TelemetryHandle]:
    config = verifier.load_config(
        data_dir=data_dir,
        audit={"fsync": False, "directory": scratch / f"audit-{mode}"},
        cache={"enabled": False},
        telemetry={"exporter": mode, "jsonl_path": scratch / "telemetry.jsonl"},
    )
    telemetry = configure_telemetry(config.telemetry)
    return verifier.build_verifier(config, telemetry=telemetry), telemetry


async def run(
    data_dir: Path, scratch: Path, rounds: int, per_round: int, warmup: int
) -> dict[str, list[float]]:
    applications = sample_applications(data_dir)
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    built = {mode: build(data_dir, scratch, mode) for mode in MODES}
    engines = {mode: engine for mode, (engine, _) in built.items()}

    def verifying(engine: Verifier) -> Callable[[int], Awaitable[object]]:
        return lambda index: engine.verify(applications[index % len(applications)])

    async with contextlib.AsyncExitStack() as stack:
        for engine in engines.values():
            await stack.enter_async_context(engine)
        for engine in engines.values():  # warm-up: SQLite pages, code paths
            await timed(verifying(engine), 0, warmup=warmup)
        for _ in range(rounds):
            for mode, (engine, telemetry) in built.items():
                results[mode] += await timed(verifying(engine), per_round, warmup=0)
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
    outcomes = [DepartmentOutcome(plan, CallOutcome.OK, 1.0, facts=()) for plan in plans]
    started_input = VerifyInput("request", CallerIdentity(system="bench"), application, item, None)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        with telemetry.verification(started_input):
            for plan, outcome in zip(plans, outcomes, strict=True):
                department_span = telemetry.department_span(plan)
                telemetry.department_finished(department_span, outcome)
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--rounds", type=int, default=10)
    made.add_argument("--per-round", type=int, default=300)
    made.add_argument("--warmup", type=int, default=140, help="untimed calls per exporter")
    args = parse_args(made, smoke={"rounds": 2, "per_round": 10, "warmup": 14})
    # Console spans go to /dev/null: the exporter binds sys.stdout when it is made.
    with (
        demo_city(args) as (data_dir, scratch),
        open(os.devnull, "w") as devnull,
        contextlib.redirect_stdout(devnull),
    ):
        results = asyncio.run(run(data_dir, scratch, args.rounds, args.per_round, args.warmup))
    baseline = median(results["none"])
    print(f"{args.rounds} rounds x {args.per_round} verifications per exporter, one at a time")
    print("cache off, audit without fsync\n")
    print(f"{'telemetry':36} {'median µs':>10} {'p99 µs':>10} {'median / none':>14}")
    for label, timings in results.items():
        middle = median(timings)
        ratio = f"{middle / baseline:14.2f}" if label in MODES else ""
        print(f"{label:36} {middle:10.1f} {percentile(timings, 0.99):10.1f} {ratio}")
    print()
    for label, timings in results.items():
        if label != "none":
            print_ratio(f"{label} median", median(timings), "exporter none median", baseline)


if __name__ == "__main__":
    main()
