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


def bind(
    item: ServiceItem, application: Application, catalogue: Catalogue, reference_date: date
) -> list[BoundFact]:
    subject_ids = {subject.role: subject.id for subject in application.subjects}
    bound = []
    for name, use in item.facts.items():
        if not all(role in subject_ids for role in use.subjects.values()):
            # Only optional roles can be absent from a valid application; the rule reads
            # such facts only inside ``if_present`` for that role.
            continue
        try:
            definition = catalogue.facts[use.fact]
        except KeyError:
            raise CatalogueError(
                f"service item {item.id!r}: fact {use.fact!r} is not in this catalogue"
            ) from None
        bound.append(
            BoundFact(
                name=name,
                definition=definition,
                subject_ids={slot: subject_ids[role] for slot, role in use.subjects.items()},
                roles=dict(use.subjects),
                parameters=_resolve_parameters(item, use, application, reference_date),
            )
        )
    return bound


def _resolve_parameters(
    item: ServiceItem, use: FactUse, application: Application, reference_date: date
) -> dict[str, str | int]:
    resolved: dict[str, str | int] = {}
    for slot, binding in use.parameters.items():
        value: object
        if isinstance(binding, ApplicationParameterRef):
            value = application.parameters.get(binding.param)
        elif isinstance(binding, PolicyParameterRef):
            value = policy_value(item, binding.parameter, reference_date)
        else:
            value = binding
        # Loading guarantees the bound parameter is required and typed like the fact's
        # parameter; getting here with anything else means the application was not validated.
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidApplication(item.validate_application(application))
        resolved[slot] = value
    return resolved
