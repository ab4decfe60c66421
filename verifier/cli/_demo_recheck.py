"""The demo's last part: a small bulk re-check of one of the demo city's caseloads.

Run as an operator would run it — ``verifier recheck`` in a process of its own, once the
demo's server has stopped (the audit log takes one writer at a time) — over the first
``DEMO_RECHECK_ROWS`` rows of the unemployment-benefit caseload, and its summary shown.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from verifier.config import VerifierConfig

DEMO_RECHECK_ITEM = "unemployment_insurance_recheck"
DEMO_RECHECK_ROWS = 3_000
"""A few thousand: seconds, not minutes (the default city's caseload has about 1,500)."""
RECHECK_SECONDS = 300.0


async def show_recheck(config: VerifierConfig, python: str) -> int:
    """Re-check the demo caseload into ``<data dir>/recheck/``; the command's exit status
    (0, or 4 if a row was rejected: both a finished run)."""
    source = config.data_dir / f"caseload_{DEMO_RECHECK_ITEM}.csv"
    folder = config.data_dir / "recheck"
    folder.mkdir(parents=True, exist_ok=True)
    caseload = _first_rows(source, folder / "caseload.csv", DEMO_RECHECK_ROWS)
    output = folder / "results.csv"
    for stale in folder.glob("results.*"):  # an earlier demo's output, complete or not
        stale.unlink()
    print(f"\nbulk re-check of {DEMO_RECHECK_ITEM} (verifier recheck, batched reads):")
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        python, "-m", "verifier.cli", "recheck", "--data-dir", str(config.data_dir),
        "--item", DEMO_RECHECK_ITEM, "--input", str(caseload), "--output", str(output),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    printed, _ = await asyncio.wait_for(process.communicate(), RECHECK_SECONDS)
    seconds = time.perf_counter() - started
    for line in printed.decode().splitlines():
        if line.strip() and not line.startswith("re-check: "):  # progress lines
            print(f"  {line}")
    print(f"  ({seconds:.1f} s with the process's start; exit status {process.returncode})")
    return process.returncode if process.returncode is not None else 1


def _first_rows(source: Path, target: Path, rows: int) -> Path:
    """``source`` cut to its header and first ``rows`` rows (a caseload row is one line)."""
    with (
        source.open(encoding="utf-8", newline="") as read,
        target.open("w", encoding="utf-8", newline="") as written,
    ):
        written.writelines(itertools.islice(read, rows + 1))
    return target
