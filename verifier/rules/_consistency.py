"""Load-time checks of a service item against the catalogue and the dated parameters.

Everything that can be known before an application arrives is checked here, so a broken
item file stops the service at start-up rather than misjudging a citizen later. All
problems of one item are reported together, one line each.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from verifier.catalogue import Catalogue, FactDefinition, FactParameter, SharingClass
from verifier.model import ValueType
from verifier.rules._parameters import DatedParameter, PolicyValue
from verifier.rules._score import PointsPerUnit, PointsWhen, Quantity
from verifier.rules._trace_bound import trace_size_problems
from verifier.rules._tree import (
    ApplicationParameterRef,
    CompareNode,
    FactNode,
    IfPresentNode,
    PolicyParameterRef,
    RuleNode,
    children,
)

if TYPE_CHECKING:
    from verifier.rules._item import FactParameterBinding, FactUse, ServiceItem

Parameters = Mapping[str, DatedParameter]


def item_problems(item: ServiceItem, catalogue: Catalogue, parameters: Parameters) -> list[str]:
    problems = []
    for name, use in item.facts.items():
        problems.extend(_fact_use_problems(item, name, use, catalogue, parameters))
    checker = _TreeChecker(item, catalogue, parameters)
    for path, node in _rule_roots(item):
        problems.extend(checker.problems(node, path, frozenset()))
    problems.extend(_score_problems(item, catalogue, parameters))
    problems.extend(_unused_fact_problems(item))
    problems.extend(_duplicate_clause_problems(item))
    problems.extend(_effective_date_problems(item, parameters))
    if not problems:  # the trace's bound compiles the rule, which needs a consistent item
        problems.extend(trace_size_problems(item))
    return problems


def _fact_use_problems(
    item: ServiceItem, name: str, use: FactUse, catalogue: Catalogue, parameters: Parameters
) -> list[str]:
    where = f"fact {name!r}"
    definition = catalogue.facts.get(use.fact)
    if definition is None:
        return [f"{where}: unknown catalogue fact {use.fact!r}"]
    problems = _sharing_problems(item, where, definition)
    for slot in definition.subjects:
        if slot not in use.subjects:
            problems.append(f"{where}: subject slot {slot!r} of {use.fact!r} is not bound")
    for slot, role in use.subjects.items():
        if slot not in definition.subjects:
            problems.append(f"{where}: {use.fact!r} has no subject slot {slot!r}")
        elif role not in item.roles:
            problems.append(f"{where}: subject slot {slot!r} is bound to unknown role {role!r}")
    for parameter in definition.parameters:
        if parameter not in use.parameters:
            problems.append(f"{where}: parameter {parameter!r} of {use.fact!r} is not bound")
    for parameter, binding in use.parameters.items():
        declared = definition.parameters.get(parameter)
        if declared is None:
            problems.append(f"{where}: {use.fact!r} has no parameter {parameter!r}")
        else:
            where_parameter = f"{where}: parameter {parameter!r}"
            problems.extend(_binding_problems(item, where_parameter, declared, binding, parameters))
    return problems


def _sharing_problems(item: ServiceItem, where: str, definition: FactDefinition) -> list[str]:
    if definition.sharing is SharingClass.NOT_SHARED:
        return [
            f"{where}: catalogue fact {definition.id!r} is not shared (on the negative list) "
            "and may serve no service item"
        ]
    # A fact that also serves named purposes is checked per request, against the
    # application's purpose (verifier.access); only an item it can never serve is an error.
    if (
        definition.sharing is SharingClass.CONDITIONAL
        and not definition.allowed_purposes
        and item.id not in definition.allowed_items
    ):
        return [
            f"{where}: conditional fact {definition.id!r} is not shared with service item "
            f"{item.id!r} (allowed items: {', '.join(definition.allowed_items)})"
        ]
    return []


def _binding_problems(
    item: ServiceItem,
    where: str,
    declared: FactParameter,
    binding: FactParameterBinding,
    parameters: Parameters,
) -> list[str]:
    if isinstance(binding, ApplicationParameterRef):
        supplied = item.parameters.get(binding.param)
        if supplied is None:
            return [f"{where} is bound to unknown item parameter {binding.param!r}"]
        problems = []
        if supplied.type != declared.type:
            problems.append(
                f"{where} needs a {declared.type}, item parameter {binding.param!r} is a "
                f"{supplied.type}"
            )
        if not supplied.required:
            problems.append(f"{where} is bound to optional item parameter {binding.param!r}")
        if not _range_within(supplied.minimum, supplied.maximum, declared):
            problems.append(
                f"{where}: item parameter {binding.param!r} allows values outside the fact's "
                "range; give it the same minimum and maximum"
            )
        return problems
    if isinstance(binding, PolicyParameterRef):
        dated = parameters.get(binding.parameter)
        if dated is None:
            return [f"{where} is bound to unknown dated parameter {binding.parameter!r}"]
        return [
            f"{where}: dated parameter {binding.parameter!r} (from {day.isoformat()}) {problem}"
            for day, value in sorted(dated.values.items())
            if (problem := _value_problem(value, declared)) is not None
        ]
    problem = _value_problem(binding, declared)
    return [] if problem is None else [f"{where}: literal {problem}"]


def _range_within(minimum: int | None, maximum: int | None, declared: FactParameter) -> bool:
    if declared.minimum is not None and (minimum is None or minimum < declared.minimum):
        return False
    return not (declared.maximum is not None and (maximum is None or maximum > declared.maximum))


def _value_problem(value: PolicyValue, declared: FactParameter) -> str | None:
    if declared.type == "string":
        return None if isinstance(value, str) else "must be a string"
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    if declared.minimum is not None and value < declared.minimum:
        return f"is below the fact's minimum {declared.minimum}"
    if declared.maximum is not None and value > declared.maximum:
        return f"is above the fact's maximum {declared.maximum}"
    return None


def _rule_roots(item: ServiceItem) -> Iterator[tuple[str, RuleNode]]:
    """Root paths as evaluation names them, so messages match explanation clause ids."""
    if item.rule is not None:
        yield "rule", item.rule
    if item.score is not None:
        for component in item.score.components:
            if isinstance(component, PointsWhen):
                yield f"score.{component.id}", component.when


class _TreeChecker:
    def __init__(self, item: ServiceItem, catalogue: Catalogue, parameters: Parameters) -> None:
        self.item = item
        self.catalogue = catalogue
        self.parameters = parameters

    def problems(self, node: RuleNode, path: str, guarded: frozenset[str]) -> list[str]:
        clause = node.id or path
        where = f"clause {clause!r}"
        if isinstance(node, FactNode):
            return self.fact_problems(where, node.fact, ValueType.BOOLEAN, guarded)
        if isinstance(node, CompareNode):
            problems = self.fact_problems(where, node.compare.fact, ValueType.INTEGER, guarded)
            return problems + quantity_problems(where, node.compare.value, self.parameters)
        problems = []
        if isinstance(node, IfPresentNode):
            role = self.item.roles.get(node.if_present.role)
            if role is None:
                problems.append(f"{where}: if_present names unknown role {node.if_present.role!r}")
            elif role.required:
                problems.append(
                    f"{where}: if_present names required role {node.if_present.role!r}, "
                    "which is always present"
                )
            guarded = guarded | {node.if_present.role}
        for index, child in enumerate(children(node)):
            problems.extend(self.problems(child, f"{clause}.{index}", guarded))
        return problems

    def fact_problems(
        self, where: str, name: str, expected: ValueType, guarded: frozenset[str]
    ) -> list[str]:
        use = self.item.facts.get(name)
        if use is None:
            return [f"{where}: unknown fact name {name!r} (not among the item's facts)"]
        problems = []
        definition = self.catalogue.facts.get(use.fact)
        if definition is not None and definition.value_type is not expected:
            how = "use compare" if expected is ValueType.BOOLEAN else "use a fact node"
            problems.append(
                f"{where}: fact {name!r} is {definition.value_type.value}, expected "
                f"{expected.value} ({how})"
            )
        for role in sorted(set(use.subjects.values()) - guarded):
            definition_of_role = self.item.roles.get(role)
            if definition_of_role is not None and not definition_of_role.required:
                problems.append(
                    f"{where}: fact {name!r} concerns optional role {role!r} and may be read "
                    f"only inside if_present for {role!r}"
                )
        return problems


def quantity_problems(where: str, quantity: Quantity | None, parameters: Parameters) -> list[str]:
    if not isinstance(quantity, PolicyParameterRef):
        return []
    dated = parameters.get(quantity.parameter)
    if dated is None:
        return [f"{where}: unknown dated parameter {quantity.parameter!r}"]
    if not dated.is_numeric:
        return [f"{where}: dated parameter {quantity.parameter!r} is not a number"]
    return []


def _score_problems(item: ServiceItem, catalogue: Catalogue, parameters: Parameters) -> list[str]:
    if item.score is None:
        return []
    problems = quantity_problems("score pass_mark", item.score.pass_mark, parameters)
    seen: set[str] = set()
    checker = _TreeChecker(item, catalogue, parameters)
    for component in item.score.components:
        where = f"score component {component.id!r}"
        if component.id in seen:
            problems.append(f"{where}: duplicate component id")
        seen.add(component.id)
        if isinstance(component, PointsWhen):
            problems.extend(quantity_problems(where, component.points, parameters))
            continue
        problems.extend(_per_unit_problems(where, component, parameters))
        # No if_present can guard a per-unit component, so an optional role never fits.
        problems.extend(
            checker.fact_problems(where, component.fact, ValueType.INTEGER, frozenset())
        )
    return problems


def _per_unit_problems(where: str, component: PointsPerUnit, parameters: Parameters) -> list[str]:
    problems = []
    for quantity in (component.per_unit, component.maximum):
        problems.extend(quantity_problems(where, quantity, parameters))
    if isinstance(component.per_unit, int | float) and component.per_unit <= 0:
        problems.append(f"{where}: per_unit must be positive")
    if isinstance(component.maximum, int | float) and component.maximum < 0:
        problems.append(f"{where}: maximum must not be negative")
    return problems


def _unused_fact_problems(item: ServiceItem) -> list[str]:
    read: set[str] = set()
    for node in item.rule_nodes():
        if isinstance(node, FactNode):
            read.add(node.fact)
        elif isinstance(node, CompareNode):
            read.add(node.compare.fact)
    if item.score is not None:
        read.update(c.fact for c in item.score.components if isinstance(c, PointsPerUnit))
    # Data minimisation: a fact nobody reads would still be asked of its department.
    return [
        f"fact {name!r} is declared but no rule or score reads it"
        for name in item.facts
        if name not in read
    ]


def _duplicate_clause_problems(item: ServiceItem) -> list[str]:
    seen: set[str] = set()
    problems = []
    for node in item.rule_nodes():
        if node.id is not None:
            if node.id in seen:
                problems.append(f"clause id {node.id!r} is used twice")
            seen.add(node.id)
    return problems


def _effective_date_problems(item: ServiceItem, parameters: Parameters) -> list[str]:
    return [
        f"dated parameter {name!r} has no value on the item's effective date "
        f"{item.effective_from.isoformat()}"
        for name in sorted(item.policy_parameter_names())
        if name in parameters and parameters[name].value_at(item.effective_from) is None
    ]
