"""``verifier.spark`` on Spark ``local[2]`` against the single-process runner, per core.

    python bench/spark_bench.py [--people 10000] [--applications 10000] [--smoke]

One caseload file — the demo city's unemployment-benefit caseload, cycled (new case
numbers) to ``--applications`` rows — re-checked on the embedded default (SQLite
departments, file audit log with fsync):

- baseline: the single-process runner, ``Verifier.decide_many`` over the file's rows in one
  process (what ``verifier recheck`` runs, without its output files), on one core;
- Spark: ``recheck_dataframe`` over the same file on ``local[2]`` — two Python workers, one
  Verifier each — every output row computed (``write.format("noop")``), the file split
  into ``--partitions`` partitions. The session's start-up is timed apart, not in the rate.

Rates are applications per second, and per core (the single process uses one core, Spark
``local[2]`` two). Each row runs in a process of its own. Timings drift on a shared 2-core
machine: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from _common import demo_city, measured_in_child, parse_args, parser, print_ratio

import verifier
from verifier.caseload import Rejected, application_of, outcome_row
from verifier.cli._recheck_rows import read_rows

ITEM = "unemployment_insurance_recheck"
SINGLE = "single process"
SPARK = "spark local[2]"
CORES = {SINGLE: 1, SPARK: 2}


def write_caseload(data_dir: Path, path: Path, count: int) -> None:
    """``count`` rows of the item's caseload, cycled, each with a case number of its own."""
    source = data_dir / f"caseload_{ITEM}.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        for number, row in enumerate(itertools.islice(itertools.cycle(rows), count), start=1):
            writer.writerow({**row, "case_no": f"BENCH-{number}"})


def config_file(data_dir: Path, scratch: Path, row: str) -> Path:
    path = scratch / f"{row.replace(' ', '-')}.json"
    audit = {"directory": str(scratch / f"audit-{row.replace(' ', '-')}")}
    path.write_text(json.dumps({"data_dir": str(data_dir), "audit": audit}), encoding="utf-8")
    return path


async def single_process(config: Path, caseload: Path) -> int:
    """Rows re-checked by one process's ``decide_many`` (and made result rows)."""
    async with verifier.build_verifier(verifier.load_config(config)) as engine:
        item = engine.items.get(ITEM)
        numbers: list[int] = []

        def applications() -> Iterator[verifier.Application]:
            for number, row in read_rows(caseload):
                parsed = application_of(number, row, item)
                assert not isinstance(parsed, Rejected), parsed
                numbers.append(number)
                yield parsed

        done = 0
        async for outcome in engine.decide_many(applications()):
            row = outcome_row(numbers[outcome.index], outcome)
            assert not isinstance(row, Rejected), row
            done += 1
        return done


def spark_run(config: Path, caseload: Path, partitions: int) -> dict[str, float]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    from verifier.spark import recheck_dataframe

    started = time.perf_counter()
    split = caseload.stat().st_size // partitions + 1
    session = (
        SparkSession.builder.master("local[2]")
        .appName("verifier-spark-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.files.maxPartitionBytes", str(split))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    try:
        frame = session.read.csv(str(caseload), header=True)
        began = time.perf_counter()
        output = recheck_dataframe(frame, item=ITEM, config_path=str(config))
        output.write.format("noop").mode("overwrite").save()
        seconds = time.perf_counter() - began
    finally:
        session.stop()
    return {"seconds": seconds, "startup": startup}


def measured(row: str, args: list[str]) -> dict[str, float]:
    return measured_in_child(__file__, row, args)


def child(args: argparse.Namespace) -> None:
    """One row, its numbers as JSON on the last line."""
    config, caseload = Path(args.config), Path(args.caseload)
    if args.row == SINGLE:
        started = time.perf_counter()
        done = asyncio.run(single_process(config, caseload))
        assert done == args.applications, done
        result = {"seconds": time.perf_counter() - started, "startup": 0.0}
    else:
        result = spark_run(config, caseload, args.partitions)
    print(json.dumps(result))


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--applications", type=int, default=10_000)
    made.add_argument("--partitions", type=int, default=8, help="of the caseload file")
    made.add_argument("--row", choices=(SINGLE, SPARK), help=argparse.SUPPRESS)
    made.add_argument("--config", help=argparse.SUPPRESS)
    made.add_argument("--caseload", help=argparse.SUPPRESS)
    args = parse_args(made, smoke={"applications": 200, "partitions": 4})
    if args.row is not None:
        child(args)
        return
    with demo_city(args) as (data_dir, scratch):
        caseload = scratch / "caseload.csv"
        write_caseload(data_dir, caseload, args.applications)
        results = {}
        for row in (SINGLE, SPARK):
            common = [f"--applications={args.applications}", f"--partitions={args.partitions}"]
            common += [f"--config={config_file(data_dir, scratch, row)}", f"--caseload={caseload}"]
            results[row] = measured(row, common)
    print(f"\n{args.people} people, {args.applications} applications ({ITEM})\n")
    print(f"{'':16} {'seconds':>9} {'apps/s':>9} {'cores':>6} {'apps/s/core':>12} {'start s':>8}")
    rates, per_core = {}, {}
    for row, result in results.items():
        rates[row] = args.applications / result["seconds"]
        per_core[row] = rates[row] / CORES[row]
        print(
            f"{row:16} {result['seconds']:9.2f} {rates[row]:9.0f} {CORES[row]:6d} "
            f"{per_core[row]:12.0f} {result['startup']:8.1f}"
        )
    print()
    print_ratio(f"{SPARK} applications/s", rates[SPARK], f"{SINGLE} applications/s", rates[SINGLE])
    print_ratio(
        f"{SPARK} applications/s per core",
        per_core[SPARK],
        f"{SINGLE} applications/s per core",
        per_core[SINGLE],
    )


if __name__ == "__main__":
    main()
