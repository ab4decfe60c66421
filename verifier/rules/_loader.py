"""Loading service items from their YAML files into a registry, checked as they load."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from verifier._errors import CatalogueError, UnknownServiceItem
from verifier.catalogue import Catalogue
from verifier.rules._consistency import item_problems
from verifier.rules._files import describe, read_mapping, yaml_sources
from verifier.rules._item import PARAMETERS_CONTEXT, ServiceItem
from verifier.rules._parameters import (
    DatedParameter,
    PolicyParameters,
    load_parameters,
    parameters_from_yaml,
)


class ItemRegistry:
    """The service items a verifier serves, by id."""

    def __init__(self, items: Iterable[ServiceItem]) -> None:
        self._items: dict[str, ServiceItem] = {}
        for item in items:
            if item.id in self._items:
                raise CatalogueError(f"service item {item.id!r} is defined twice")
            self._items[item.id] = item

    def get(self, item_id: str) -> ServiceItem:
        try:
            return self._items[item_id]
        except KeyError:
            raise UnknownServiceItem(item_id) from None

    def find(self, item_id: str) -> ServiceItem | None:
        """The item, or None if none has this id."""
        return self._items.get(item_id)

    def list(self) -> builtins.list[ServiceItem]:
        """Every item, sorted by id."""
        return [self._items[item_id] for item_id in sorted(self._items)]

    def __iter__(self) -> Iterator[ServiceItem]:
        return iter(self.list())

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ItemRegistry({[item.rule_version for item in self.list()]!r})"


def service_item_from_yaml(
    text: str,
    catalogue: Catalogue,
    parameters: Mapping[str, DatedParameter],
    *,
    source: str = "<string>",
) -> ServiceItem:
    """One item from its YAML text, checked against the catalogue and the dated parameters.

    Raises CatalogueError naming ``source`` and every problem found.
    """
    data = read_mapping(text, source)
    try:
        item = ServiceItem.model_validate(data, context={PARAMETERS_CONTEXT: parameters})
    except ValidationError as exc:
        raise CatalogueError(f"{source}: invalid service item:\n{describe(exc)}") from None
    problems = item_problems(item, catalogue, parameters)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise CatalogueError(f"{source}: service item {item.id!r} is inconsistent:\n{listed}")
    return item


def load_service_items(
    catalogue: Catalogue,
    directory: Path | None = None,
    parameters_directory: Path | None = None,
) -> ItemRegistry:
    """Every ``*.yaml`` item in ``directory`` with the dated parameters of
    ``parameters_directory``; each defaults to the files shipped with the package.
    """
    parameters = load_parameters(parameters_directory)
    sources = yaml_sources(directory, "items")
    if not sources:
        raise CatalogueError(f"{directory or '<packaged items>'}: no service item files (*.yaml)")
    items: list[ServiceItem] = []
    defined_in: dict[str, str] = {}
    for source, text in sources:
        item = service_item_from_yaml(text, catalogue, parameters, source=source)
        if item.id in defined_in:
            raise CatalogueError(
                f"{source}: service item {item.id!r} is already defined in {defined_in[item.id]}"
            )
        defined_in[item.id] = source
        items.append(item)
    return ItemRegistry(items)


def load_what_if_items(
    catalogue: Catalogue,
    directory: Path | None = None,
    parameters_directory: Path | None = None,
    *,
    item_files: Sequence[Path] = (),
    parameter_files: Sequence[Path] = (),
) -> ItemRegistry:
    """The items as they would be under changed rules, for a replay (what-if).

    ``load_service_items``' items and parameters, except that each parameter file's dated
    parameters replace those of the same name (or add new ones), and each item file replaces
    the item of the same id (or adds one), loaded against those parameters. Raises
    CatalogueError naming the file and the problem, as loading does.
    """
    changed: dict[str, DatedParameter] = {}
    for path in parameter_files:
        source = str(path)
        for parameter in parameters_from_yaml(_read(path), source=source):
            if parameter.name in changed:
                raise CatalogueError(f"{source}: parameter {parameter.name!r} is changed twice")
            changed[parameter.name] = parameter
    base = load_parameters(parameters_directory)
    parameters = PolicyParameters(
        [*(base[name] for name in base if name not in changed), *changed.values()]
    )
    items = {
        item.id: item
        for item in (
            service_item_from_yaml(text, catalogue, parameters, source=source)
            for source, text in yaml_sources(directory, "items")
        )
    }
    replaced: set[str] = set()
    for path in item_files:
        item = service_item_from_yaml(_read(path), catalogue, parameters, source=str(path))
        if item.id in replaced:
            raise CatalogueError(f"{path}: service item {item.id!r} is given twice")
        replaced.add(item.id)
        items[item.id] = item
    return ItemRegistry(items.values())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read {path}: {exc.strerror or exc}") from None
