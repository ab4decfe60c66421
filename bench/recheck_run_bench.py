"""``verifier recheck`` end to end on a caseload file, against a ``verify`` loop (same rows).

    python bench/recheck_run_bench.py --data-dir DIR [--people N] [--caseload-rows N]
        [--item unemployment_insurance_recheck] [--sample 2000] [--kill-after SECONDS]
        [--smoke]

The city (``--people``, with each caseload made ``--caseload-rows`` rows: its cases
repeated with new case numbers, ``verifier demo-city --caseload-rows``) is generated into
``--data-dir`` unless it is there. Then, each in a process of its own:

- the baseline: ``await engine.verify(application)`` for the first ``--sample`` rows of the
  caseload, one after another (the per-application path, fact cache off), as the same
  caller (the embedded one);
- the run: ``verifier recheck`` over the whole caseload, under ``/usr/bin/time -v`` (wall
  time, peak memory). With ``--kill-after``, the run is killed with SIGKILL that many
  seconds in and started again with ``--resume``; the rate counts both processes' wall
  time, and the peak memory is the larger of the two.

Then the output is checked: every input row exactly once (rows 1…N, no row twice), and its
decisions against the city's planted counts. Timings drift on a shared 2-core machine:
compare the ratio within one run.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import parse_args, parser, print_ratio

import verifier

TIME = "/usr/bin/time"
PEAK = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def loop_rate(data_dir: Path, caseload: Path, item_id: str, sample: int, audit: Path) -> float:
    """Applications per second of one ``verify`` after another over the first rows, audited
    into ``audit`` (its own log: one writer per log, and a run may hold the city's)."""
    code = f"""
import asyncio, csv, itertools, json, time
import verifier
from verifier.caseload import application_of

async def main():
    config = verifier.load_config(
        data_dir={str(data_dir)!r},
        audit={{"directory": {str(audit)!r}}},
        cache={{"enabled": False}},
    )
    async with verifier.build_verifier(config) as engine:
        item = engine.items.get({item_id!r})
        with open({str(caseload)!r}, encoding="utf-8", newline="") as handle:
            rows = list(itertools.islice(csv.DictReader(handle), {sample}))
        started = time.perf_counter()
        for number, row in enumerate(rows, start=1):
            await engine.verify(application_of(number, row, item))
        print(json.dumps(len(rows) / (time.perf_counter() - started)))

asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def timed_run(command: list[str], kill_after: float | None, log: Path) -> tuple[float, int, int]:
    """(wall seconds, peak KiB, exit status) of ``command`` under ``time -v``, its output
    appended to ``log``; killed with SIGKILL after ``kill_after`` seconds if given."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report, log.open("a") as out:
        wrapped = [TIME, "-v", "-o", report.name, *command] if os.path.exists(TIME) else command
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, stdout=out, stderr=subprocess.STDOUT)
        try:
            status = process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            # The run itself, not the ``time`` wrapping it: as if the machine lost it.
            os.kill(_child_of(process.pid), signal.SIGKILL)
            status = process.wait()
        seconds = time.perf_counter() - started
        found = PEAK.search(Path(report.name).read_text(encoding="utf-8"))
    return seconds, int(found.group(1)) if found else 0, status


def _child_of(pid: int) -> int:
    """The process ``time`` started (itself when there is no ``time``)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    listed = children.read_text().split() if children.exists() else []
    return int(listed[0]) if listed else pid


def _last_progress(log: Path) -> str:
    lines = [line for line in log.read_text().splitlines() if line.startswith("re-check: ")]
    return lines[-1].removeprefix("re-check: ") if lines else "no progress line yet"


def checked_output(output: Path, rows: int, planted: dict[str, object]) -> dict[str, int]:
    """The output's decisions, once every input row is found in it exactly once."""
    seen = bytearray(rows + 1)
    decisions: dict[str, int] = {}
    with output.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            number = int(row["row"])
            if not 1 <= number <= rows or seen[number]:
                raise SystemExit(f"output row {number}: not an input row, or there twice")
            seen[number] = 1
            decisions[row["decision"]] = decisions.get(row["decision"], 0) + 1
    if sum(seen) != rows:
        raise SystemExit(f"{rows - sum(seen)} input rows missing from the output")
    no_longer = sum(planted["no_longer_qualify"].values())  # type: ignore[attr-defined]
    if decisions.get("NOT_ELIGIBLE", 0) != no_longer:
        raise SystemExit(f"decisions {decisions}: {no_longer} planted as no longer qualifying")
    return decisions


def main() -> None:
    made = parser(__doc__)
    made.add_argument("--item", default="unemployment_insurance_recheck")
    made.add_argument("--caseload-rows", type=int, default=None)
    made.add_argument("--sample", type=int, default=2_000)
    made.add_argument("--kill-after", type=float, default=None)
    args = parse_args(made, smoke={"caseload_rows": 300, "sample": 100})
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_name:
        scratch = Path(scratch_name)
        data_dir = args.data_dir or scratch / "city"
        generated = verifier.ensure_demo_city(
            data_dir, people=args.people, caseload_rows=args.caseload_rows
        )
        if generated:
            print(f"demo city: {args.people} people into {data_dir}")
        planted = json.loads((data_dir / "caseloads.json").read_text(encoding="utf-8"))
        caseload = planted["caseloads"][args.item]
        rows = caseload["rows"]
        source = data_dir / caseload["file"]
        output = scratch / "results.csv"
        command = [sys.executable, "-m", "verifier.cli", "recheck",
                   "--data-dir", str(data_dir), "--item", args.item,
                   "--input", str(source), "--output", str(output)]  # fmt: skip
        print(f"{rows:,} rows of {args.item} ({caseload.get('distinct_cases', rows):,} distinct)")
        log = scratch / "recheck.log"
        first = timed_run(command, args.kill_after, log)
        runs = [first]
        if first[2] != 0:
            done = _last_progress(log)
            print(f"killed after {first[0]:.1f} s (status {first[2]}, {done}); resuming")
            runs.append(timed_run([*command, "--resume"], None, log))
            if runs[-1][2] != 0:
                raise SystemExit(f"the resumed run failed with status {runs[-1][2]}")
        decisions = checked_output(output, rows, caseload)
        seconds = sum(run[0] for run in runs)
        peak_mib = max(run[1] for run in runs) / 1024
        print(f"every input row exactly once in the output; decisions {decisions}")
        print(f"last progress line of the run: {_last_progress(log)}")
        sample = min(args.sample, rows)
        baseline = loop_rate(data_dir, source, args.item, sample, scratch / "audit-loop")
    rate = rows / seconds
    print(f"\n{'':28} {'seconds':>9} {'apps/s':>9} {'peak MiB':>9}")
    print(f"{'verify loop (first rows)':28} {'':>9} {baseline:9.0f}")
    print(f"{'verifier recheck':28} {seconds:9.1f} {rate:9.0f} {peak_mib:9.1f}")
    print(f"one minute for {rows:,} rows needs {rows / 60:,.0f} apps/s: {60 * rate / rows:.3f}×")
    print_ratio("verifier recheck applications/s", rate, "verify loop applications/s", baseline)


if __name__ == "__main__":
    main()
