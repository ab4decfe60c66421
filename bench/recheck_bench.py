"""Bulk re-verification (``Verifier.decide_many``) against a per-application ``decide`` loop.

    python bench/recheck_bench.py [--people 10000] [--applications 10000] [--smoke]

The demo city's three re-check caseloads (subsistence assistance, affordable housing,
unemployment benefit), cycled (with new case numbers) to ``--applications`` rows, verified
on the embedded default (SQLite departments, file audit log with fsync, fact cache off in
both rows: the bulk path does not use it):

- baseline: ``await decide(application)`` for each row, one after another;
- bulk: ``decide_many`` over the same rows (``--batch-size``, default the library's).

Each row runs in a process of its own (this script again, with ``--row``), so that its
peak memory (``ru_maxrss``) is its own; the applications are made lazily from the rows in
both, read from the caseload files as wanted, so memory shows what the verification holds,
not the caseload.

Timings drift on a shared 2-core machine: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import resource
import time
from collections.abc import Iterator
from pathlib import Path

from _common import CALLER, demo_city, measured_in_child, parse_args, parser, print_ratio

import verifier
from verifier.caseload import Rejected, application_of
from verifier.engine import Verifier
from verifier.engine._bulk import DEFAULT_BATCH_SIZE
from verifier.model import Application

ITEMS = (
    "social_assistance_recheck",
    "affordable_housing_recheck",
    "unemployment_insurance_recheck",
)
BASELINE = "decide loop"
BULK = "decide_many"


def caseload_rows(data_dir: Path) -> Iterator[dict[str, str]]:
    """The caseloads' rows over and over, read from the files as wanted (none kept)."""
    while True:
        for item in ITEMS:
            path = data_dir / f"caseload_{item}.csv"
            with path.open(encoding="utf-8", newline="") as handle:
                yield from csv.DictReader(handle)


def applications(
    engine: Verifier, rows: Iterator[dict[str, str]], count: int
) -> Iterator[Application]:
    """``count`` applications from the rows in turn, each made only when wanted."""
    for number, row in enumerate(itertools.islice(rows, count), start=1):
        item = engine.items.get(row["service_item"])
        parsed = application_of(number, {**row, "case_no": f"BENCH-{number}"}, item)
        assert not isinstance(parsed, Rejected), parsed
        yield parsed


async def run_row(row: str, data_dir: Path, scratch: Path, count: int, batch: int) -> float:
    """Seconds to verify ``count`` applications the ``row`` way."""
    config = verifier.load_config(
        data_dir=data_dir, audit={"directory": scratch / f"audit-{row}"}, cache={"enabled": False}
    )
    rows = caseload_rows(data_dir)
    async with verifier.build_verifier(config) as engine:
        started = time.perf_counter()
        if row == BASELINE:
            for application in applications(engine, rows, count):
                await engine.decide(application, caller=CALLER)
        else:
            stream = engine.decide_many(
                applications(engine, rows, count), caller=CALLER, batch_size=batch
            )
            async for outcome in stream:
                assert outcome.error is None, outcome.error
        return time.perf_counter() - started


def measured(row: str, args: list[str]) -> dict[str, float]:
    """Run ``row`` in a process of its own: its seconds and peak memory."""
    return measured_in_child(__file__, row, args)


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--applications", type=int, default=10_000)
    made.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    made.add_argument("--row", choices=(BASELINE, BULK), help=argparse.SUPPRESS)
    args = parse_args(made, smoke={"applications": 300})
    if args.row is not None:  # a child: one row, its numbers as JSON on the last line
        with demo_city(args) as (data_dir, scratch):
            seconds = asyncio.run(
                run_row(args.row, data_dir, scratch, args.applications, args.batch_size)
            )
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))
        return
    with demo_city(args) as (data_dir, _):
        sizes = {"people": args.people, "applications": args.applications}
        common = [f"--{name}={value}" for name, value in sizes.items()]
        common += [f"--data-dir={data_dir}", f"--batch-size={args.batch_size}"]
        results = {row: measured(row, common) for row in (BASELINE, BULK)}
    print(f"\n{args.people} people, {args.applications} applications, batch {args.batch_size}\n")
    print(f"{'':14} {'seconds':>9} {'apps/s':>9} {'peak MiB':>9}")
    rates = {}
    for row, result in results.items():
        rates[row] = args.applications / result["seconds"]
        print(f"{row:14} {result['seconds']:9.2f} {rates[row]:9.0f} {result['peak_mib']:9.1f}")
    print()
    print_ratio(
        f"{BULK} applications/s", rates[BULK], f"{BASELINE} applications/s", rates[BASELINE]
    )
    print_ratio(
        f"{BULK} peak memory",
        results[BULK]["peak_mib"],
        f"{BASELINE} peak memory",
        results[BASELINE]["peak_mib"],
    )


if __name__ == "__main__":
    main()
