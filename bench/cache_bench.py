"""What a cache hit saves, in process and in Redis, against asking the departments.

    python bench/cache_bench.py [--iterations 3000] [--redis-url redis://127.0.0.1:6379/15]

In one run, over the demo city's sample applications, one verification at a time, audit
written without fsync:

- no cache: every verification asks its departments (the baseline);
  (UNKNOWN facts are never cached, so the warm rows still fetch those);
- in-process hits: the embedded default's cache, warm (every fact a hit);
- Redis hits: the replicas' shared cache on a local Redis, warm (one MGET per verification).

Timings drift on a shared 2-core machine: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Any

from verify_bench import measure, percentile

import verifier


async def run(data_dir: Path, iterations: int, redis_url: str) -> dict[str, list[float]]:
    samples = json.loads((data_dir / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications = [verifier.parse_application(s["application"]) for s in samples]
    prefix = f"verifier-bench:{uuid.uuid4().hex[:8]}:"
    caches: dict[str, dict[str, Any]] = {
        "no cache": {"enabled": False},
        "in-process hits": {"enabled": True},
        "Redis hits": {"backend": "redis", "redis_url": redis_url, "redis_key_prefix": prefix},
    }
    results = {}
    for label, cache in caches.items():
        with tempfile.TemporaryDirectory() as audit:
            config = verifier.load_config(
                data_dir=data_dir,
                audit={"directory": audit, "fsync": False},
                cache=cache,
                telemetry={"exporter": "none"},
            )
            async with verifier.build_verifier(config) as engine:
                results[label] = await measure(engine.verify, applications, iterations)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--data-dir", type=Path, default=None, help="a generated demo city")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch) / "city"
        verifier.ensure_demo_city(data_dir, people=args.people)
        results = asyncio.run(run(data_dir, args.iterations, args.redis_url))
    baseline = statistics.median(results["no cache"])
    print(f"{args.people} people, {args.iterations} verifications per row, one at a time\n")
    for label, samples in results.items():
        median = statistics.median(samples)
        print(
            f"{label:<16} median {median:8.0f} µs   p99 {percentile(samples, 0.99):8.0f} µs"
            f"   ratio to no cache {median / baseline:5.2f}"
        )


if __name__ == "__main__":
    main()
