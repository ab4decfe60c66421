"""Service-item descriptions to and from the wire."""

from __future__ import annotations

from verifier.rules import ApplicationParameterRef, PolicyParameterRef
from verifier.service._convert._wire import (
    PARAMETER_TYPE_NAMES,
    PARAMETER_TYPES,
    SHARING,
    SUBJECT_KINDS,
    VALUE_TYPES,
    date_from_proto,
    date_to_proto,
    from_wire,
)
from verifier.service._description import (
    FactParameterSource,
    ParameterDescription,
    ParameterType,
    RequiredFactDescription,
    RoleDescription,
    ServiceItemDescription,
)
from verifier.service._generated.v1 import verification_pb2 as pb


def description_to_proto(item: ServiceItemDescription) -> pb.ServiceItem:
    return pb.ServiceItem(
        id=item.id,
        version=item.version,
        title=item.title,
        title_zh=item.title_zh,
        description=item.description,
        policy_reference=item.policy_reference,
        effective_from=date_to_proto(item.effective_from),
        roles=[
            pb.Role(
                name=role.name,
                kind=SUBJECT_KINDS[role.kind],
                required=role.required,
                description=role.description,
            )
            for role in item.roles
        ],
        parameters=[
            pb.Parameter(
                name=parameter.name,
                type=PARAMETER_TYPES[parameter.type],
                required=parameter.required,
                pattern=parameter.pattern or "",
                description=parameter.description,
                minimum=parameter.minimum,
                maximum=parameter.maximum,
            )
            for parameter in item.parameters
        ],
        facts=[_required_fact_to_proto(fact) for fact in item.facts],
        documents_replaced=item.documents_replaced,
    )


def _required_fact_to_proto(fact: RequiredFactDescription) -> pb.RequiredFact:
    return pb.RequiredFact(
        name=fact.name,
        fact=fact.fact,
        department=fact.department,
        sharing=SHARING[fact.sharing],
        value_type=VALUE_TYPES[fact.value_type],
        subjects=fact.subjects,
        parameters={name: _source_to_proto(source) for name, source in fact.parameters.items()},
        replaces_document=fact.replaces_document or "",
    )


def _source_to_proto(source: FactParameterSource) -> pb.FactParameterBinding:
    if isinstance(source, ApplicationParameterRef):
        return pb.FactParameterBinding(application_parameter=source.param)
    if isinstance(source, PolicyParameterRef):
        return pb.FactParameterBinding(policy_parameter=source.parameter)
    if isinstance(source, str):
        return pb.FactParameterBinding(string_value=source)
    return pb.FactParameterBinding(int_value=source)


def description_from_proto(message: pb.ServiceItem) -> ServiceItemDescription:
    return ServiceItemDescription(
        id=message.id,
        version=message.version,
        title=message.title,
        title_zh=message.title_zh,
        description=message.description,
        policy_reference=message.policy_reference,
        effective_from=date_from_proto(message.effective_from),
        roles=tuple(
            RoleDescription(
                name=role.name,
                kind=from_wire(SUBJECT_KINDS, role.kind, "subject kind"),
                required=role.required,
                description=role.description,
            )
            for role in message.roles
        ),
        parameters=tuple(
            ParameterDescription(
                name=parameter.name,
                type=_parameter_type(parameter.type),
                required=parameter.required,
                pattern=parameter.pattern or None,
                minimum=parameter.minimum if parameter.HasField("minimum") else None,
                maximum=parameter.maximum if parameter.HasField("maximum") else None,
                description=parameter.description,
            )
            for parameter in message.parameters
        ),
        facts=tuple(_required_fact_from_proto(fact) for fact in message.facts),
        documents_replaced=tuple(message.documents_replaced),
    )


def _required_fact_from_proto(message: pb.RequiredFact) -> RequiredFactDescription:
    return RequiredFactDescription(
        name=message.name,
        fact=message.fact,
        department=message.department,
        sharing=from_wire(SHARING, message.sharing, "sharing class"),
        value_type=from_wire(VALUE_TYPES, message.value_type, "value type"),
        subjects=dict(message.subjects),
        parameters={name: _source_from_proto(value) for name, value in message.parameters.items()},
        replaces_document=message.replaces_document or None,
    )


def _parameter_type(number: int) -> ParameterType:
    try:
        return PARAMETER_TYPE_NAMES[number]
    except KeyError:
        raise ValueError(f"unrecognised parameter type {number}") from None


def _source_from_proto(message: pb.FactParameterBinding) -> FactParameterSource:
    which = message.WhichOneof("source")
    if which == "application_parameter":
        return ApplicationParameterRef(param=message.application_parameter)
    if which == "policy_parameter":
        return PolicyParameterRef(parameter=message.policy_parameter)
    if which == "string_value":
        return message.string_value
    if which == "int_value":
        return message.int_value
    raise ValueError("a fact parameter binding has no source")
