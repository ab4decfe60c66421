"""What a cache hit saves, in process and in Redis, against asking the departments.

    python bench/cache_bench.py [--iterations 3000] [--redis-url redis://127.0.0.1:6379/15]
                                [--smoke]

In one run, over the demo city's sample applications, one verification at a time, audit
written without fsync:

- no cache: every verification asks its departments (the baseline);
  (UNKNOWN facts are never cached, so the warm rows still fetch those);
- in-process hits: the embedded default's cache, warm (every fact a hit);
- Redis hits: the replicas' shared cache on a local Redis, warm (one MGET per verification).

Timings drift on a shared 2-core machine: compare the ratios within one run.
"""

from __future__ import annotations

import asyncio
import uuid
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


async def run(
    data_dir: Path, scratch: Path, iterations: int, warmup: int, redis_url: str
) -> dict[str, list[float]]:
    applications = sample_applications(data_dir)
    prefix = f"verifier-bench:{uuid.uuid4().hex[:8]}:"
    caches: dict[str, dict[str, Any]] = {
        "no cache": {"enabled": False},
        "in-process hits": {"enabled": True},
        "Redis hits": {"backend": "redis", "redis_url": redis_url, "redis_key_prefix": prefix},
    }
    results = {}
    for number, (label, cache) in enumerate(caches.items()):
        config = verifier.load_config(
            data_dir=data_dir,
            audit={"directory": scratch / f"audit-{number}", "fsync": False},
            cache=cache,
            telemetry={"exporter": "none"},
        )
        async with verifier.build_verifier(config) as engine:
            # The warm-up verifies every sample at least once: the hit rows are then warm.
            results[label] = await timed(
                lambda index, engine=engine: engine.verify(applications[index % len(applications)]),
                iterations,
                warmup=max(warmup, len(applications)),
            )
    return results


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--iterations", type=int, default=3000)
    made.add_argument("--warmup", type=int, default=280, help="untimed calls per row")
    made.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    args = parse_args(made, smoke={"iterations": 30, "warmup": 14})
    with demo_city(args) as (data_dir, scratch):
        results = asyncio.run(run(data_dir, scratch, args.iterations, args.warmup, args.redis_url))
    baseline = median(results["no cache"])
    print(f"{args.people} people, {args.iterations} verifications per row, one at a time\n")
    for label, samples in results.items():
        middle = median(samples)
        print(
            f"{label:<16} median {middle:8.0f} µs   p99 {percentile(samples, 0.99):8.0f} µs"
            f"   ratio to no cache {middle / baseline:5.2f}"
        )
    print()
    for label, samples in results.items():
        if label != "no cache":
            print_ratio(f"{label} median", median(samples), "no cache median", baseline)


if __name__ == "__main__":
    main()
