"""The catalogue loads the shipped file and refuses inconsistent ones with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import DEPARTMENTS

from verifier import CatalogueError
from verifier.catalogue import SharingClass, catalogue_from_yaml, load_catalogue
from verifier.model import SubjectKind

MINIMAL = """
version: "test"
departments:
  housing: {name: Housing}
facts:
  owns_no_home_in_city:
    department: housing
    description: d
    value_type: boolean
    sharing: unconditional
    freshness: P1D
    legal_reference: r
"""


def test_shipped_catalogue_loads_with_every_sharing_class() -> None:
    catalogue = load_catalogue()
    assert {fact.sharing for fact in catalogue.facts.values()} == set(SharingClass)
    assert set(catalogue.departments) == set(DEPARTMENTS)
    for fact in catalogue.facts.values():
        assert fact.legal_reference
        assert fact.freshness.total_seconds() > 0


def test_minimal_catalogue_loads() -> None:
    catalogue = catalogue_from_yaml(MINIMAL)
    assert catalogue.fact("owns_no_home_in_city").department == "housing"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("department: housing", "department: police"), "unknown department 'police'"),
        (("sharing: unconditional", "sharing: conditional"), "must list allowed_items"),
        (("sharing: unconditional", "sharing: sometimes"), "sharing"),
        (("value_type: boolean", "value_type: text"), "value_type"),
        (("freshness: P1D", "freshness: soon"), "freshness"),
        (("legal_reference: r", "legal_ref: r"), "legal_reference"),
    ],
)
def test_inconsistent_catalogue_names_the_problem(change: tuple[str, str], message: str) -> None:
    with pytest.raises(CatalogueError) as raised:
        catalogue_from_yaml(MINIMAL.replace(*change), source="broken.yaml")
    assert "broken.yaml" in str(raised.value)
    assert message in str(raised.value)


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("facts: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load_catalogue(bad)
    bad.write_text("- a list", encoding="utf-8")
    with pytest.raises(CatalogueError, match="mapping"):
        load_catalogue(bad)


WITH_REGISTER = """
version: "test"
registers:
  natural_person: {department: household, fact: in_register}
departments:
  household: {name: Household}
  housing: {name: Housing}
facts:
  in_register:
    department: household
    description: d
    value_type: boolean
    sharing: unconditional
    freshness: P1D
    legal_reference: r
  homes_owned_in_city:
    department: housing
    description: d
    value_type: integer
    maximum: 5
    absence_value: 0
    sharing: unconditional
    freshness: P1D
    legal_reference: r
"""


def test_a_register_and_absence_values_load() -> None:
    catalogue = catalogue_from_yaml(WITH_REGISTER)
    register = catalogue.register_for(SubjectKind.NATURAL_PERSON)
    assert register is not None
    assert register.id == "in_register"
    assert catalogue.register_for(SubjectKind.LEGAL_PERSON) is None
    assert catalogue.fact("homes_owned_in_city").absence_value == 0
    shipped = load_catalogue()
    assert shipped.fact("owns_no_home_in_city").absence_value is True
    assert shipped.fact("has_overdue_tax").absence_value is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("fact: in_register}", "fact: nowhere}"), "unknown fact 'nowhere'"),
        (("{department: household,", "{department: housing,"), "is not 'housing''s"),
        (("natural_person:", "robot:"), "registers.robot"),
        (("absence_value: 0", "absence_value: false"), "must be of the fact's type (integer)"),
        (("absence_value: 0", "absence_value: 6"), "within 0..maximum"),
        (("absence_value: 0", "absence_value: -1"), "within 0..maximum"),
        (
            ("    value_type: boolean\n    sharing: unconditional", "    value_type: boolean\n"
             "    sharing: not_shared"),
            "must be shared unconditionally",
        ),
        (
            ("    value_type: boolean\n", "    value_type: boolean\n    absence_value: false\n"),
            "has no absence_value",
        ),
        (("    value_type: boolean\n", "    value_type: integer\n"), "must be a yes/no"),
    ],
)  # fmt: skip
def test_an_inconsistent_register_or_absence_value_names_the_problem(
    change: tuple[str, str], message: str
) -> None:
    with pytest.raises(CatalogueError) as raised:
        catalogue_from_yaml(WITH_REGISTER.replace(*change), source="broken.yaml")
    assert message in str(raised.value)
