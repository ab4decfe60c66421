"""Service-item scenarios: YAML a policy officer reads, run by ``verifier items test``,
by the pytest plugin (``verifier_scenarios`` in the pytest configuration), or from code.

``read_scenario_file`` reads a file's entries; ``run_scenario`` decides one with a
registry of items (``scenario_items``: a deployment's catalogue, items and parameters, or
the packaged ones) and says how the decision differed from what it expects.
"""

from verifier.scenarios._registry import scenario_items
from verifier.scenarios._run import ScenarioOutcome, run_scenario
from verifier.scenarios._spec import (
    Expectation,
    Scenario,
    ScenarioEntry,
    ScenarioFileError,
    read_scenario_file,
)

__all__ = [
    "Expectation",
    "Scenario",
    "ScenarioEntry",
    "ScenarioFileError",
    "ScenarioOutcome",
    "read_scenario_file",
    "run_scenario",
    "scenario_items",
]
