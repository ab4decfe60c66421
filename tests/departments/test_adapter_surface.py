"""The adapters' public surface, entry points and layering are pinned here."""

from __future__ import annotations

import ast
import importlib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import adapters.household
from verifier.adapter import DepartmentAdapter

PUBLIC = {
    "adapters": [],
    "adapters.household": ["HouseholdAdapter", "create_adapter"],
    "adapters.social_insurance": ["SocialInsuranceAdapter", "create_adapter"],
    "adapters.housing": ["HousingAdapter", "create_adapter"],
    "adapters.tax": ["TaxAdapter", "create_adapter"],
    "adapters.demo_city": [
        "DemoCityManifest",
        "DemoSample",
        "ExpectedFact",
        "generate_demo_city",
        "load_samples",
        "write_demo_city",
    ],
}
ALLOWED_VERIFIER_MODULES = {
    "verifier.adapter",
    "verifier.adapter.sql",  # the public SQL department kit (issue 13)
    "verifier.model",
    "verifier._errors",
}
SOURCE = Path(adapters.household.__file__).parent.parent


@pytest.mark.parametrize(("module", "names"), PUBLIC.items())
def test_public_names_are_pinned_and_sorted(module: str, names: list[str]) -> None:
    exported = importlib.import_module(module).__all__
    assert exported == names
    assert exported == sorted(exported)


@pytest.mark.parametrize("department", ["household", "social_insurance", "housing", "tax"])
def test_each_department_is_an_entry_point(department: str) -> None:
    (entry,) = [e for e in entry_points(group="verifier.adapters") if e.name == department]
    module = importlib.import_module(f"adapters.{department}")
    assert entry.load() is module.create_adapter
    adapter = module.create_adapter({"url": "sqlite://"})
    assert isinstance(adapter, DepartmentAdapter)
    assert adapter.department == department


def test_adapters_import_only_the_model_the_seam_and_the_errors() -> None:
    offending = []
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("verifier") and name not in ALLOWED_VERIFIER_MODULES:
                    offending.append(f"{path.relative_to(SOURCE)}: {name}")
    assert offending == []


def test_raw_tables_stay_inside_their_department() -> None:
    """Only a department's own modules, and the demo-city writer, touch its tables."""
    offending = []
    for path in SOURCE.rglob("*.py"):
        owner = path.relative_to(SOURCE).parts[0]
        text = path.read_text(encoding="utf-8")
        for department in ("household", "social_insurance", "housing", "tax"):
            touches = f"adapters.{department}._tables" in text or (
                f"adapters.{department} import _tables" in text
            )
            if touches and owner not in (department, "demo_city"):
                offending.append(str(path.relative_to(SOURCE)))
    assert offending == []
