"""In-process verify latency on the demo city with the fact cache off, and on (warm).

    python bench/cache_bench.py [--people 10000] [--iterations 3000]

Both rows verify the demo city's sample applications one at a time, audit without fsync
(so the rows differ by the cache, not by the disk). "cache on (warm)" has verified every
sample once before timing, so its facts are served from the cache (UNKNOWN facts are never
cached and are fetched again). Timings drift on a shared machine: compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from verify_bench import measure, percentile

import verifier


async def run(data_dir: Path, iterations: int) -> dict[str, list[float]]:
    samples = json.loads((data_dir / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications = [verifier.parse_application(s["application"]) for s in samples]
    results: dict[str, list[float]] = {}
    for label, enabled in (("cache off", False), ("cache on (warm)", True)):
        config = verifier.load_config(
            data_dir=data_dir,
            audit={"fsync": False, "directory": data_dir / f"audit-cache-{enabled}"},
            cache={"enabled": enabled},
        )
        async with verifier.build_verifier(config) as engine:
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
    baseline = statistics.median(results["cache off"])
    print(f"{args.people} people, {args.iterations} verifications per row, one at a time\n")
    print(f"{'':18} {'median µs':>10} {'p99 µs':>10} {'median / off':>13}")
    for label, timings in results.items():
        median = statistics.median(timings)
        p99 = percentile(timings, 0.99)
        print(f"{label:18} {median:10.0f} {p99:10.0f} {median / baseline:13.2f}")


if __name__ == "__main__":
    main()
