"""What a service item needs and replaces, as a caller sees it (no rule tree, no thresholds).

``describe_service_item`` joins an item with the catalogue: each required fact with its
provider department, sharing class and the paper proof it replaces. The servicer sends
these; ``VerifierClient`` returns them, so local and remote listings look the same.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from verifier.catalogue import Catalogue, SharingClass
from verifier.model import SubjectKind, ValueType
from verifier.rules import ApplicationParameterRef, PolicyParameterRef, ServiceItem

FactParameterSource = str | int | ApplicationParameterRef | PolicyParameterRef
"""A literal, the application's parameter of that name, or a dated policy parameter."""

ParameterType = Literal["string", "integer", "boolean"]


class RoleDescription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: SubjectKind
    required: bool
    description: str


class ParameterDescription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: ParameterType
    required: bool
    pattern: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    description: str = ""


class RequiredFactDescription(BaseModel):
    """One fact the item needs, with who provides it and how it may be shared."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The item's name for this use of the fact."""
    fact: str
    """The catalogue fact id."""
    department: str
    sharing: SharingClass
    value_type: ValueType
    subjects: dict[str, str]
    """Fact subject slot → application role."""
    parameters: dict[str, FactParameterSource]
    replaces_document: str | None = None


class ServiceItemDescription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: str
    title: str
    title_zh: str
    description: str
    policy_reference: str
    effective_from: date
    roles: tuple[RoleDescription, ...]
    parameters: tuple[ParameterDescription, ...]
    facts: tuple[RequiredFactDescription, ...]
    documents_replaced: tuple[str, ...]
    """Every paper proof the item's facts can replace, in fact order, without repeats."""


def describe_service_item(item: ServiceItem, catalogue: Catalogue) -> ServiceItemDescription:
    facts = []
    for name, use in item.facts.items():
        definition = catalogue.fact(use.fact)
        facts.append(
            RequiredFactDescription(
                name=name,
                fact=use.fact,
                department=definition.department,
                sharing=definition.sharing,
                value_type=definition.value_type,
                subjects=dict(use.subjects),
                parameters=dict(use.parameters),
                replaces_document=definition.replaces_document,
            )
        )
    documents = dict.fromkeys(f.replaces_document for f in facts if f.replaces_document)
    return ServiceItemDescription(
        id=item.id,
        version=item.version,
        title=item.title,
        title_zh=item.title_zh,
        description=item.description,
        policy_reference=item.policy_reference,
        effective_from=item.effective_from,
        roles=tuple(
            RoleDescription(
                name=name, kind=role.kind, required=role.required, description=role.description
            )
            for name, role in item.roles.items()
        ),
        parameters=tuple(
            ParameterDescription(
                name=name,
                type=parameter.type,
                required=parameter.required,
                pattern=parameter.pattern,
                minimum=parameter.minimum,
                maximum=parameter.maximum,
                description=parameter.description,
            )
            for name, parameter in item.parameters.items()
        ),
        facts=tuple(facts),
        documents_replaced=tuple(d for d in documents if d is not None),
    )
