"""The items shipped with the package, and the registry that serves them."""

from __future__ import annotations

from datetime import date

import pytest

from verifier._errors import UnknownServiceItem
from verifier.model import DecisionOutcome
from verifier.rules import ItemRegistry


def test_registry_lists_items_sorted(registry: ItemRegistry) -> None:
    assert [item.id for item in registry] == [
        "affordable_housing_recheck",
        "first_home_purchase",
        "school_place",
        "social_assistance_recheck",
        "unemployment_insurance_recheck",
    ]
    assert registry.list() == list(registry)
    assert len(registry) == 5
    assert "school_place" in registry
    assert "library_card" not in registry
    assert "school_place@2026.1" in repr(registry)


def test_unknown_item(registry: ItemRegistry) -> None:
    with pytest.raises(UnknownServiceItem) as caught:
        registry.get("library_card")
    assert caught.value.violations[0].field == "service_item"


@pytest.mark.parametrize("item_id", ["school_place", "first_home_purchase"])
def test_shipped_item_metadata(registry: ItemRegistry, item_id: str) -> None:
    item = registry.get(item_id)
    assert item.version == "2026.1"
    assert item.rule_version == f"{item_id}@2026.1"
    assert item.effective_from == date(2026, 1, 1)
    assert item.title_zh
    assert item.policy_reference.startswith("《")
    assert item.rule is not None
    assert item.score is None
    # Thresholds are dated parameters, never literals in the item file.
    assert item.policy_parameter_names() == set(item.policy_parameters)
    assert all(name.startswith(f"{item_id}.") for name in item.policy_parameters)


def test_shipped_fact_names(registry: ItemRegistry) -> None:
    assert list(registry.get("school_place").facts) == [
        "guardian_is_parent",
        "child_registered_in_district",
        "guardian_rental_months",
        "guardian_social_insurance_months",
    ]
    assert list(registry.get("first_home_purchase").facts) == [
        "buyer_owns_no_home",
        "spouse_owns_no_home",
        "buyer_local_household",
        "buyer_social_insurance_months",
        "buyer_income_tax_months",
    ]


def test_every_labelled_clause_is_bilingual(registry: ItemRegistry) -> None:
    for item in registry:
        decision = item.evaluate({}, roles_present=set(item.roles), reference_date=date(2026, 6, 1))
        assert decision.outcome is DecisionOutcome.NEEDS_REVIEW
        for line in decision.explanation:
            assert "(" in line.label, line.clause
            assert any("\u4e00" <= ch <= "\u9fff" for ch in line.label), line.clause
            # Numbers belong in thresholds (dated parameters), not in labels.
            assert not any(ch.isdigit() for ch in line.label), line.clause
