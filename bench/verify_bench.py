"""In-process verify latency on the demo city, against a plain sequential read of the same facts.

    python bench/verify_bench.py [--people 10000] [--iterations 3000]

Measurements in one run, over the demo city's sample applications (every item and
outcome), one verification at a time:

- baseline: the same department queries the engine would send, awaited one after another
  on the same adapters, with no engine around them (no planning, checking, rule, audit);
- verify, audit without fsync: the engine's own work (the audit line is written, not synced);
- verify, audit with fsync: what a caller gets by default (durable before the answer);
- cache off, resilience off / on: audit without fsync and the fact cache off, so every
  verification asks its departments, with ``resilience.enabled`` false, then true (its
  defaults): the difference is the resilience pipeline's fault-free overhead.

Timings drift on a shared 2-core machine: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import verifier
from verifier.engine import Verifier, plan_departments
from verifier.model import Application


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(
    call: Callable[[Application], Awaitable[object]],
    applications: list[Application],
    iterations: int,
) -> list[float]:
    for application in applications * 20:  # warm-up: caches, SQLite pages, code paths
        await call(application)
    gc.collect()
    timings = []
    for index in range(iterations):
        application = applications[index % len(applications)]
        started = time.perf_counter()
        await call(application)
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def sequential_reader(engine: Verifier) -> Callable[[Application], Awaitable[None]]:
    async def read(application: Application) -> None:
        item = engine.items.get(application.service_item)
        assert application.reference_date is not None
        bound = item.bind(application, engine.catalogue, application.reference_date)
        for plan in plan_departments(bound, application.reference_date):
            await engine.adapters[plan.department].fetch(plan.query)

    return read


async def run(data_dir: Path, iterations: int) -> dict[str, list[float]]:
    samples = json.loads((data_dir / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications = [verifier.parse_application(s["application"]) for s in samples]
    results: dict[str, list[float]] = {}
    for label, fsync, overrides in (
        ("verify, audit without fsync", False, {}),
        ("verify, audit with fsync", True, {}),
        (
            "cache off, resilience off",
            False,
            {"cache": {"enabled": False}, "resilience": {"enabled": False}},
        ),
        ("cache off, resilience on", False, {"cache": {"enabled": False}}),
    ):
        config = verifier.load_config(
            data_dir=data_dir,
            audit={"fsync": fsync, "directory": data_dir / f"audit-{label.replace(' ', '_')}"},
            **overrides,
        )
        async with verifier.build_verifier(config) as engine:
            if not results:
                results["baseline: sequential reads"] = await measure(
                    sequential_reader(engine), applications, iterations
                )
            results[label] = await measure(engine.verify, applications, iterations)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch) / "city"
        verifier.ensure_demo_city(data_dir, people=args.people)
        results = asyncio.run(run(data_dir, args.iterations))
    baseline = statistics.median(results["baseline: sequential reads"])
    print(f"{args.people} people, {args.iterations} verifications per row, one at a time\n")
    print(f"{'':32} {'median µs':>10} {'p99 µs':>10} {'median / baseline':>18}")
    for label, timings in results.items():
        median = statistics.median(timings)
        print(
            f"{label:32} {median:10.0f} {percentile(timings, 0.99):10.0f} {median / baseline:18.2f}"
        )


if __name__ == "__main__":
    main()
