"""The rule tree: eligibility as nested data (all / any / not / fact / compare / if_present).

A structured tree needs no parser, and each node can carry an ``id`` (stable in
explanations and scenario tests) and a ``label`` (what the clause means, shown to the clerk)::

    all:
      - {id: guardianship, label: 监护关系成立, fact: guardian_is_parent}
      - any:
          - {fact: child_registered_in_district}
          - compare: {fact: guardian_rental_months, op: ">=",
                      value: {parameter: school_place.min_rental_months}}
      - if_present: {role: spouse, then: {fact: spouse_owns_no_home}}
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictInt, Tag

from verifier.model import Identifier
from verifier.rules._parameters import ParameterName

Operator = Literal[">=", ">", "<=", "<", "==", "!="]

_NODE_KINDS = ("all", "any", "not", "fact", "compare", "if_present")


class PolicyParameterRef(BaseModel):
    """``{parameter: <dated parameter>}``: a threshold read from the dated parameter files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parameter: ParameterName


class ApplicationParameterRef(BaseModel):
    """``{param: <item parameter>}``: a value the application supplies (e.g. the district)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    param: Identifier


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str]
    id: Identifier | None = None
    """Stable clause id for explanations; a path such as ``rule.1.0`` is used when omitted."""
    label: str | None = Field(default=None, min_length=1)
    """Shown to the clerk; only labelled nodes produce an explanation line."""


class AllNode(_Node):
    """Holds when every child holds (Kleene AND)."""

    kind: ClassVar[str] = "all"
    all: tuple[RuleNode, ...] = Field(min_length=1)


class AnyNode(_Node):
    """Holds when at least one child holds (Kleene OR)."""

    kind: ClassVar[str] = "any"
    any: tuple[RuleNode, ...] = Field(min_length=1)


class NotNode(_Node):
    kind: ClassVar[str] = "not"
    negated: RuleNode = Field(alias="not")


class FactNode(_Node):
    """A boolean fact (by the item's name for it) is true."""

    kind: ClassVar[str] = "fact"
    fact: Identifier


class Comparison(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    fact: Identifier
    """An integer fact, by the item's name for it."""
    op: Operator
    value: StrictInt | PolicyParameterRef
    """A literal only for what is not policy; thresholds belong in dated parameters."""


class CompareNode(_Node):
    """An integer fact compared with a literal or a dated parameter."""

    kind: ClassVar[str] = "compare"
    compare: Comparison


class Presence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Identifier
    """An optional role of the item."""
    then: RuleNode


class IfPresentNode(_Node):
    """TRUE when the optional role is absent from the application, else the inner node."""

    kind: ClassVar[str] = "if_present"
    if_present: Presence


def _node_kind(value: Any) -> str | None:
    if isinstance(value, _Node):
        return value.kind
    if isinstance(value, dict):
        present = [key for key in _NODE_KINDS if key in value]
        # Exactly one kind key; None makes pydantic report the custom error below.
        return present[0] if len(present) == 1 else None
    return None


RuleNode = Annotated[
    Annotated[AllNode, Tag("all")]
    | Annotated[AnyNode, Tag("any")]
    | Annotated[NotNode, Tag("not")]
    | Annotated[FactNode, Tag("fact")]
    | Annotated[CompareNode, Tag("compare")]
    | Annotated[IfPresentNode, Tag("if_present")],
    Discriminator(
        _node_kind,
        custom_error_type="rule_node",
        custom_error_message=(
            "a rule node needs exactly one of: all, any, not, fact, compare, if_present"
        ),
    ),
]

for _model in (AllNode, AnyNode, NotNode, Presence, IfPresentNode):
    _model.model_rebuild()


def children(node: RuleNode) -> tuple[RuleNode, ...]:
    """The node's direct sub-nodes, in order (an if_present's inner node included)."""
    if isinstance(node, AllNode):
        return node.all
    if isinstance(node, AnyNode):
        return node.any
    if isinstance(node, NotNode):
        return (node.negated,)
    if isinstance(node, IfPresentNode):
        return (node.if_present.then,)
    return ()
