"""What an embedder pays to start: fresh interpreters, against a bare ``python -c pass``.

    python bench/import_bench.py [--runs 15] [--compare-with DIR] [--people 2000] [--smoke]

Each case is its own interpreter, started ``--runs`` times, the cases taking turns (so a
load spike on the shared machine falls on all of them alike):

- ``python -c pass``: the interpreter alone, the baseline;
- ``import verifier``: the library (issue 11: without the gRPC edge, OTLP exporters,
  simulators or the CLI);
- ``import verifier.service``: the gRPC edge, for comparison;
- ``first verify``: ``load_config`` + ``build_verifier`` + one ``verify`` of a demo sample
  on the embedded default (SQLite departments), as ``examples/embed.py`` does.

Prints the median wall time of each (the whole interpreter, start to exit) and the modules
it left in ``sys.modules``, each as a ratio against ``python -c pass`` of the same run.

``--compare-with DIR`` also runs the ``verifier`` cases on the package in DIR (another
checkout, e.g. the code before a change: DIR goes first on those children's
``PYTHONPATH``), in the same turns, and prints each case against its DIR twin: a before and
after from one run. The ``verifier from …`` lines say which code each set measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import demo_city, median, parse_args, parser, print_ratio

BASELINE = "python -c pass"

FIRST_VERIFY = """
import asyncio, json, sys
from pathlib import Path

import verifier

config = verifier.load_config(data_dir=Path(sys.argv[1]))
sample = json.loads((config.data_dir / "samples.json").read_text(encoding="utf-8"))["samples"][0]


async def verify_one() -> None:
    async with verifier.build_verifier(config) as engine:
        await engine.verify(verifier.parse_application(sample["application"]))


asyncio.run(verify_one())
"""

COUNT_MODULES = "\nimport sys as _sys\nprint(len(_sys.modules))\n"
"""Appended to a case's code for the one run that counts (``print`` imports nothing)."""


@dataclass
class Case:
    label: str
    code: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    wall_ms: list[float] = field(default_factory=list)
    modules: int = 0


def run(case: Case, cwd: Path, suffix: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-c", case.code + suffix, *case.args],
        cwd=cwd,
        env=case.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{case.label} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def children_env(code_root: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if code_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(code_root.resolve()), env.get("PYTHONPATH")])
        )
    return env


def verifier_cases(data_dir: Path, env: dict[str, str], tag: str = "") -> list[Case]:
    return [
        Case(f"import verifier{tag}", "import verifier", env=env),
        Case(f"import verifier.service{tag}", "import verifier.service", env=env),
        Case(f"first verify{tag}", FIRST_VERIFY, (str(data_dir),), env),
    ]


def measure(cases: list[Case], runs: int, cwd: Path) -> None:
    for case in cases:
        run(case, cwd)  # warm the file-system cache and the .pyc files first
        case.modules = int(run(case, cwd, COUNT_MODULES).split()[-1])
    for _ in range(runs):
        for case in cases:
            started = time.perf_counter()
            run(case, cwd)
            case.wall_ms.append((time.perf_counter() - started) * 1000)


def report(cases: list[Case], twins: list[tuple[Case, Case]]) -> None:
    width = max(len(case.label) for case in cases)
    print(f"\n{'case':<{width}} {'median ms':>10} {'modules':>8}")
    for case in cases:
        print(f"{case.label:<{width}} {median(case.wall_ms):>10.1f} {case.modules:>8}")
    base = cases[0]
    print()
    for case in cases[1:]:
        print_ratio(f"{case.label} wall time", median(case.wall_ms), BASELINE, median(base.wall_ms))
        print_ratio(f"{case.label} modules", case.modules, BASELINE, base.modules)
    for case, twin in twins:
        print_ratio(
            f"{case.label} wall time", median(case.wall_ms), twin.label, median(twin.wall_ms)
        )
        print_ratio(f"{case.label} modules", case.modules, twin.label, twin.modules)


def main() -> None:
    made = parser(__doc__.split("\n\n")[0])
    made.set_defaults(people=2_000)
    made.add_argument("--runs", type=int, default=15, help="interpreters started per case")
    made.add_argument("--compare-with", type=Path, default=None, help="DIR's verifier too")
    args = parse_args(made, smoke={"runs": 2})
    with demo_city(args) as (data_dir, scratch):
        ours = verifier_cases(data_dir, children_env(None))
        theirs = (
            verifier_cases(data_dir, children_env(args.compare_with), f" [{args.compare_with}]")
            if args.compare_with is not None
            else []
        )
        # Run from the scratch directory: a checkout in the working directory would shadow
        # the verifier being measured (``-c`` puts the working directory first on sys.path).
        for code in filter(None, (ours, theirs)):
            which = Case("which", "import verifier; print(verifier.__file__)", env=code[0].env)
            print(f"verifier from {run(which, scratch).strip()}")
        cases = [Case(BASELINE, "pass"), *ours, *theirs]
        measure(cases, args.runs, scratch)
    report(cases, list(zip(ours, theirs, strict=False)))


if __name__ == "__main__":
    main()
