"""The items a scenario run decides with: a deployment's own, or the packaged ones."""

from __future__ import annotations

from pathlib import Path

from verifier.catalogue import load_catalogue
from verifier.rules import ItemRegistry, load_service_items


def scenario_items(
    catalogue: Path | None = None,
    items_dir: Path | None = None,
    parameters_dir: Path | None = None,
) -> ItemRegistry:
    """The service items (with their dated parameters) a deployment runs; each path left
    unset takes the files shipped with the package, as ``verifier serve`` does."""
    return load_service_items(load_catalogue(catalogue), items_dir, parameters_dir)
