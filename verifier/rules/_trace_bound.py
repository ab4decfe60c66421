"""How large an item's decision trace can get, worked out when the item loads.

Every answered verification's audit record carries its decision trace (the labelled
clauses with their outcomes, the thresholds in force, the application's parameters). Its
size depends only on the item, never on the citizen: the clauses are the item's own, each
naming the facts its sub-tree reads, the thresholds the item's dated parameters, the
parameters those it declares (each at most ``ParameterText``'s 256 characters). So the
largest trace an item can produce is known at load, and an item whose trace could exceed
``MAX_TRACE_BYTES`` is refused then, not discovered in a log that grew a line too long.

The bound counts every character as its JSON escape (``\\uXXXX``, six bytes) would take, so
it is an upper bound of the UTF-8 the log writes (at most four bytes a character, six for
the line breaks the log escapes), and the outcome of each clause as the longest one.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from verifier.model import Truth

if TYPE_CHECKING:
    from verifier.rules._item import ServiceItem

MAX_TRACE_BYTES = 16_384
"""The most a decision trace may take in an audit record (16 KiB; the bound of the shipped
items' largest, social_assistance_recheck's 28 clauses, is about half of it)."""

MAX_PARAMETER_TEXT = 256
"""``verifier.model``'s ``ParameterText`` limit: the longest text an application parameter
holds."""

_TRACE = '{"clauses":[],"parameters":{},"rule_version":,"score_components":[],"thresholds":{}}'
_CLAUSE = '{"clause":,"depth":,"facts":[],"label":,"outcome":,"threshold":},'
_COMPONENT = '{"basis":,"component":,"facts":[],"label":,"points":},'
_NUMBER = 24
"""The longest a number is written: a float's ``repr`` or a 64-bit integer, with its sign."""
_OUTCOME = max(len(json.dumps(truth.value)) for truth in Truth)


def trace_size_bound(item: ServiceItem) -> int:
    """The most bytes a decision trace of ``item`` can take, on any reference date."""
    worst = max((_dated_bound(item, day) for day in _threshold_dates(item)), default=0)
    parameters = sum(
        _json(name) + 2 + (_parameter_bound(definition.type))
        for name, definition in item.parameters.items()
    )
    return len(_TRACE) + _json(item.rule_version) + parameters + worst


def trace_size_problems(item: ServiceItem) -> list[str]:
    bound = trace_size_bound(item)
    if bound <= MAX_TRACE_BYTES:
        return []
    return [
        f"its decision trace could take {bound:,} bytes of every audit record, more than "
        f"{MAX_TRACE_BYTES:,} (fewer or shorter labelled clauses)"
    ]


def _dated_bound(item: ServiceItem, day: date) -> int:
    """The clauses, components and thresholds as compiled on ``day``: every role present and
    every fact unknown, so each clause names every fact its sub-tree can read."""
    decision = item.rule_at(day).evaluate({}, set(item.roles))
    size = sum(
        len(_CLAUSE)
        + _json(line.clause)
        + _NUMBER
        + _names(line.facts)
        + _json(line.label)
        + _OUTCOME
        + _json(line.threshold)
        for line in decision.explanation
    )
    size += sum(
        len(_COMPONENT)
        + _json(component.basis)
        + _json(component.component)
        + _names(component.facts)
        + _json(component.label)
        + _NUMBER
        for component in decision.score_components
    )
    thresholds = item.rule_at(day).thresholds
    return size + sum(_json(name) + 2 + _json(value) for name, value in thresholds.items())


def _threshold_dates(item: ServiceItem) -> list[date]:
    """Every date a threshold of the item changes on, once all of them have a value (the
    thresholds' text differs only between these); the effective date if it has none."""
    parameters = item.policy_parameters.values()
    if not parameters:
        return [item.effective_from]
    first = max(parameter.first_date for parameter in parameters)
    changes = {day for parameter in parameters for day in parameter.values if day >= first}
    return sorted(changes | {first})


def _parameter_bound(kind: str) -> int:
    if kind == "string":
        return 2 + 6 * MAX_PARAMETER_TEXT
    return _NUMBER if kind == "integer" else len("false")


def _names(names: tuple[str, ...]) -> int:
    return sum(_json(name) + 1 for name in names)


def _json(value: object) -> int:
    """Its JSON with every non-ASCII character escaped: at least what the log writes."""
    if isinstance(value, float):
        return _NUMBER
    return len(json.dumps(value, ensure_ascii=True))
