"""Checking an application against its service item, before any department is asked.

Messages name the offending field, role or parameter and the rule broken, never the value:
a parameter or an ID could be personal data, and errors end up in logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from verifier._errors import CatalogueError, FieldViolation, InvalidApplication
from verifier.model import ApplicationSubject
from verifier.rules._parameters import PolicyValue

if TYPE_CHECKING:
    from verifier.model import Application
    from verifier.rules._item import ParameterDefinition, ServiceItem

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "boolean": "a boolean"}


def validate_application(item: ServiceItem, application: Application) -> list[FieldViolation]:
    violations = []
    if application.service_item != item.id:
        violations.append(FieldViolation("service_item", f"is not service item {item.id!r}"))
    violations.extend(_subject_violations(item, application.subjects))
    violations.extend(_parameter_violations(item, application.parameters))
    violations.extend(_count_violations(item, application))
    if application.reference_date is not None:
        violation = item.date_violation(application.reference_date)
        if violation is not None:
            violations.append(violation)
    return violations


def _subject_violations(
    item: ServiceItem, subjects: Sequence[ApplicationSubject]
) -> list[FieldViolation]:
    violations = []
    seen: set[str] = set()
    for index, subject in enumerate(subjects):
        role = item.roles.get(subject.role)
        if role is None:
            violations.append(
                FieldViolation(
                    f"subjects[{index}].role",
                    f"role is not defined for service item {item.id!r}",
                )
            )
        elif subject.role in seen:
            violations.append(
                FieldViolation(f"subjects[{index}].role", f"duplicate role {subject.role!r}")
            )
        elif subject.kind is not role.kind:
            violations.append(
                FieldViolation(
                    f"subjects[{index}].kind", f"role {subject.role!r} must be a {role.kind.value}"
                )
            )
        seen.add(subject.role)
    for name, role in item.roles.items():
        if role.required and name not in seen:
            violations.append(FieldViolation("subjects", f"missing required role {name!r}"))
    return violations


def _parameter_violations(
    item: ServiceItem, supplied: Mapping[str, str | int | bool]
) -> list[FieldViolation]:
    violations = [
        FieldViolation(f"parameters.{name}", "unknown parameter")
        for name in supplied
        if name not in item.parameters
    ]
    for name, definition in item.parameters.items():
        if name not in supplied:
            if definition.required:
                violations.append(FieldViolation(f"parameters.{name}", "required"))
            continue
        problem = parameter_problem(definition, supplied[name])
        if problem is not None:
            violations.append(FieldViolation(f"parameters.{name}", problem))
    return violations


def _count_violations(item: ServiceItem, application: Application) -> list[FieldViolation]:
    """A parameter that counts the application's subjects must be their number (checked
    here, so that a single verification and a caseload row are held to it alike)."""
    named = len(application.subjects)
    return [
        FieldViolation(f"parameters.{name}", "must be the number of subjects the application names")
        for name, definition in item.parameters.items()
        if definition.counts_subjects
        and type(value := application.parameters.get(name)) is int
        and value != named
    ]


def parameter_problem(definition: ParameterDefinition, value: object) -> str | None:
    """What is wrong with one parameter value, or None; never repeats the value."""
    # ``type(...) is`` because bool is an int: True is not a district count.
    expected = {"string": str, "integer": int, "boolean": bool}[definition.type]
    if type(value) is not expected:
        return f"must be {_TYPE_NAMES[definition.type]}"
    pattern = definition.compiled_pattern
    if isinstance(value, str) and pattern is not None and pattern.fullmatch(value) is None:
        return f"does not match the required format {definition.pattern}"
    if isinstance(value, int) and not isinstance(value, bool):
        if definition.minimum is not None and value < definition.minimum:
            return f"must be at least {definition.minimum}"
        if definition.maximum is not None and value > definition.maximum:
            return f"must be at most {definition.maximum}"
    return None


def reference_date_violation(item: ServiceItem, on: date) -> FieldViolation | None:
    """A violation when a threshold the item uses had no value yet on ``on``."""
    missing = [p for p in item.policy_parameters.values() if p.value_at(on) is None]
    if not missing:
        return None
    in_force = max(parameter.first_date for parameter in missing)
    return FieldViolation(
        "reference_date",
        f"precedes the policy parameters of service item {item.id!r} (in force from "
        f"{in_force.isoformat()})",
    )


def policy_value(item: ServiceItem, name: str, on: date) -> PolicyValue:
    """The dated parameter's value in force on ``on``.

    Raises InvalidApplication (on ``reference_date``) before the parameter's first value,
    and CatalogueError if the item was built without going through the loader.
    """
    parameter = item.policy_parameters.get(name)
    if parameter is None:
        raise CatalogueError(
            f"service item {item.id!r}: parameter {name!r} is not attached; "
            "load items with load_service_items or service_item_from_yaml"
        )
    value = parameter.value_at(on)
    if value is None:
        violation = reference_date_violation(item, on)
        raise InvalidApplication([violation] if violation is not None else [])
    return value
