"""In-process verify latency on the demo city, against a plain sequential read of the same facts.

    python bench/verify_bench.py [--people 10000] [--iterations 3000] [--smoke]

Measurements in one run, over the demo city's sample applications (every item and
outcome), one verification at a time, the fact cache OFF in every row (the baseline reads
the departments every time, so every verification asks them too; ``cache_bench.py``
measures hits):

- baseline: the same department queries the engine would send, awaited one after another
  on the same adapters, with no engine around them (no planning, checking, rule, audit);
- verify, audit without fsync: the engine's own work (the audit line is written, not synced);
- verify, audit with fsync: what a caller gets by default (durable before the answer);
- resilience off: audit without fsync and ``resilience.enabled`` false: against the
  without-fsync row (resilience on, its defaults), the pipeline's fault-free overhead;
- decide, audit without fsync: ``Verifier.decide``, the engine's plain result without the
  public pydantic models ``verify`` builds from it (what the gRPC service and bulk runners
  pay): against the without-fsync row, what building the public result costs.

Timings drift on a shared 2-core machine: compare the ratios within one run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

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
from verifier.model import Application

BASELINE = "baseline: sequential reads"
DECIDE = "decide, audit without fsync"
ROWS: tuple[tuple[str, bool, dict[str, Any]], ...] = (
    ("verify, audit without fsync", False, {}),
    ("verify, audit with fsync", True, {}),
    ("resilience off, without fsync", False, {"resilience": {"enabled": False}}),
)


def cycling(
    call: Callable[[Application], Awaitable[object]], applications: list[Application]
) -> Callable[[int], Awaitable[object]]:
    """``call`` on the applications in turn, by call index."""
    return lambda index: call(applications[index % len(applications)])


def sequential_reader(engine: Verifier) -> Callable[[Application], Awaitable[None]]:
    async def read(application: Application) -> None:
        item = engine.items.get(application.service_item)
        assert application.reference_date is not None
        bound = item.bind(application, engine.catalogue, application.reference_date)
        for plan in plan_departments(bound, application.reference_date):
            await engine.adapters[plan.department].fetch(plan.query)

    return read


async def run(
    data_dir: Path, scratch: Path, iterations: int, warmup: int
) -> dict[str, list[float]]:
    applications = sample_applications(data_dir)
    results: dict[str, list[float]] = {}
    for label, fsync, overrides in ROWS:
        config = verifier.load_config(
            data_dir=data_dir,
            audit={"fsync": fsync, "directory": scratch / f"audit-{label.replace(' ', '_')}"},
            cache={"enabled": False},
            **overrides,
        )
        async with verifier.build_verifier(config) as engine:
            if not results:
                read = cycling(sequential_reader(engine), applications)
                results[BASELINE] = await timed(read, iterations, warmup=warmup)
            verify = cycling(engine.verify, applications)
            results[label] = await timed(verify, iterations, warmup=warmup)
            if label == ROWS[0][0]:
                decide = cycling(engine.decide, applications)
                results[DECIDE] = await timed(decide, iterations, warmup=warmup)
    return results


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--iterations", type=int, default=3000)
    made.add_argument("--warmup", type=int, default=280, help="untimed calls per row")
    args = parse_args(made, smoke={"iterations": 30, "warmup": 14})
    with demo_city(args) as (data_dir, scratch):
        results = asyncio.run(run(data_dir, scratch, args.iterations, args.warmup))
    baseline = median(results[BASELINE])
    print(f"{args.people} people, {args.iterations} verifications per row, one at a time\n")
    print(f"{'':32} {'median µs':>10} {'p99 µs':>10} {'median / baseline':>18}")
    for label, timings in results.items():
        middle = median(timings)
        print(
            f"{label:32} {middle:10.0f} {percentile(timings, 0.99):10.0f} {middle / baseline:18.2f}"
        )
    print()
    for label, timings in results.items():
        if label != BASELINE:
            print_ratio(f"{label} median", median(timings), f"{BASELINE} median", baseline)
    resilience_on = ROWS[0][0]
    print_ratio(
        f"{DECIDE} median",
        median(results[DECIDE]),
        f"{resilience_on} (public result) median",
        median(results[resilience_on]),
    )
    print_ratio(
        f"{ROWS[2][0]} median",
        median(results[ROWS[2][0]]),
        f"{resilience_on} (resilience on) median",
        median(results[resilience_on]),
    )


if __name__ == "__main__":
    main()
