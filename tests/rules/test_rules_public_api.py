"""The public surface of verifier.rules: changing it is a deliberate act."""

from __future__ import annotations

import verifier.rules

EXPECTED = [
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


def test_exported_names_are_pinned_and_sorted() -> None:
    assert verifier.rules.__all__ == EXPECTED
    assert sorted(verifier.rules.__all__) == verifier.rules.__all__


def test_every_exported_name_exists_and_is_public_api() -> None:
    for name in verifier.rules.__all__:
        assert hasattr(verifier.rules, name), name
