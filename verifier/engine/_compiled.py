"""A service item compiled for one reference date, against the engine's catalogue.

Everything about a verification that depends only on (item version, reference date) is
worked out once and cached: each fact use's catalogue definition, its subject slots and
its parameters (literals and dated thresholds resolved; only the application's own
parameters are left to fill), the rule compiled with its thresholds, the order facts are
answered in and the paper documents each one replaces. A verification then only fills in
its subjects' identifiers.
"""

from __future__ import annotations

from datetime import date

from verifier.catalogue import Catalogue
from verifier.model import Application
from verifier.rules import BoundFact, ServiceItem
from verifier.rules._binding import BindingPlan
from verifier.rules._evaluation import DatedRule

MAX_COMPILED = 1024
"""(item version, reference date) pairs kept compiled: a replay over years of dates must
not grow the cache without bound (it starts afresh when full)."""


class CompiledItem:
    """``item`` as it applies on ``reference_date``."""

    __slots__ = (
        "_binding",
        "documents",
        "item",
        "order",
        "reference_date",
        "rule",
        "rule_version",
    )

    def __init__(self, item: ServiceItem, reference_date: date, catalogue: Catalogue) -> None:
        self.item = item
        self.reference_date = reference_date
        self.rule_version = item.rule_version
        self.rule: DatedRule = item.rule_at(reference_date)
        self.order = {name: index for index, name in enumerate(item.facts)}
        """The item's fact names in declaration order: the order facts are answered in."""
        self._binding = BindingPlan(item, catalogue, reference_date)
        self.documents = {
            definition.id: definition.replaces_document for definition in self._binding.definitions
        }
        """Catalogue fact → the paper document a KNOWN answer to it replaces ('' if none)."""

    def bind(self, application: Application) -> list[BoundFact]:
        """The facts to establish for a valid application (``ServiceItem.bind``'s answer)."""
        return self._binding.bind(application)


class CompiledItems:
    """The compiled items of one engine, by (item id, version, reference date)."""

    __slots__ = ("_catalogue", "_compiled")

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._compiled: dict[tuple[str, str, date], CompiledItem] = {}

    def get(self, item: ServiceItem, reference_date: date) -> CompiledItem:
        key = (item.id, item.version, reference_date)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = CompiledItem(item, reference_date, self._catalogue)
            if len(self._compiled) >= MAX_COMPILED:
                self._compiled.clear()
            self._compiled[key] = compiled
        return compiled
