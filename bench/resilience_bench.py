"""Latency and throughput with one slow department, with and without hedging, breaker, cache.

    python bench/resilience_bench.py [--iterations 600] [--serial-iterations 200]
                                     [--concurrency 1,16] [--slow housing] [--rows ...]
                                     [--people 10000] [--data-dir DIR] [--smoke]

All four demo-city departments are fault-injecting HTTP simulators (``adapters.simulator``)
in a child process on 127.0.0.1, so their CPU stays off the measuring loop; the verifier
reaches them through the real ``HttpDepartmentAdapter``. The slow department (housing by
default) answers with lognormal latency, p50 50 ms / p99 1 s; the others after a fixed 2 ms.
Each row is a fresh verifier built from configuration (``build_verifier(load_config(…))``),
request timeout 2 s, audit fsync OFF (so the audit log's disk cost does not hide the
departments' effect), telemetry off. Rows:

- baseline: ``resilience.enabled: false``, ``cache.enabled: false``;
- breaker + retries: resilience on with its defaults (hedging off), cache off;
- + hedging p95 / 100 ms: ``hedging: {enabled: true, delay_ms: p95 | 100}``, cache off;
- + cache, warm: hedging p95 and ``cache: {ttl_seconds: 300}``; every measured verification
  repeats one of the 14 samples the warm-up already verified (100% repeats);
- + cache, 30% repeats: as above, but 70% of the measured applications are new (a sample
  with a reference date never used before: a cache miss everywhere) and 30% repeat an
  application this row already completed;
- 20% errors, baseline / resilience: the slow department also fails 20% of requests (503).

Non-cache rows cycle the 14 sample applications. Every verifier first does a warm-up of
28 verifications (``--warmup``; untimed; fills the hedging p95 window, and the cache for
the warm row).
Each row runs at each ``--concurrency`` (asyncio tasks in this one process); concurrency 1
does ``--serial-iterations`` verifications, higher concurrency ``--iterations``.

Columns: rep% = measured applications that repeat an earlier one; latency per
verification (client side, ms); verif/s = throughput over the measured wall time;
p50× / p99× = over the baseline row's at the same concurrency (same run); unk% = slow
department's facts UNKNOWN for a failure (deadline, error, unavailable; not the
department's own RECORD_PENDING); att/call = backend attempts per slow-department call
(0 for a call answered from the cache or coalesced); extra = attempts beyond the first
(without injected errors these are hedges); hit% = slow-department calls served from the
cache; coal% = slow-department calls that shared an identical query already in flight
(coalescing); sim/v = requests the slow simulator received per measured verification;
breaker = the slow department's circuit at the end of the row (/N: calls it refused).
Timings drift on a shared 2-core machine: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import random
import selectors
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import demo_city, parse_args, parser, percentile, print_ratio, sample_applications

import verifier
from verifier.model import Application, CallOutcome, FactStatus, UnknownReason

HOST = "127.0.0.1"
DEPARTMENTS = ("household", "social_insurance", "housing", "tax")
SLOW_P50_MS = 50.0
SLOW_P99_MS = 1000.0
FAST_MS = 2.0
ERROR_RATE = 0.2
REQUEST_TIMEOUT = 2.0
WARMUP_TASKS = 7
REPEAT_SHARE = 0.3
STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0
CHILD_LIFETIME_SECONDS = 1800.0
"""The simulator child stops by itself after this long, whatever happens to its parent."""
FAILURES = frozenset(
    {
        UnknownReason.DEADLINE_EXCEEDED,
        UnknownReason.DEPARTMENT_ERROR,
        UnknownReason.DEPARTMENT_UNAVAILABLE,
    }
)


@dataclass(frozen=True)
class Row:
    label: str
    resilience: dict[str, Any]
    cache: bool = False
    workload: str = "cycle"  # cycle | warm | mix
    error_rate: float = 0.0


HEDGE_P95 = {"hedging": {"enabled": True, "delay_ms": "p95"}}
ROWS = (
    Row("baseline", {"enabled": False}),
    Row("breaker + retries", {}),
    Row("+ hedging p95", HEDGE_P95),
    Row("+ hedging 100 ms", {"hedging": {"enabled": True, "delay_ms": 100}}),
    Row("+ hedging p95 + cache, warm", HEDGE_P95, cache=True, workload="warm"),
    Row("+ hedging p95 + cache, 30% rep", HEDGE_P95, cache=True, workload="mix"),
    Row("20% errors, baseline", {"enabled": False}, error_rate=ERROR_RATE),
    Row("20% errors, breaker+retries+hedge", HEDGE_P95, error_rate=ERROR_RATE),
)


@dataclass
class Measured:
    timings: list[float] = field(default_factory=list)
    wall: float = 0.0
    slow_facts: int = 0
    slow_failed: int = 0
    slow_calls: int = 0
    slow_attempts: int = 0
    slow_extra: int = 0
    slow_hits: int = 0
    slow_shared: int = 0
    breaker_skips: int = 0
    simulator_requests: int = 0
    repeats: int = 0
    breaker_state: str = ""

    def record(self, result: verifier.VerificationResult, slow: str) -> None:
        cached = False
        for fact in result.facts:
            if fact.provenance.department == slow:
                self.slow_facts += 1
                cached = cached or fact.provenance.cached
                if fact.status is FactStatus.UNKNOWN and fact.reason in FAILURES:
                    self.slow_failed += 1
        for call in result.department_calls:
            if call.department != slow:
                continue
            self.slow_calls += 1
            self.slow_attempts += call.attempts
            self.slow_extra += max(0, call.attempts - 1)
            if call.attempts == 0:
                if call.outcome is CallOutcome.OK and cached:
                    self.slow_hits += 1
                elif call.outcome is CallOutcome.OK:
                    self.slow_shared += 1  # coalesced onto an identical call in flight
                else:
                    self.breaker_skips += 1


# ---- the simulators, in a child process ----------------------------------------------------


def plans(slow: str, error_rate: float) -> dict[str, Any]:
    from adapters.simulator import FaultPlan, FixedLatency, LognormalLatency

    fast = FaultPlan(latency=FixedLatency(ms=FAST_MS))
    slow_plan = FaultPlan(
        latency=LognormalLatency(p50_ms=SLOW_P50_MS, p99_ms=SLOW_P99_MS), error_rate=error_rate
    )
    return {d: slow_plan if d == slow else fast for d in DEPARTMENTS}


async def serve_simulators(data_dir: Path, slow: str) -> None:
    """The child: all four simulators on any free ports; prints their URLs (one JSON line)
    and runs until SIGTERM, stdin closing (the parent died) or ``CHILD_LIFETIME_SECONDS``."""
    from adapters.simulator import run_simulators

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stdin = sys.stdin.fileno()

    def stdin_readable() -> None:
        if not os.read(stdin, 4096):
            stop.set()

    loop.add_reader(stdin, stdin_readable)
    ports = dict.fromkeys(DEPARTMENTS, 0)
    async with run_simulators(data_dir, ports, plans(slow, 0.0), seed=7) as running:
        facts = {d: running.facts(d) for d in DEPARTMENTS}
        print(json.dumps({"urls": dict(running.urls), "facts": facts}), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), CHILD_LIFETIME_SECONDS)
    loop.remove_reader(stdin)


class SimulatorProcess:
    """The child process running the simulators; stopped (TERM, then KILL) on exit."""

    def __init__(self, data_dir: Path, slow: str) -> None:
        self.command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve-simulators",
            "--data-dir",
            str(data_dir),
            "--slow",
            slow,
        ]
        self.process: subprocess.Popen[str] | None = None
        self.urls: dict[str, str] = {}
        self.facts: dict[str, list[str]] = {}

    def __enter__(self) -> SimulatorProcess:
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=STARTUP_SECONDS):
                self.__exit__(None, None, None)
                raise SystemExit("simulators did not start in time")
        line = self.process.stdout.readline()
        if not line:
            self.__exit__(None, None, None)
            raise SystemExit("simulator process exited before listening")
        announced = json.loads(line)
        self.urls, self.facts = announced["urls"], announced["facts"]
        return self

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


async def set_faults(session: Any, url: str, slow: str, error_rate: float) -> None:
    body = plans(slow, error_rate)[slow].model_dump_json()
    async with session.post(f"{url}/v1/faults", data=body, timeout=5) as response:
        response.raise_for_status()


async def requests_served(session: Any, url: str) -> int:
    async with session.get(f"{url}/v1/stats", timeout=5) as response:
        stats: dict[str, Any] = await response.json()
        return int(stats["requests"])


# ---- the workload --------------------------------------------------------------------------


def shifted(application: Application, days: int) -> Application:
    """The same application as of ``days`` earlier: a cache miss for every fact."""
    assert application.reference_date is not None
    return application.model_copy(
        update={"reference_date": application.reference_date - timedelta(days=days)}
    )


async def run_row(
    engine: verifier.Verifier,
    row: Row,
    samples: list[Application],
    count: int,
    concurrency: int,
    slow: str,
    seed: int,
) -> Measured:
    measured = Measured()
    rng = random.Random(seed)
    repeat = [rng.random() < REPEAT_SHARE for _ in range(count)]
    completed: list[Application] = []  # the mix row's pool of repeatable applications
    next_index = 0
    fresh = 0

    def pick() -> Application | None:
        nonlocal next_index, fresh
        if next_index >= count:
            return None
        index = next_index
        next_index += 1
        if row.workload == "mix":
            if repeat[index] and completed:
                measured.repeats += 1
                return rng.choice(completed)
            fresh += 1
            return shifted(samples[fresh % len(samples)], 1 + fresh // len(samples))
        if row.workload == "warm":
            measured.repeats += 1
        return samples[index % len(samples)]

    async def worker() -> None:
        while (application := pick()) is not None:
            started = time.perf_counter()
            result = await engine.verify(application, timeout=REQUEST_TIMEOUT)
            measured.timings.append((time.perf_counter() - started) * 1000)
            measured.record(result, slow)
            completed.append(application)

    gc.collect()
    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    measured.wall = time.perf_counter() - began
    measured.breaker_state = engine.breaker_states()[slow]
    return measured


async def warm_up(engine: verifier.Verifier, samples: list[Application], count: int) -> None:
    """Untimed: fills the hedging p95 window, connection pools, and the warm row's cache."""
    warm = (samples * (count // len(samples) + 1))[:count]

    async def task() -> None:
        while warm:
            await engine.verify(warm.pop(), timeout=REQUEST_TIMEOUT)

    await asyncio.gather(*(task() for _ in range(WARMUP_TASKS)))


def row_config(
    row: Row, data_dir: Path, audit_dir: Path, sims: SimulatorProcess
) -> verifier.VerifierConfig:
    departments = {
        d: {"adapter": "http", "url": sims.urls[d], "facts": sims.facts[d]} for d in DEPARTMENTS
    }
    return verifier.load_config(
        data_dir=data_dir,
        timeout_seconds=REQUEST_TIMEOUT,
        departments=departments,
        audit={"fsync": False, "directory": audit_dir},
        telemetry={"exporter": "none"},
        resilience=row.resilience,
        cache={"enabled": row.cache, "ttl_seconds": 300},
    )


async def run(
    data_dir: Path,
    scratch: Path,
    sims: SimulatorProcess,
    rows: list[Row],
    concurrencies: list[int],
    iterations: int,
    serial_iterations: int,
    slow: str,
    warmup: int,
) -> dict[tuple[str, int], Measured]:
    import aiohttp

    samples = sample_applications(data_dir)
    results: dict[tuple[str, int], Measured] = {}
    async with aiohttp.ClientSession() as session:
        slow_url = sims.urls[slow]
        for number, row in enumerate(rows):
            await set_faults(session, slow_url, slow, row.error_rate)
            for concurrency in concurrencies:
                count = serial_iterations if concurrency == 1 else iterations
                audit_dir = scratch / f"audit-{number}-{concurrency}"
                config = row_config(row, data_dir, audit_dir, sims)
                async with verifier.build_verifier(config) as engine:
                    await warm_up(engine, samples, warmup)
                    before = await requests_served(session, slow_url)
                    measured = await run_row(
                        engine, row, samples, count, concurrency, slow, seed=number
                    )
                    measured.simulator_requests = await requests_served(session, slow_url)
                    measured.simulator_requests -= before
                results[(row.label, concurrency)] = measured
                print(
                    f"  {row.label} @ {concurrency}: {count} in {measured.wall:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
        await set_faults(session, slow_url, slow, 0.0)
    return results


# ---- the report ----------------------------------------------------------------------------


def print_table(
    results: dict[tuple[str, int], Measured], rows: list[Row], concurrencies: list[int]
) -> None:
    header = (
        f"{'row':36} {'conc':>4} {'n':>4} {'rep%':>5} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'verif/s':>8} {'p50×':>6} {'p99×':>6} {'unk%':>5} {'att/call':>8} {'extra':>5} "
        f"{'hit%':>5} {'coal%':>5} {'sim/v':>5} {'breaker':>9}"
    )
    for concurrency in concurrencies:
        print(header)
        base = results.get((rows[0].label, concurrency))
        for row in rows:
            m = results[(row.label, concurrency)]
            n = len(m.timings)
            p50 = statistics.median(m.timings)
            p99 = percentile(m.timings, 0.99)
            base_p50 = statistics.median(base.timings) if base else float("nan")
            base_p99 = percentile(base.timings, 0.99) if base else float("nan")
            breaker = m.breaker_state + (f"/{m.breaker_skips}" if m.breaker_skips else "")
            print(
                f"{row.label:36} {concurrency:4d} {n:4d} {100 * m.repeats / n:5.0f} "
                f"{p50:7.1f} {p99:7.1f} {max(m.timings):7.1f} {n / m.wall:8.1f} "
                f"{p50 / base_p50:6.2f} {p99 / base_p99:6.2f} "
                f"{100 * m.slow_failed / max(1, m.slow_facts):5.1f} "
                f"{m.slow_attempts / max(1, m.slow_calls):8.2f} {m.slow_extra:5d} "
                f"{100 * m.slow_hits / max(1, m.slow_calls):5.0f} "
                f"{100 * m.slow_shared / max(1, m.slow_calls):5.0f} "
                f"{m.simulator_requests / n:5.2f} {breaker:>9}"
            )
        print()
        if base is None:
            continue
        against = f"{rows[0].label} at concurrency {concurrency}"
        for row in rows[1:]:
            m = results[(row.label, concurrency)]
            for name, ours, theirs in (
                ("p50", statistics.median(m.timings), statistics.median(base.timings)),
                ("p99", percentile(m.timings, 0.99), percentile(base.timings, 0.99)),
            ):
                print_ratio(f"{row.label} {name}", ours, f"{against} {name}", theirs)
        print()


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--iterations", type=int, default=600, help="per row, concurrency > 1")
    made.add_argument("--serial-iterations", type=int, default=200, help="concurrency 1")
    made.add_argument("--concurrency", default="1,16", help="comma-separated")
    made.add_argument("--slow", default="housing", choices=DEPARTMENTS)
    made.add_argument(
        "--rows", default=None, help="comma-separated row numbers (1-based; default: all)"
    )
    made.add_argument("--warmup", type=int, default=28, help="untimed verifications per row")
    made.add_argument("--serve-simulators", action="store_true", help=argparse.SUPPRESS)
    if made.parse_args().serve_simulators:  # the child: its first output line is its URLs
        child = made.parse_args()
        asyncio.run(serve_simulators(child.data_dir, child.slow))
        return
    smoke = {
        "rows": "1,3",
        "concurrency": "1,4",
        "serial_iterations": 10,
        "iterations": 16,
        "warmup": 14,
    }
    args = parse_args(made, smoke)
    if not (1 <= args.iterations <= 100_000 and 1 <= args.serial_iterations <= 100_000):
        made.error("iterations 1-100000")
    concurrencies = [int(part) for part in args.concurrency.split(",")]
    if not all(1 <= c <= 256 for c in concurrencies):
        made.error("concurrency 1-256")
    rows = list(ROWS)
    if args.rows:
        chosen = [int(part) for part in args.rows.split(",")]
        if not all(1 <= number <= len(ROWS) for number in chosen):
            made.error(f"rows 1-{len(ROWS)}")
        rows = [ROWS[number - 1] for number in chosen]
    # One warning per failed department call would bury the table (the error rows).
    logging.getLogger("verifier").setLevel(logging.ERROR)
    with demo_city(args) as (data_dir, scratch), SimulatorProcess(data_dir, args.slow) as sims:
        results = asyncio.run(
            run(
                data_dir,
                scratch,
                sims,
                rows,
                concurrencies,
                args.iterations,
                args.serial_iterations,
                args.slow,
                args.warmup,
            )
        )
    print(
        f"\nslow department: {args.slow}, lognormal p50 {SLOW_P50_MS:g} ms / p99 "
        f"{SLOW_P99_MS:g} ms; others fixed {FAST_MS:g} ms; all over HTTP (simulators in a "
        f"child process); request timeout {REQUEST_TIMEOUT:g} s; audit fsync off; "
        f"warm-up {args.warmup} verifications per verifier, not measured"
    )
    print("latencies in ms; ×base = over the baseline row at the same concurrency\n")
    print_table(results, rows, concurrencies)


if __name__ == "__main__":
    main()
