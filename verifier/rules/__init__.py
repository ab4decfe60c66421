"""Service items as versioned declarative files, and their three-valued evaluation.

An item file (``data/items/*.yaml``) names the roles and parameters of an application, the
catalogue facts the item needs, and a rule tree and/or a score over them. Policy thresholds
live in dated parameter files (``data/parameters/*.yaml``), resolved at the application's
reference date. Loading checks every item against the catalogue (sharing class, subject
slots, parameters, fact types) so that a broken file fails at start-up.
"""

from verifier.rules._binding import BoundFact
from verifier.rules._item import (
    FactUse,
    ParameterDefinition,
    RoleDefinition,
    ServiceItem,
)
from verifier.rules._loader import (
    ItemRegistry,
    load_service_items,
    load_what_if_items,
    service_item_from_yaml,
)
from verifier.rules._logic import kleene_all, kleene_any, kleene_not, outcome_of, truth_of
from verifier.rules._parameters import (
    DatedParameter,
    PolicyParameters,
    load_parameters,
    parameters_from_yaml,
)
from verifier.rules._score import PointsPerUnit, PointsWhen, Score
from verifier.rules._trace_bound import trace_size_bound
from verifier.rules._tree import (
    AllNode,
    AnyNode,
    ApplicationParameterRef,
    CompareNode,
    Comparison,
    FactNode,
    IfPresentNode,
    NotNode,
    PolicyParameterRef,
    Presence,
    RuleNode,
)

__all__ = [
    "AllNode",
    "AnyNode",
    "ApplicationParameterRef",
    "BoundFact",
    "CompareNode",
    "Comparison",
    "DatedParameter",
    "FactNode",
    "FactUse",
    "IfPresentNode",
    "ItemRegistry",
    "NotNode",
    "ParameterDefinition",
    "PointsPerUnit",
    "PointsWhen",
    "PolicyParameterRef",
    "PolicyParameters",
    "Presence",
    "RoleDefinition",
    "RuleNode",
    "Score",
    "ServiceItem",
    "kleene_all",
    "kleene_any",
    "kleene_not",
    "load_parameters",
    "load_service_items",
    "load_what_if_items",
    "outcome_of",
    "parameters_from_yaml",
    "service_item_from_yaml",
    "trace_size_bound",
    "truth_of",
]
