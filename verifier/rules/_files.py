"""Reading rule files: YAML text from a directory or the package; errors name the file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from verifier._errors import CatalogueError


def yaml_sources(directory: Path | None, packaged: str) -> list[tuple[str, str]]:
    """``(source name, text)`` of every ``*.yaml`` file, sorted by name for a stable order.

    With no directory, the files shipped in ``verifier/rules/data/<packaged>`` are read through
    importlib.resources, so the package also works from a zip or a wheel.
    """
    if directory is None:
        folder = resources.files("verifier.rules").joinpath("data", packaged)
        entries = sorted(
            (entry for entry in folder.iterdir() if entry.name.endswith(".yaml")),
            key=lambda entry: entry.name,
        )
        return [
            (f"<packaged {packaged}/{entry.name}>", entry.read_text(encoding="utf-8"))
            for entry in entries
        ]
    if not directory.is_dir():
        raise CatalogueError(f"{directory}: not a directory of rule files")
    sources = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise CatalogueError(f"cannot read {path}: {exc.strerror}") from None
    return sources


def read_mapping(text: str, source: str) -> dict[Any, Any]:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: expected a mapping at the top level")
    return data


def describe(exc: ValidationError, whole: str = "file") -> str:
    """pydantic's errors as ``  where: what`` lines, without echoing the offending input."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or whole
        lines.append(f"  {where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "\n".join(lines)
