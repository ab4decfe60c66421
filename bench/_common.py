"""What every benchmark shares: a registered caller, the command line (``--smoke``), a demo
city, the timing loop, and the ``ratio … (against …, same run)`` lines.

Run as scripts (``python bench/x_bench.py``), the benchmarks import this as ``_common``.
``tests/test_benchmarks_smoke.py`` runs each with ``--smoke`` (a few iterations, seconds)
and needs at least one ratio line from each: a benchmark that stops running, or prints no
comparison against a baseline of its own run, fails the build.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import verifier
from verifier.cli._demo import DEMO_CALLER
from verifier.model import Application, CallerIdentity

CALLER: CallerIdentity = DEMO_CALLER
"""Who the benchmarks call as: the demo's service hall, a system the embedded default
registers (access control refuses an unregistered one, in process and over gRPC)."""

SMOKE_PEOPLE = 1_000
"""The demo city of a smoke run: small enough to generate in a fraction of a second."""


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The benchmark's command line: its docstring as help, ``--smoke``, ``--people`` and
    ``--data-dir``; the benchmark adds its own sizes."""
    made = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument(
        "--smoke", action="store_true", help="a few iterations (seconds): does it still run?"
    )
    made.add_argument("--people", type=int, default=10_000, help="demo city to generate")
    made.add_argument("--data-dir", type=Path, default=None, help="reuse (or create) a city")
    return made


def parse_args(made: argparse.ArgumentParser, smoke: dict[str, Any]) -> argparse.Namespace:
    """Parse the command line; with ``--smoke`` the defaults become ``smoke``'s (options
    given explicitly still win)."""
    args = made.parse_args()
    if args.smoke:
        made.set_defaults(people=SMOKE_PEOPLE, **smoke)
        args = made.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (shared: compare ratios)")
    return args


@contextlib.contextmanager
def demo_city(args: argparse.Namespace) -> Iterator[tuple[Path, Path]]:
    """(data directory, scratch directory): ``--data-dir`` or a city generated into the
    scratch directory, which is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_name:
        scratch = Path(scratch_name)
        data_dir = args.data_dir or scratch / "city"
        if verifier.ensure_demo_city(data_dir, people=args.people):
            print(f"demo city: generated {args.people} people into {data_dir}")
        yield data_dir, scratch


def load_samples(data_dir: Path) -> list[dict[str, Any]]:
    """The demo city's sample applications (every item and outcome), as written."""
    samples: list[dict[str, Any]] = json.loads(
        (data_dir / "samples.json").read_text(encoding="utf-8")
    )["samples"]
    return samples


def sample_applications(data_dir: Path, item: str | None = None) -> list[Application]:
    """The sample applications parsed (only ``item``'s if given)."""
    return [
        verifier.parse_application(sample["application"])
        for sample in load_samples(data_dir)
        if item is None or sample["application"]["service_item"] == item
    ]


def serialized_requests(samples: Sequence[dict[str, Any]]) -> list[bytes]:
    """Each sample application as a serialized VerifyRequest from ``CALLER``, built once."""
    from verifier.service import _convert

    return [
        _convert.application_to_proto(
            verifier.parse_application(sample["application"]), CALLER
        ).SerializeToString()
        for sample in samples
    ]


def percentile(samples: Sequence[float], fraction: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def timed(
    call: Callable[[int], Awaitable[object]], iterations: int, *, warmup: int
) -> list[float]:
    """Microseconds per ``call(index)`` for ``iterations`` calls, after ``warmup`` untimed
    ones (caches, SQLite pages, code paths) and a garbage collection."""
    for index in range(warmup):
        await call(index)
    gc.collect()
    timings = []
    for index in range(iterations):
        started = time.perf_counter()
        await call(index)
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def ratio_line(label: str, value: float, baseline_label: str, baseline: float) -> str:
    """``ratio <label> = value/baseline× (against <baseline>, same run)``: the number to
    compare across runs on a shared machine (absolute times drift, ratios much less)."""
    return f"ratio {label} = {value / baseline:.3f}× (against {baseline_label}, same run)"


def print_ratio(label: str, value: float, baseline_label: str, baseline: float) -> None:
    print(ratio_line(label, value, baseline_label, baseline), flush=True)


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def measured_in_child(script: str, row: str, args: list[str]) -> dict[str, float]:
    """Run ``script`` for one ``row`` in a process of its own (so that its peak memory and
    its cores are its own): the numbers it prints as JSON on its last line."""
    done = subprocess.run(
        [sys.executable, script, *args, "--row", row],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
