"""Fan-out latency against the slowest single department, in-process (and through gRPC).

    python bench/fanout_bench.py [--iterations 200] [--data-dir DIR]
                                 [--delays household=20,social_insurance=40,housing=30,tax=10]

Each demo department adapter is wrapped in one that first waits its fixed added latency
(milliseconds) and then asks the real adapter. The first-home applications of the demo
city (all four departments) are verified one after another; the engine calls the
departments concurrently, so a verification should take about as long as its slowest
department (40 ms by default), not the sum (100 ms), which is what one-after-another calls
would take. Rows:

- slowest department alone: that department's wrapped adapter awaited by itself (the floor);
- sequential departments: the four wrapped adapters awaited one after another (the sum);
- verify, audit fsync on (the default) and off: the engine's fan-out;
- the same with no added latency: what the engine itself (and the SQLite reads) take;
- verify over gRPC: the same engine behind an in-process grpc.aio server on 127.0.0.1,
  called through a channel from the same event loop (fsync on).

ratio = p50 ÷ the slowest added latency; the goal is ≤ 1.1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from _load_client import audit_settings

import verifier
from verifier.adapter import DepartmentAnswer, DepartmentQuery
from verifier.engine import Verifier, plan_departments
from verifier.engine._planner import DepartmentPlan
from verifier.model import Application
from verifier.service import _convert, create_server, mark_serving
from verifier.service._generated.v1 import verification_pb2 as pb
from verifier.service._generated.v1 import verification_pb2_grpc as pb_grpc

DEFAULT_DELAYS = "household=20,social_insurance=40,housing=30,tax=10"
GOAL_RATIO = 1.1
WARMUP_CALLS = 10
ITEM = "first_home_purchase"


class DelayedAdapter(verifier.DepartmentAdapter):
    """Waits ``delay`` seconds, then answers with the adapter it wraps."""

    def __init__(self, inner: verifier.DepartmentAdapter, delay: float) -> None:
        self.department = inner.department
        self.inner = inner
        self.delay = delay

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        await asyncio.sleep(self.delay)
        return await self.inner.fetch(query)

    def supported_facts(self) -> frozenset[str]:
        return self.inner.supported_facts()

    async def start(self) -> None:
        await self.inner.start()

    async def aclose(self) -> None:
        await self.inner.aclose()


def parse_delays(text: str) -> dict[str, float]:
    delays = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        delays[name.strip()] = float(value) / 1000
    return delays


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(
    call: Callable[[int], Awaitable[object]], count: int, iterations: int
) -> list[float]:
    for index in range(WARMUP_CALLS):
        await call(index % count)
    gc.collect()
    timings = []
    for index in range(iterations):
        started = time.perf_counter()
        await call(index % count)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def delayed_engine(
    data_dir: Path, audit_dir: Path, fsync: bool, delays: dict[str, float]
) -> Verifier:
    audit = {"fsync": fsync, **audit_settings(audit_dir)[0]}
    config = verifier.load_config(data_dir=data_dir, audit=audit)
    engine = verifier.build_verifier(config)
    missing = set(delays) - set(engine.adapters)
    if missing:
        raise SystemExit(f"no such department(s): {sorted(missing)}")
    for department, delay in delays.items():
        engine.adapters[department] = DelayedAdapter(engine.adapters[department], delay)
    return engine


async def run(
    data_dir: Path, scratch: Path, delays: dict[str, float], iterations: int, grpc_row: bool
) -> dict[str, list[float]]:
    samples = json.loads((data_dir / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications: list[Application] = [
        verifier.parse_application(s["application"])
        for s in samples
        if s["application"]["service_item"] == ITEM
    ]
    results: dict[str, list[float]] = {}
    no_delays = dict.fromkeys(delays, 0.0)
    for added, fsync in ((delays, True), (delays, False), (no_delays, True), (no_delays, False)):
        engine = delayed_engine(data_dir, scratch / f"audit-{len(results)}", fsync, added)
        async with engine:
            if not results:
                results.update(await baselines(engine, applications, delays, iterations))

            async def verify(index: int, engine: Verifier = engine) -> None:
                await engine.verify(applications[index])

            label = f"verify, audit fsync {'on' if fsync else 'off'}"
            if added is no_delays:
                label += ", no added latency"
            results[label] = await measure(verify, len(applications), iterations)
    if grpc_row:
        results["verify over gRPC (fsync on)"] = await measure_grpc(
            data_dir, scratch, delays, applications, iterations
        )
    return results


async def baselines(
    engine: Verifier, applications: list[Application], delays: dict[str, float], iterations: int
) -> dict[str, list[float]]:
    """The slowest department's wrapped adapter alone, and all four one after another."""
    slowest = max(delays, key=delays.__getitem__)
    plans = [plans_for(engine, application) for application in applications]
    departments = {plan.department for application_plans in plans for plan in application_plans}
    if departments != set(delays):
        raise SystemExit(f"{ITEM} samples use {sorted(departments)}, not {sorted(delays)}")

    async def alone(index: int) -> None:
        for plan in plans[index]:
            if plan.department == slowest:
                await engine.adapters[slowest].fetch(plan.query)

    async def sequential(index: int) -> None:
        for plan in plans[index]:
            await engine.adapters[plan.department].fetch(plan.query)

    return {
        f"slowest department alone ({slowest})": await measure(
            alone, len(applications), iterations
        ),
        "sequential departments": await measure(sequential, len(applications), iterations),
    }


def plans_for(engine: Verifier, application: Application) -> list[DepartmentPlan]:
    """The department calls the engine would make for ``application``."""
    item = engine.items.get(application.service_item)
    assert application.reference_date is not None
    bound = item.bind(application, engine.catalogue, application.reference_date)
    return list(plan_departments(bound, application.reference_date))


async def measure_grpc(
    data_dir: Path,
    scratch: Path,
    delays: dict[str, float],
    applications: list[Application],
    iterations: int,
) -> list[float]:
    import grpc

    engine = delayed_engine(data_dir, scratch / "audit-grpc", True, delays)
    server, port = await create_server(engine, "127.0.0.1:0")
    await server.start()
    try:
        await engine.start()
        await mark_serving(server)
        caller = verifier.CallerIdentity(system="fanout-bench")
        requests = [_convert.application_to_proto(a, caller) for a in applications]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]

            async def call(index: int) -> None:
                response: pb.VerifyResponse = await stub.Verify(requests[index], timeout=5.0)
                assert response.decision.outcome != pb.DECISION_OUTCOME_UNSPECIFIED

            return await measure(call, len(requests), iterations)
    finally:
        await server.stop(None)
        await engine.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--delays", default=DEFAULT_DELAYS, help="department=ms,...")
    parser.add_argument("--no-grpc", action="store_true", help="skip the gRPC row")
    args = parser.parse_args()
    if not 1 <= args.iterations <= 100_000:
        parser.error("iterations 1-100000")
    delays = parse_delays(args.delays)
    if max(delays.values()) <= 0:
        parser.error("at least one department needs an added latency")
    print("command:", shlex.join([sys.executable, *sys.argv]))
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as scratch_name:
        scratch = Path(scratch_name)
        data_dir = args.data_dir or scratch / "city"
        verifier.ensure_demo_city(data_dir, people=args.people)
        results = asyncio.run(run(data_dir, scratch, delays, args.iterations, not args.no_grpc))
    slowest_ms = 1000 * max(delays.values())
    sum_ms = 1000 * sum(delays.values())
    added = ", ".join(f"{name} {1000 * delay:g} ms" for name, delay in delays.items())
    print(f"added latency: {added}; slowest {slowest_ms:g} ms, sum {sum_ms:g} ms")
    print(f"{args.iterations} {ITEM} verifications per row, one at a time\n")
    print(
        f"{'':44} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'p50 / slowest':>14} "
        f"{'p50 / sum':>10}"
    )
    for label, timings in results.items():
        p50 = statistics.median(timings)
        print(
            f"{label:44} {p50:8.2f} {percentile(timings, 0.99):8.2f} "
            f"{statistics.fmean(timings):8.2f} {p50 / slowest_ms:14.3f} {p50 / sum_ms:10.3f}"
        )
    print()
    for label, timings in results.items():
        if label.startswith("verify") and "no added" not in label:
            ratio = statistics.median(timings) / slowest_ms
            verdict = "meets" if ratio <= GOAL_RATIO else "misses"
            print(f"{label}: p50 / {slowest_ms:g} ms = {ratio:.3f} ({verdict} ≤ {GOAL_RATIO})")


if __name__ == "__main__":
    main()
