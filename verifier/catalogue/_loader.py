"""Load the catalogue from its YAML file, failing with a message that names the problem."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from verifier._errors import CatalogueError
from verifier.catalogue._definitions import Catalogue

DEFAULT_CATALOGUE = "catalogue.yaml"


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load a catalogue file; with no path, the catalogue shipped for the demo departments."""
    if path is None:
        text = resources.files("verifier.catalogue").joinpath("data", DEFAULT_CATALOGUE)
        source = f"<packaged {DEFAULT_CATALOGUE}>"
        raw = text.read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(f"cannot read catalogue {source}: {exc.strerror}") from None
    return catalogue_from_yaml(raw, source=source)


def catalogue_from_yaml(raw: str, *, source: str = "<string>") -> Catalogue:
    try:
        data: Any = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: expected a mapping at the top level")
    # Ids are the mapping keys in the file; copy them into each entry so the models carry them.
    for section in ("departments", "facts"):
        entries = data.get(section)
        if isinstance(entries, dict):
            for key, entry in entries.items():
                if isinstance(entry, dict):
                    entry.setdefault("id", key)
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(f"{source}: inconsistent catalogue:\n{_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "catalogue"
        lines.append(f"  {where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "\n".join(lines)
