"""What access control costs a verification, measured against the verification itself.

    python bench/access_bench.py [--people 10000] [--iterations 5000]

In one run, over the demo city's sample applications (both items), one at a time:

- authorise: ``verifier.access.authorise`` alone — the caller's right to the item, then
  every fact against its sharing class, purposes, legal basis and consent;
- verify: the whole in-process verification (audit written without fsync, cache off), the
  baseline the first is a fraction of;
- refused: a verification access control refuses (first-home without consent): validation,
  authorisation and the refusal's audit record, with no department called.

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
from verifier.access import authorise
from verifier.model import EMBEDDED_CALLER, Application


async def timed(call: Callable[[], Awaitable[object]], iterations: int) -> list[float]:
    for _ in range(200):
        await call()
    gc.collect()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def row(name: str, samples: list[float], baseline: float) -> str:
    median = statistics.median(samples)
    return f"{name:<12} median {median:8.1f} µs   ratio to verify {median / baseline:5.3f}"


async def run(data_dir: Path, iterations: int) -> None:
    samples = json.loads((data_dir / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications = [verifier.parse_application(s["application"]) for s in samples]
    refused = next(a for a in applications if a.service_item == "first_home_purchase")
    refused = refused.model_copy(update={"consent_reference": None})
    with tempfile.TemporaryDirectory() as audit:
        config = verifier.load_config(
            data_dir=data_dir,
            audit={"directory": audit, "fsync": False},
            cache={"enabled": False},
            telemetry={"exporter": "none"},
        )
        async with verifier.build_verifier(config) as engine:
            cycle = iter(range(1 << 62))

            def next_application() -> Application:
                return applications[next(cycle) % len(applications)]

            async def authorise_one() -> None:
                application = next_application()
                item = engine.items.get(application.service_item)
                assert not authorise(
                    item, application, EMBEDDED_CALLER, engine.catalogue, engine.access
                )

            async def verify_one() -> None:
                await engine.verify(next_application())

            async def refuse_one() -> None:
                try:
                    await engine.verify(refused)
                except verifier.AccessDenied:
                    return
                raise AssertionError("served without consent")

            verify = await timed(verify_one, iterations)
            baseline = statistics.median(verify)
            print(row("verify", verify, baseline))
            print(row("authorise", await timed(authorise_one, iterations), baseline))
            print(row("refused", await timed(refuse_one, iterations), baseline))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--data-dir", type=Path, default=None, help="a generated demo city")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch) / "city"
        verifier.ensure_demo_city(data_dir, people=args.people)
        print(f"{args.people} people, {args.iterations} calls per row, one at a time\n")
        asyncio.run(run(data_dir, args.iterations))


if __name__ == "__main__":
    main()
