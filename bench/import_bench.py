"""What an embedder pays to start: fresh interpreters, against a bare ``python -c pass``.

    python bench/import_bench.py [--runs 15] [--code-root DIR] [--people 2000] [--smoke]

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

``--code-root DIR`` measures the ``verifier`` package in DIR (another checkout, e.g. main's
code before a change) instead of the installed one: DIR goes first on the children's
``PYTHONPATH``; the line ``verifier from …`` says which was measured.
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
    wall_ms: list[float] = field(default_factory=list)
    modules: int = 0


def run(case: Case, cwd: Path, env: dict[str, str], suffix: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-c", case.code + suffix, *case.args],
        cwd=cwd,
        env=env,
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


def measure(cases: list[Case], runs: int, cwd: Path, env: dict[str, str]) -> None:
    for case in cases:
        run(case, cwd, env)  # warm the file-system cache and the .pyc files first
        case.modules = int(run(case, cwd, env, COUNT_MODULES).split()[-1])
    for _ in range(runs):
        for case in cases:
            started = time.perf_counter()
            run(case, cwd, env)
            case.wall_ms.append((time.perf_counter() - started) * 1000)


def report(cases: list[Case]) -> None:
    print(f"\n{'case':<26} {'median ms':>10} {'modules':>8}")
    for case in cases:
        print(f"{case.label:<26} {median(case.wall_ms):>10.1f} {case.modules:>8}")
    base = cases[0]
    print()
    for case in cases[1:]:
        print_ratio(f"{case.label} wall time", median(case.wall_ms), BASELINE, median(base.wall_ms))
        print_ratio(f"{case.label} modules", case.modules, BASELINE, base.modules)


def main() -> None:
    made = parser(__doc__.split("\n\n")[0])
    made.set_defaults(people=2_000)
    made.add_argument("--runs", type=int, default=15, help="interpreters started per case")
    made.add_argument("--code-root", type=Path, default=None, help="measure DIR's verifier")
    args = parse_args(made, smoke={"runs": 2})
    env = children_env(args.code_root)
    with demo_city(args) as (data_dir, scratch):
        # Run from the scratch directory: a checkout in the working directory would shadow
        # the verifier being measured (``-c`` puts the working directory first on sys.path).
        which = Case("which", "import verifier; print(verifier.__file__)")
        print(f"verifier from {run(which, scratch, env).strip()}")
        cases = [
            Case(BASELINE, "pass"),
            Case("import verifier", "import verifier"),
            Case("import verifier.service", "import verifier.service"),
            Case("first verify", FIRST_VERIFY, (str(data_dir),)),
        ]
        measure(cases, args.runs, scratch, env)
    report(cases)


if __name__ == "__main__":
    main()
