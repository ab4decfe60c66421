"""The pytest plugin: scenario files collected as tests.

A deployment turns it on in its ``conftest.py`` — ``pytest_plugins =
["verifier.scenarios.pytest_plugin"]`` — or with ``pytest -p verifier.scenarios.pytest_plugin``.
It is not registered for every pytest run (no ``pytest11`` entry point): a plugin loaded
that early imports ``verifier`` before a coverage run starts measuring, and every other
project's test run would pay for the import. Nothing is collected until the project says
where its scenarios are. In ``pytest.ini`` (or ``[tool.pytest.ini_options]``)::

    verifier_scenarios = scenarios/*.yaml      # glob patterns, relative to the rootdir
    verifier_items = deploy/items              # optional: the deployment's own items,
    verifier_parameters = deploy/parameters    #   dated parameters
    verifier_catalogue = deploy/catalogue.yaml #   and catalogue (default: packaged)

or on the command line: ``--verifier-scenarios``, ``--verifier-items``,
``--verifier-parameters``, ``--verifier-catalogue``. Each scenario is one test; a failure
lists how the decision differed and the item's explanation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from verifier.rules import ItemRegistry
from verifier.scenarios._registry import scenario_items
from verifier.scenarios._run import ScenarioOutcome, run_scenario
from verifier.scenarios._spec import ScenarioEntry, ScenarioFileError, read_scenario_file

_PATHS = ("catalogue", "items", "parameters")
_ITEMS_KEY = pytest.StashKey[ItemRegistry]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("verifier", "service-item scenarios (onestop-verifier)")
    group.addoption(
        "--verifier-scenarios",
        action="append",
        default=[],
        metavar="GLOB",
        help="scenario YAML files to collect (glob relative to the rootdir; repeatable)",
    )
    parser.addini(
        "verifier_scenarios",
        "scenario YAML files to collect (glob patterns relative to the rootdir)",
        type="linelist",
        default=[],
    )
    for name in _PATHS:
        group.addoption(
            f"--verifier-{name}", default=None, metavar="PATH", help=f"the deployment's {name}"
        )
        parser.addini(f"verifier_{name}", f"the deployment's {name} (default: packaged)")


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> ScenarioFile | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    if file_path.resolve() in _scenario_files(parent.config):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


_FILES_KEY = pytest.StashKey[frozenset[Path]]()


def _scenario_files(config: pytest.Config) -> frozenset[Path]:
    """The files the patterns name, globbed from the rootdir once per run (a pattern
    matches as a glob does: ``*.yaml`` is the rootdir's own files, not a subfolder's)."""
    found = config.stash.get(_FILES_KEY, None)
    if found is None:
        patterns = [*config.getini("verifier_scenarios"), *config.getoption("verifier_scenarios")]
        found = frozenset(
            path.resolve() for pattern in patterns for path in config.rootpath.glob(pattern)
        )
        config.stash[_FILES_KEY] = found
    return found


def _items(config: pytest.Config) -> ItemRegistry:
    found = config.stash.get(_ITEMS_KEY, None)
    if found is None:
        paths = {name: _path(config, name) for name in _PATHS}
        found = scenario_items(paths["catalogue"], paths["items"], paths["parameters"])
        config.stash[_ITEMS_KEY] = found
    return found


def _path(config: pytest.Config, name: str) -> Path | None:
    option = config.getoption(f"verifier_{name}")
    if option:
        return Path(option)
    value = config.getini(f"verifier_{name}")
    return config.rootpath / value if value else None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        try:
            entries = read_scenario_file(self.path)
        except ScenarioFileError as exc:
            raise self.CollectError(str(exc)) from None
        for entry in entries:
            yield ScenarioItem.from_parent(self, name=entry.name, entry=entry)


class ScenarioFailed(Exception):
    def __init__(self, outcome: ScenarioOutcome) -> None:
        super().__init__("\n".join(outcome.report()))
        self.outcome = outcome


class ScenarioItem(pytest.Item):
    def __init__(self, *, entry: ScenarioEntry, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry

    def runtest(self) -> None:
        outcome = run_scenario(self.entry, _items(self.config))
        if not outcome.passed:
            raise ScenarioFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.entry.line - 1, f"scenario: {self.name}"
