"""Fan-out latency against the slowest single department, in-process (and through gRPC).

    python bench/fanout_bench.py [--iterations 200] [--data-dir DIR] [--smoke]
                                 [--delays household=20,social_insurance=40,housing=30,tax=10]

Each demo department adapter is wrapped in one that first waits its fixed added latency
(milliseconds), then asks the real adapter, and counts its calls. The fact cache is OFF in
every row: the question is how long asking all departments takes, so every verification
must ask every department (the benchmark checks the counts and stops if one was not
asked: with the cache on it would measure cache hits). The first-home applications of the
demo city (all four departments) are verified one after another; the engine calls the
departments concurrently, so a verification should take about as long as its slowest
department (40 ms by default), not the sum (100 ms). Rows:

- slowest department alone: that department's wrapped adapter awaited by itself (the
  baseline: the floor any fan-out can reach);
- sequential departments: the four wrapped adapters awaited one after another (the sum);
- verify, audit fsync on (the default) and off: the engine's fan-out;
- the same with no added latency: what the engine itself (and the SQLite reads) take;
- verify over gRPC: the same engine behind an in-process grpc.aio server on 127.0.0.1,
  called as the demo's registered service hall through a channel from the same event
  loop (fsync on).

ratio = p50 ÷ the slowest department alone's p50 in the same run; the goal is ≤ 1.1.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable
from pathlib import Path

from _common import (
    CALLER,
    demo_city,
    median,
    parse_args,
    parser,
    percentile,
    print_ratio,
    sample_applications,
    timed,
)
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
ITEM = "first_home_purchase"


class DelayedAdapter(verifier.DepartmentAdapter):
    """Waits ``delay`` seconds, then answers with the adapter it wraps; counts its calls."""

    def __init__(self, inner: verifier.DepartmentAdapter, delay: float) -> None:
        self.department = inner.department
        self.inner = inner
        self.delay = delay
        self.calls = 0

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        self.calls += 1
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


def delayed_engine(
    data_dir: Path, audit_dir: Path, fsync: bool, delays: dict[str, float]
) -> Verifier:
    audit = {"fsync": fsync, **audit_settings(audit_dir)[0]}
    # Cache off: a hit would answer without asking the departments (what is measured).
    config = verifier.load_config(data_dir=data_dir, audit=audit, cache={"enabled": False})
    engine = verifier.build_verifier(config)
    missing = set(delays) - set(engine.adapters)
    if missing:
        raise SystemExit(f"no such department(s): {sorted(missing)}")
    for department, delay in delays.items():
        engine.adapters[department] = DelayedAdapter(engine.adapters[department], delay)
    return engine


class FanOut:
    """Times a row and checks that each timed or warm-up call asked every department."""

    def __init__(self, applications: list[Application], iterations: int, warmup: int) -> None:
        self.applications = applications
        self.iterations = iterations
        self.warmup = warmup

    async def row(
        self, engine: Verifier, call: Callable[[int], Awaitable[object]], label: str
    ) -> list[float]:
        adapters = [a for a in engine.adapters.values() if isinstance(a, DelayedAdapter)]
        before = [adapter.calls for adapter in adapters]
        timings = await timed(call, self.iterations, warmup=self.warmup)
        expected = self.iterations + self.warmup
        for adapter, count in zip(adapters, before, strict=True):
            if adapter.calls - count != expected:
                raise SystemExit(
                    f"{label}: {adapter.department} asked {adapter.calls - count} times for "
                    f"{expected} verifications: this row does not measure fan-out"
                )
        return [timing / 1000 for timing in timings]  # milliseconds

    def application(self, index: int) -> Application:
        return self.applications[index % len(self.applications)]


async def run(
    data_dir: Path,
    scratch: Path,
    delays: dict[str, float],
    fan_out: FanOut,
    grpc_row: bool,
) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    no_delays = dict.fromkeys(delays, 0.0)
    for added, fsync in ((delays, True), (delays, False), (no_delays, True), (no_delays, False)):
        engine = delayed_engine(data_dir, scratch / f"audit-{len(results)}", fsync, added)
        async with engine:
            if not results:
                results.update(await baselines(engine, fan_out, delays))

            async def verify(index: int, engine: Verifier = engine) -> None:
                await engine.verify(fan_out.application(index), caller=CALLER)

            label = f"verify, audit fsync {'on' if fsync else 'off'}"
            if added is no_delays:
                label += ", no added latency"
            results[label] = await fan_out.row(engine, verify, label)
    if grpc_row:
        results["verify over gRPC (fsync on)"] = await measure_grpc(
            data_dir, scratch, delays, fan_out
        )
    return results


async def baselines(
    engine: Verifier, fan_out: FanOut, delays: dict[str, float]
) -> dict[str, list[float]]:
    """The slowest department's wrapped adapter alone, and all four one after another."""
    slowest = max(delays, key=delays.__getitem__)
    plans = [plans_for(engine, application) for application in fan_out.applications]
    departments = {plan.department for application_plans in plans for plan in application_plans}
    if departments != set(delays):
        raise SystemExit(f"{ITEM} samples use {sorted(departments)}, not {sorted(delays)}")

    async def alone(index: int) -> None:
        for plan in plans[index % len(plans)]:
            if plan.department == slowest:
                await engine.adapters[slowest].fetch(plan.query)

    async def sequential(index: int) -> None:
        for plan in plans[index % len(plans)]:
            await engine.adapters[plan.department].fetch(plan.query)

    alone_timings = await timed(alone, fan_out.iterations, warmup=fan_out.warmup)
    return {
        f"slowest department alone ({slowest})": [t / 1000 for t in alone_timings],
        "sequential departments": await fan_out.row(engine, sequential, "sequential"),
    }


def plans_for(engine: Verifier, application: Application) -> list[DepartmentPlan]:
    """The department calls the engine would make for ``application``."""
    item = engine.items.get(application.service_item)
    assert application.reference_date is not None
    bound = item.bind(application, engine.catalogue, application.reference_date)
    return list(plan_departments(bound, application.reference_date))


async def measure_grpc(
    data_dir: Path, scratch: Path, delays: dict[str, float], fan_out: FanOut
) -> list[float]:
    import grpc

    engine = delayed_engine(data_dir, scratch / "audit-grpc", True, delays)
    server, port = await create_server(engine, "127.0.0.1:0")
    await server.start()
    try:
        await engine.start()
        await mark_serving(server)
        requests = [_convert.application_to_proto(a, CALLER) for a in fan_out.applications]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.VerificationServiceStub(channel)  # type: ignore[no-untyped-call]

            async def call(index: int) -> None:
                request = requests[index % len(requests)]
                response: pb.VerifyResponse = await stub.Verify(request, timeout=5.0)
                assert response.decision.outcome != pb.DECISION_OUTCOME_UNSPECIFIED

            return await fan_out.row(engine, call, "gRPC")
    finally:
        await server.stop(None)
        await engine.aclose()


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--iterations", type=int, default=200)
    made.add_argument("--warmup", type=int, default=10, help="untimed calls per row")
    made.add_argument("--delays", default=DEFAULT_DELAYS, help="department=ms,...")
    made.add_argument("--no-grpc", action="store_true", help="skip the gRPC row")
    args = parse_args(made, smoke={"iterations": 5, "warmup": 2})
    if not 1 <= args.iterations <= 100_000:
        made.error("iterations 1-100000")
    delays = parse_delays(args.delays)
    if max(delays.values()) <= 0:
        made.error("at least one department needs an added latency")
    with demo_city(args) as (data_dir, scratch):
        fan_out = FanOut(sample_applications(data_dir, ITEM), args.iterations, args.warmup)
        results = asyncio.run(run(data_dir, scratch, delays, fan_out, not args.no_grpc))
    slowest_ms = 1000 * max(delays.values())
    sum_ms = 1000 * sum(delays.values())
    added = ", ".join(f"{name} {1000 * delay:g} ms" for name, delay in delays.items())
    print(f"added latency: {added}; slowest {slowest_ms:g} ms, sum {sum_ms:g} ms; cache off")
    print(f"{args.iterations} {ITEM} verifications per row, one at a time\n")
    baseline_label = next(iter(results))
    baseline = median(results[baseline_label])
    print(
        f"{'':44} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'p50 / alone':>12} {'p50 / sum':>10}"
    )
    for label, timings in results.items():
        p50 = median(timings)
        print(
            f"{label:44} {p50:8.2f} {percentile(timings, 0.99):8.2f} "
            f"{statistics.fmean(timings):8.2f} {p50 / baseline:12.3f} {p50 / sum_ms:10.3f}"
        )
    print()
    for label, timings in results.items():
        if label != baseline_label and "no added" not in label:
            print_ratio(f"{label} p50", median(timings), f"{baseline_label} p50", baseline)
    for label, timings in results.items():
        if label.startswith("verify") and "no added" not in label:
            ratio = median(timings) / baseline
            verdict = "meets" if ratio <= GOAL_RATIO else "misses"
            print(f"{label}: {ratio:.3f}× the slowest alone ({verdict} the ≤ {GOAL_RATIO} goal)")


if __name__ == "__main__":
    main()
