"""``verifier items test FILES…``: run service-item scenarios against the configured items.

The items, their dated parameters and the catalogue are the configuration's (``--config``:
``catalogue``, ``items_dir``, ``parameters_dir``), so a deployment tests the rules it
serves. Prints one line per scenario and, for each failure, how it differed; exit code 1
if any failed, 2 if a file could not be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from verifier.cli import _local
from verifier.scenarios import ScenarioFileError, read_scenario_file, run_scenario, scenario_items


def add_items_test_command(items: argparse.ArgumentParser) -> None:
    actions = items.add_subparsers(dest="items_action", metavar="{test}")
    test = actions.add_parser("test", help="run scenario files against the configured items")
    _local.add_config_arguments(test)
    test.add_argument("files", nargs="+", type=Path, metavar="FILE", help="scenario YAML files")
    test.set_defaults(run=run_items_test)


def run_items_test(args: argparse.Namespace) -> int:
    config = _local.config_from(args)
    items = scenario_items(config.catalogue, config.items_dir, config.parameters_dir)
    passed = failed = 0
    for path in args.files:
        try:
            entries = read_scenario_file(path)
        except ScenarioFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for entry in entries:
            outcome = run_scenario(entry, items)
            if outcome.passed:
                passed += 1
                print(f"PASS  {path.name}:{entry.line}  {entry.name}")
            else:
                failed += 1
                print(f"FAIL  {path.name}:{entry.line}  {entry.name}")
                print("\n".join("      " + line for line in outcome.report()[1:]))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
