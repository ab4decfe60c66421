"""A service item compiled for one reference date, against the engine's catalogue.

Everything about a verification that depends only on (item version, reference date) is
worked out once and cached: each fact use's catalogue definition, its subject slots and
its parameters (literals and dated thresholds resolved; only the application's own
parameters are left to fill), the rule compiled with its thresholds, the order facts are
answered in and the paper documents each one replaces. A verification then only fills in
its subjects' identifiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from verifier._errors import CatalogueError, InvalidApplication
from verifier.catalogue import Catalogue, FactDefinition
from verifier.model import Application
from verifier.rules import BoundFact, ServiceItem
from verifier.rules._evaluation import DatedRule
from verifier.rules._tree import ApplicationParameterRef, PolicyParameterRef
from verifier.rules._validation import policy_value

MAX_COMPILED = 1024
"""(item version, reference date) pairs kept compiled: a replay over years of dates must
not grow the cache without bound (it starts afresh when full)."""


@dataclass(frozen=True, slots=True)
class _FactTemplate:
    name: str
    definition: FactDefinition
    roles: dict[str, str]
    """Subject slot → the application role bound to it."""
    parameters: dict[str, str | int]
    """The parameters known before any application: literals and dated thresholds."""
    from_application: tuple[tuple[str, str], ...]
    """(slot, application parameter) for the parameters each application supplies."""


class CompiledItem:
    """``item`` as it applies on ``reference_date``."""

    __slots__ = (
        "_templates",
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
        templates = []
        for name, use in item.facts.items():
            definition = catalogue.facts.get(use.fact)
            if definition is None:
                raise CatalogueError(
                    f"service item {item.id!r}: fact {use.fact!r} is not in this catalogue"
                )
            fixed: dict[str, str | int] = {}
            supplied = []
            for slot, binding in use.parameters.items():
                if isinstance(binding, ApplicationParameterRef):
                    supplied.append((slot, binding.param))
                elif isinstance(binding, PolicyParameterRef):
                    value = policy_value(item, binding.parameter, reference_date)
                    if not isinstance(value, str | int) or isinstance(value, bool):
                        raise CatalogueError(
                            f"service item {item.id!r}: parameter {binding.parameter!r} "
                            f"cannot be fact {use.fact!r}'s {slot!r}"
                        )
                    fixed[slot] = value
                else:
                    fixed[slot] = binding
            templates.append(
                _FactTemplate(name, definition, dict(use.subjects), fixed, tuple(supplied))
            )
        self._templates = tuple(templates)
        self.documents = {
            template.definition.id: template.definition.replaces_document for template in templates
        }
        """Catalogue fact → the paper document a KNOWN answer to it replaces ('' if none)."""

    def bind(self, application: Application) -> list[BoundFact]:
        """The facts to establish for a valid application (``ServiceItem.bind``'s answer).

        A fact use whose optional role is absent is skipped."""
        subject_ids = {subject.role: subject.id for subject in application.subjects}
        bound = []
        for template in self._templates:
            roles = template.roles
            if not all(role in subject_ids for role in roles.values()):
                continue
            # A copy: the query carries it to the adapter, which must not change the template.
            parameters = dict(template.parameters)
            if template.from_application:
                for slot, name in template.from_application:
                    value = application.parameters.get(name)
                    # Validation guarantees it; anything else means it was skipped.
                    if not isinstance(value, str | int) or isinstance(value, bool):
                        raise InvalidApplication(self.item.validate_application(application))
                    parameters[slot] = value
            bound.append(
                BoundFact(
                    template.name,
                    template.definition,
                    {slot: subject_ids[role] for slot, role in roles.items()},
                    roles,
                    parameters,
                )
            )
        return bound


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
