"""Shared fixtures for the rules tests: the shipped catalogue, parameters and items, and
builders for applications and for item files edited one key at a time."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from verifier.catalogue import Catalogue, load_catalogue
from verifier.model import (
    Application,
    credit_code_check_character,
    parse_application,
    resident_id_check_character,
)
from verifier.rules import (
    ItemRegistry,
    PolicyParameters,
    ServiceItem,
    load_parameters,
    load_service_items,
    parameters_from_yaml,
    service_item_from_yaml,
)

TEST_PARAMETERS = """
test.min_months:
  description: A threshold that changed once.
  reference: 《测试办法》第一条
  unit: month
  values:
    2015-01-01: 12
    2020-07-01: 18
test.window_months:
  description: A window length.
  reference: 《测试办法》第二条
  values:
    2015-01-01: 36
test.pass_mark:
  description: Points needed.
  reference: 《测试办法》第三条
  values:
    2015-01-01: 60
test.label:
  description: Not a number.
  reference: 《测试办法》第四条
  values:
    2015-01-01: text
"""

# A small but complete item over the shipped catalogue. Tests copy it, change one thing,
# and check the loader's verdict. Its id is school_place so conditional facts allow it.
BASE_ITEM: dict[str, Any] = {
    "id": "school_place",
    "version": "2026.1",
    "title": "Test item",
    "title_zh": "测试事项",
    "description": "An item for tests.",
    "policy_reference": "《测试办法》",
    "effective_from": date(2026, 1, 1),
    "roles": {
        "guardian": {"description": "Guardian."},
        "child": {"description": "Child."},
        "spouse": {"required": False},
    },
    "parameters": {"district": {"type": "string", "pattern": r"^\d{6}$"}},
    "facts": {
        "is_parent": {
            "fact": "guardian_of",
            "subjects": {"guardian": "guardian", "child": "child"},
        },
        "child_in_district": {
            "fact": "household_registered_in_district",
            "subjects": {"subject": "child"},
            "parameters": {"district": {"param": "district"}},
        },
        "insured_months": {
            "fact": "social_insurance_continuous_months",
            "subjects": {"subject": "guardian"},
        },
        "spouse_no_home": {"fact": "owns_no_home_in_city", "subjects": {"subject": "spouse"}},
    },
    "rule": {
        "id": "eligible",
        "label": "eligible",
        "all": [
            {"id": "parent", "label": "is parent", "fact": "is_parent"},
            {
                "id": "residence",
                "label": "registered or insured",
                "any": [
                    {"fact": "child_in_district"},
                    {
                        "id": "insured",
                        "label": "insured long enough",
                        "compare": {
                            "fact": "insured_months",
                            "op": ">=",
                            "value": {"parameter": "test.min_months"},
                        },
                    },
                ],
            },
            {"if_present": {"role": "spouse", "then": {"fact": "spouse_no_home"}}},
        ],
    },
}


def _person(serial: int, *, born: str = "19850101") -> str:
    """A valid resident ID (GB 11643) for tests: district 440305, the given birth date."""
    first17 = f"440305{born}{serial:03d}"
    return first17 + resident_id_check_character(first17)


def _organisation(serial: int) -> str:
    first17 = f"91440300MA5{serial:05d}X"[:17]
    return first17 + credit_code_check_character(first17)


@pytest.fixture
def person() -> Callable[..., str]:
    """``person(1)``: a valid resident ID, distinct per serial."""
    return _person


@pytest.fixture
def organisation() -> Callable[[int], str]:
    """``organisation(1)``: a valid unified social credit code, distinct per serial."""
    return _organisation


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def shipped_parameters() -> PolicyParameters:
    return load_parameters()


@pytest.fixture(scope="session")
def registry(catalogue: Catalogue) -> ItemRegistry:
    return load_service_items(catalogue)


@pytest.fixture(scope="session")
def test_parameters() -> PolicyParameters:
    return PolicyParameters(parameters_from_yaml(TEST_PARAMETERS))


@pytest.fixture
def parameters_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding TEST_PARAMETERS as a parameter file."""
    folder = tmp_path_factory.mktemp("parameters")
    (folder / "test.yaml").write_text(TEST_PARAMETERS, encoding="utf-8")
    return folder


@pytest.fixture
def item_data() -> dict[str, Any]:
    """A fresh deep copy of BASE_ITEM to edit."""
    return copy.deepcopy(BASE_ITEM)


@pytest.fixture
def load_item(
    catalogue: Catalogue, test_parameters: PolicyParameters
) -> Callable[[dict[str, Any]], ServiceItem]:
    """Round-trip item data through YAML text, as an item file would be read."""

    def load(data: dict[str, Any]) -> ServiceItem:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
        return service_item_from_yaml(text, catalogue, test_parameters, source="test_item.yaml")

    return load


@pytest.fixture
def application() -> Callable[..., Application]:
    """``application("school_place", guardian=person(1), child=person(2), district=...)``."""

    def build(
        item: str,
        *,
        reference_date: date | None = None,
        parameters: dict[str, Any] | None = None,
        **roles: str,
    ) -> Application:
        data: dict[str, Any] = {
            "service_item": item,
            "subjects": [{"role": role, "id": subject} for role, subject in roles.items()],
            "parameters": parameters or {},
        }
        if reference_date is not None:
            data["reference_date"] = reference_date
        return parse_application(data)

    return build
