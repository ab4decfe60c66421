"""Binding an item's fact uses to an application: whom to ask about, with which parameters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from verifier._errors import CatalogueError, InvalidApplication
from verifier.catalogue import Catalogue, FactDefinition
from verifier.rules._tree import ApplicationParameterRef, PolicyParameterRef
from verifier.rules._validation import policy_value

if TYPE_CHECKING:
    from verifier.model import Application
    from verifier.rules._item import FactUse, ServiceItem


@dataclass(frozen=True, slots=True)
class BoundFact:
    """One fact to establish for one application (what the engine plans and asks for)."""

    name: str
    """The item's name for this use of the fact, e.g. ``child_registered_in_district``."""
    definition: FactDefinition
    subject_ids: dict[str, str]
    """Subject slot → normalised identifier of the subject filling the bound role."""
    roles: dict[str, str]
    """Subject slot → the application role bound to it."""
    parameters: dict[str, str | int]
    """Fact parameters with every reference resolved (dated ones at the reference date)."""


class BindingPlan:
    """How an item's fact uses bind on one reference date, against one catalogue: each
    use's definition, subject slots and parameters (literals and dated thresholds resolved
    once), so binding an application only fills in its subjects and its own parameters.
    The engine keeps one per (item version, date) (``verifier.engine._compiled``)."""

    __slots__ = ("_item", "_templates")

    def __init__(self, item: ServiceItem, catalogue: Catalogue, reference_date: date) -> None:
        self._item = item
        self._templates = tuple(
            _template(item, name, use, catalogue, reference_date)
            for name, use in item.facts.items()
        )

    @property
    def definitions(self) -> tuple[FactDefinition, ...]:
        """The catalogue definition of every fact use, in declaration order."""
        return tuple(template.definition for template in self._templates)

    def bind(self, application: Application) -> list[BoundFact]:
        """The facts to establish for a valid application; a fact use whose optional role
        is absent is skipped."""
        subject_ids = {subject.role: subject.id for subject in application.subjects}
        bound = []
        for template in self._templates:
            roles = template.roles
            if not all(role in subject_ids for role in roles.values()):
                # Only optional roles can be absent from a valid application; the rule
                # reads such facts only inside ``if_present`` for that role.
                continue
            # A copy: the query carries it to the adapter, which must not change the plan.
            parameters = dict(template.parameters)
            for slot, name in template.from_application:
                value = application.parameters.get(name)
                # Loading guarantees the bound parameter is required and typed like the
                # fact's; anything else means the application was not validated.
                if not isinstance(value, str | int) or isinstance(value, bool):
                    raise InvalidApplication(self._item.validate_application(application))
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


@dataclass(frozen=True, slots=True)
class _Template:
    name: str
    definition: FactDefinition
    roles: dict[str, str]
    """Subject slot → the application role bound to it."""
    parameters: dict[str, str | int]
    """The parameters known before any application: literals and dated thresholds."""
    from_application: tuple[tuple[str, str], ...]
    """(slot, application parameter) for the parameters each application supplies."""


def _template(
    item: ServiceItem, name: str, use: FactUse, catalogue: Catalogue, reference_date: date
) -> _Template:
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
            continue
        value = (
            policy_value(item, binding.parameter, reference_date)
            if isinstance(binding, PolicyParameterRef)
            else binding
        )
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise CatalogueError(
                f"service item {item.id!r}: a value of the wrong type for fact "
                f"{use.fact!r}'s parameter {slot!r}"
            )
        fixed[slot] = value
    return _Template(name, definition, dict(use.subjects), fixed, tuple(supplied))


def bind(
    item: ServiceItem, application: Application, catalogue: Catalogue, reference_date: date
) -> list[BoundFact]:
    return BindingPlan(item, catalogue, reference_date).bind(application)
