"""Micro-benchmark: one department ``fetch`` over HTTP (simulator) against the SQL adapter.

For each department, in the same run, over the demo city's sample queries:

- ``sql``: the department's SQL adapter in this process (what the embedded default does);
- ``http``: ``HttpDepartmentAdapter`` → real httpx over 127.0.0.1 → the simulator (aiohttp)
  → the same SQL adapter, no injected latency or faults. By default the simulators run in
  their own process (``verifier simulate``), as a department would; ``--in-process`` runs
  them in this event loop instead (then client and server share one core);
- ``http floor``: a plain httpx GET of the simulator's ``/v1/stats`` on a pooled client,
  the cost of the HTTP round trip alone;
- ``http x16``: 16 fetches in flight on one adapter (pooled keep-alive connections),
  reported as time per fetch (wall time / fetches).

"client CPU" is this process's CPU time per fetch: with the simulators in their own process
it is the HTTP client's cost alone (httpx + the adapter's checks).

Prints median and p99 in microseconds. Compare ratios within one run, never absolute times
across runs (docs/architecture.md, "What things cost": ±20 % noise on this machine).

    python bench/http_adapter_bench.py [--people 2000] [--calls 2000] [--data-dir DIR] [--smoke]
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path

import httpx
from _common import demo_city, parse_args, parser, print_ratio

from adapters.demo_city import load_samples
from adapters.http import HttpDepartmentAdapter, settings_from
from adapters.simulator import run_simulators
from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest
from verifier.catalogue import load_catalogue
from verifier.model import parse_resident_id

DEPARTMENTS = tuple(load_catalogue().departments)
"""Every department the packaged catalogue names, each timed through its simulator."""
CONCURRENCY = 16


def sample_queries(data_dir: Path) -> dict[str, list[DepartmentQuery]]:
    found: dict[str, list[DepartmentQuery]] = {d: [] for d in DEPARTMENTS}
    for sample in load_samples(data_dir / "samples.json"):
        by_department: dict[str, list[FactRequest]] = {}
        for index, fact in enumerate(sample.facts):
            subjects = {
                slot: parse_resident_id(sample.subject_id(role))
                for slot, role in fact.subjects.items()
            }
            request = FactRequest(f"k{index}", fact.fact, subjects, dict(fact.parameters))
            by_department.setdefault(fact.department, []).append(request)
        reference = sample.application["reference_date"]
        for department, requests in by_department.items():
            query = DepartmentQuery(department, date.fromisoformat(reference), tuple(requests))
            if department in found:  # the departments this benchmark serves over HTTP
                found[department].append(query)
    return found


async def time_calls(
    call: Callable[[DepartmentQuery], Awaitable[object]], queries: list[DepartmentQuery], n: int
) -> list[float]:
    for query in queries:  # warm: connections, statement caches
        await call(query)
    times = []
    for index in range(n):
        started = time.perf_counter()
        await call(queries[index % len(queries)])
        times.append(time.perf_counter() - started)
    return times


async def time_concurrent(
    adapter: DepartmentAdapter, queries: list[DepartmentQuery], n: int
) -> tuple[float, float]:
    """Wall time and this process's CPU time per fetch, ``CONCURRENCY`` fetches in flight."""
    pending = iter(range(n))

    async def worker() -> None:
        for index in pending:
            await adapter.fetch(queries[index % len(queries)])

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return (time.perf_counter() - started) / n, (time.process_time() - cpu) / n


@contextlib.asynccontextmanager
async def simulator_urls(data_dir: Path, in_process: bool) -> AsyncIterator[dict[str, str]]:
    if in_process:
        async with run_simulators(data_dir, dict.fromkeys(DEPARTMENTS, 0)) as running:
            yield dict(running.urls)
        return
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "verifier.cli", "simulate", "--data-dir", str(data_dir),
        "--port-base", "0", "--latency-ms", "0",
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    urls: dict[str, str] = {}
    try:
        while len(urls) < len(DEPARTMENTS):
            words = (await process.stdout.readline()).decode().split()
            if not words:
                raise RuntimeError("verifier simulate stopped before it was ready")
            if words[0] == "simulating":
                urls[words[1]] = words[3]
        yield urls
    finally:
        process.send_signal(signal.SIGTERM)
        await process.stdout.read()
        await process.wait()


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    median = statistics.median(ordered) * 1e6
    p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1e6
    return f"  {label:<10} median {median:8.0f} µs   p99 {p99:8.0f} µs"


async def bench_department(
    department: str, data_dir: Path, url: str, queries: list[DepartmentQuery], calls: int
) -> None:
    module = importlib.import_module(f"adapters.{department}")
    sql: DepartmentAdapter = module.create_adapter(
        {"url": f"sqlite:///{(data_dir / f'{department}.db').as_posix()}"}
    )
    http = HttpDepartmentAdapter(settings_from({"department": department, "url": url}))
    plain = httpx.AsyncClient(base_url=url, trust_env=False)

    async def floor(query: DepartmentQuery) -> object:
        return await plain.get("/v1/stats")

    try:
        direct = await time_calls(sql.fetch, queries, calls)
        cpu = time.process_time()
        remote = await time_calls(http.fetch, queries, calls)
        remote_cpu = (time.process_time() - cpu) / (calls + len(queries))
        bare = await time_calls(floor, queries, calls)
        per_fetch, per_fetch_cpu = await time_concurrent(http, queries, calls)
    finally:
        await sql.aclose()
        await http.aclose()
        await plain.aclose()
    ratio = statistics.median(remote) / statistics.median(direct)
    print(f"{department} ({len(queries)} sample queries, {calls} calls)")
    print(summary("sql", direct))
    print(summary("http", remote) + f"   ({ratio:.0f}x sql; client CPU {remote_cpu * 1e6:.0f} µs)")
    print(summary("http floor", bare) + "   (plain httpx GET /v1/stats: the transport)")
    print(
        f"  http x{CONCURRENCY:<5} {per_fetch * 1e6:8.0f} µs per fetch (wall / fetches; "
        f"client CPU {per_fetch_cpu * 1e6:.0f} µs)"
    )
    sql_median = statistics.median(direct)
    print_ratio(
        f"{department} http fetch median", statistics.median(remote), "sql median", sql_median
    )
    print_ratio(
        f"{department} http floor median", statistics.median(bare), "sql median", sql_median
    )


async def bench(data_dir: Path, calls: int, in_process: bool) -> None:
    queries = sample_queries(data_dir)
    async with simulator_urls(data_dir, in_process) as urls:
        for department, url in urls.items():
            if not queries.get(department):  # no sample asks it (the courts, so far)
                print(f"{department}: no sample query, not measured")
                continue
            await bench_department(department, data_dir, url, queries[department], calls)


def main() -> None:
    made = parser(__doc__.splitlines()[0])
    made.set_defaults(people=2_000)
    made.add_argument("--calls", type=int, default=2_000)
    made.add_argument("--in-process", action="store_true", help="simulators in this loop")
    args = parse_args(made, smoke={"calls": 50})
    with demo_city(args) as (data_dir, _):
        asyncio.run(bench(data_dir, args.calls, args.in_process))


if __name__ == "__main__":
    main()
