"""The public surface of the HTTP adapter and the simulators is pinned here."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "adapters.http": [
        "FactsAnswer", "FactsRequest", "HeaderHook", "HttpDepartmentAdapter",
        "HttpDepartmentSettings", "WireFactRequest", "WireUnknown", "answer_body",
        "create_adapter", "facts_path", "query_from_request", "request_from_query",
        "settings_from",
    ],
    "adapters.simulator": [
        "SIMULATOR", "DepartmentSimulator", "Draw", "FaultDice", "FaultPlan", "FixedLatency",
        "LognormalLatency", "Outcome", "RunningSimulators", "SimulatorStats",
        "create_simulator_app", "run_simulators",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("module", "names"), PUBLIC.items())
def test_public_names_are_pinned(module: str, names: list[str]) -> None:
    package = importlib.import_module(module)
    assert package.__all__ == names
    for name in names:
        assert hasattr(package, name)


def test_the_wire_path_is_versioned() -> None:
    from adapters.http import facts_path

    assert facts_path("housing") == "v1/departments/housing/facts"
    assert facts_path("a/b") == "v1/departments/a%2Fb/facts"
