"""Imports run one way (docs/architecture.md, "Layers"): a test, not a hope.

1. model, catalogue, rules, access, adapter seam — import nothing of ours beyond each other;
2. engine, audit, telemetry — import layer 1 (and each other), never a concrete department;
3. adapters — import the model and the seam only;
4. edges (config, service, cli, spark) and the caseload format they share — may import
   anything of ``verifier``, except that config imports neither service nor cli (``import
   verifier`` reads a configuration: it must not load the gRPC edge, issue 11); the caseload
   format imports no edge; ``verifier.spark`` imports neither service nor cli, and nothing
   else of ``verifier`` imports it or pyspark (an optional extra); ``verifier`` never imports
   ``adapters`` statically (departments are found through entry points).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYER_1 = {
    "verifier.model",
    "verifier.catalogue",
    "verifier.rules",
    "verifier.adapter",
    "verifier.access",
}
LAYER_2 = {"verifier.engine", "verifier.audit", "verifier.telemetry"}
ERRORS = {"verifier._errors"}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in {"verifier", "adapters"}}


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "verifier" and len(parts) > 1 else parts[0]


def sources(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "_generated" not in p.parts)


ALLOWED = {
    **dict.fromkeys(LAYER_1, LAYER_1 | ERRORS),
    **dict.fromkeys(LAYER_2, LAYER_1 | LAYER_2 | ERRORS),
}
EDGES = {"verifier.config", "verifier.service", "verifier.cli", "verifier.spark"}
FORBIDDEN = {
    "verifier.config": {"verifier.service", "verifier.cli"},
    "verifier.caseload": EDGES,
    "verifier.spark": {"verifier.service", "verifier.cli"},
}


@pytest.mark.parametrize("path", sources("verifier"), ids=lambda p: str(p.relative_to(ROOT)))
def test_verifier_layers(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    own = package_of(module)
    for imported in imports_of(path):
        assert not imported.startswith("adapters"), f"{module} imports {imported} statically"
        if own in ALLOWED:
            assert package_of(imported) in ALLOWED[own] | {own}, f"{module} imports {imported}"
        assert package_of(imported) not in FORBIDDEN.get(own, set()), f"{module} imports {imported}"
        if own != "verifier.spark":
            assert package_of(imported) != "verifier.spark", f"{module} imports {imported}"


@pytest.mark.parametrize("path", sources("verifier"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_verifier_spark_imports_pyspark(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if package_of(module) == "verifier.spark":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        assert not [n for n in names if n.split(".")[0] == "pyspark"], f"{module} imports pyspark"


@pytest.mark.parametrize("path", sources("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_import_only_the_model_and_the_seam(path: Path) -> None:
    for imported in imports_of(path):
        if imported.startswith("verifier"):
            assert package_of(imported) in {"verifier.model", "verifier.adapter"} | ERRORS, (
                f"{path.relative_to(ROOT)} imports {imported}"
            )
