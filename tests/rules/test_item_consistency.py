"""Every inconsistency between an item file, the catalogue and the dated parameters is a
CatalogueError at load time, naming the file and the problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from verifier._errors import CatalogueError
from verifier.catalogue import Catalogue, catalogue_from_yaml
from verifier.rules import (
    ItemRegistry,
    PolicyParameters,
    ServiceItem,
    load_service_items,
    service_item_from_yaml,
)

Loader = Callable[[dict[str, Any]], ServiceItem]


def rejected(load_item: Loader, data: dict[str, Any]) -> str:
    with pytest.raises(CatalogueError) as caught:
        load_item(data)
    message = str(caught.value)
    assert message.startswith("test_item.yaml: "), message
    return message


def test_the_base_item_loads(load_item: Loader, item_data: dict[str, Any]) -> None:
    item = load_item(item_data)
    assert item.rule_version == "school_place@2026.1"
    assert set(item.policy_parameters) == {"test.min_months"}


def test_unknown_catalogue_fact(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["is_parent"]["fact"] = "no_such_fact"
    message = rejected(load_item, item_data)
    assert "fact 'is_parent': unknown catalogue fact 'no_such_fact'" in message


def test_not_shared_fact(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["insured_months"]["fact"] = "social_insurance_contribution_base"
    message = rejected(load_item, item_data)
    assert "'social_insurance_contribution_base' is not shared" in message


def test_conditional_fact_not_allowing_the_item(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["id"] = "library_card"
    message = rejected(load_item, item_data)
    assert "conditional fact 'guardian_of' is not shared with service item 'library_card'" in (
        message
    )
    assert "allowed items: school_place" in message
    # Unconditional facts serve any item; only the conditional ones are refused.
    assert "household_registered_in_district" not in message


PURPOSE_CATALOGUE = """
version: "test"
departments:
  household: {name: Household}
facts:
  guardian_of:
    department: household
    description: Guardian relation.
    value_type: boolean
    subjects: [guardian, child]
    sharing: conditional
    allowed_purposes: [school_admission]
    freshness: P1D
    legal_reference: 《办法》
"""


def test_conditional_fact_listing_only_purposes_is_accepted(
    test_parameters: PolicyParameters,
) -> None:
    catalogue = catalogue_from_yaml(PURPOSE_CATALOGUE)
    data = {
        "id": "library_card",
        "version": "2026.1",
        "title": "t",
        "title_zh": "t",
        "description": "d",
        "policy_reference": "p",
        "effective_from": date(2026, 1, 1),
        "roles": {"guardian": {}, "child": {}},
        "facts": {
            "is_parent": {
                "fact": "guardian_of",
                "subjects": {"guardian": "guardian", "child": "child"},
            }
        },
        "rule": {"fact": "is_parent"},
    }
    item = service_item_from_yaml(yaml.safe_dump(data), catalogue, test_parameters)
    assert item.id == "library_card"


def test_subject_slot_not_bound(load_item: Loader, item_data: dict[str, Any]) -> None:
    del item_data["facts"]["is_parent"]["subjects"]["child"]
    message = rejected(load_item, item_data)
    assert "subject slot 'child' of 'guardian_of' is not bound" in message


def test_subject_slot_bound_to_unknown_role(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["is_parent"]["subjects"]["child"] = "pupil"
    message = rejected(load_item, item_data)
    assert "subject slot 'child' is bound to unknown role 'pupil'" in message


def test_unknown_subject_slot(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["insured_months"]["subjects"]["employer"] = "guardian"
    message = rejected(load_item, item_data)
    assert "'social_insurance_continuous_months' has no subject slot 'employer'" in message


def test_fact_parameter_not_bound(load_item: Loader, item_data: dict[str, Any]) -> None:
    del item_data["facts"]["child_in_district"]["parameters"]
    message = rejected(load_item, item_data)
    assert "parameter 'district' of 'household_registered_in_district' is not bound" in message


def test_unknown_fact_parameter(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["child_in_district"]["parameters"]["year"] = 2026
    message = rejected(load_item, item_data)
    assert "'household_registered_in_district' has no parameter 'year'" in message


def test_fact_parameter_bound_to_unknown_item_parameter(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["facts"]["child_in_district"]["parameters"]["district"] = {"param": "school"}
    message = rejected(load_item, item_data)
    assert "parameter 'district' is bound to unknown item parameter 'school'" in message


def test_fact_parameter_type_mismatch(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["parameters"]["district"] = {"type": "integer"}
    message = rejected(load_item, item_data)
    assert "needs a string, item parameter 'district' is a integer" in message


def test_fact_parameter_bound_to_optional_item_parameter(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["parameters"]["district"]["required"] = False
    message = rejected(load_item, item_data)
    assert "is bound to optional item parameter 'district'" in message


def test_fact_parameter_literal_of_wrong_type(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["child_in_district"]["parameters"]["district"] = 440305
    message = rejected(load_item, item_data)
    assert "parameter 'district': literal must be a string" in message


def test_fact_parameter_bound_to_unknown_dated_parameter(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["facts"]["child_in_district"]["parameters"]["district"] = {"parameter": "test.no"}
    message = rejected(load_item, item_data)
    assert "is bound to unknown dated parameter 'test.no'" in message


@pytest.fixture
def window_item(item_data: dict[str, Any]) -> dict[str, Any]:
    """An item binding a window-length fact parameter (the fact serves first_home_purchase)."""
    item_data["id"] = "first_home_purchase"
    item_data["roles"] = {"buyer": {}}
    item_data["parameters"] = {"window": {"type": "integer", "minimum": 1, "maximum": 120}}
    item_data["facts"] = {
        "paid_months": {
            "fact": "social_insurance_months_in_window",
            "subjects": {"subject": "buyer"},
            "parameters": {"window_months": {"parameter": "test.window_months"}},
        }
    }
    item_data["rule"] = {
        "compare": {"fact": "paid_months", "op": ">=", "value": {"parameter": "test.min_months"}}
    }
    return item_data


def test_fact_parameter_from_a_dated_parameter(
    load_item: Loader, window_item: dict[str, Any]
) -> None:
    assert load_item(window_item).policy_parameter_names() == {
        "test.window_months",
        "test.min_months",
    }


@pytest.mark.parametrize(
    ("binding", "problem"),
    [
        (200, "literal is above the fact's maximum 120"),
        (0, "literal is below the fact's minimum 1"),
        ("36", "literal must be an integer"),
        ({"parameter": "test.label"}, "dated parameter 'test.label' (from 2015-01-01) must be"),
        ({"param": "window"}, None),
    ],
)
def test_fact_parameter_values_are_checked_against_the_catalogue(
    load_item: Loader, window_item: dict[str, Any], binding: object, problem: str | None
) -> None:
    window_item["facts"]["paid_months"]["parameters"]["window_months"] = binding
    if problem is None:
        load_item(window_item)
    else:
        assert problem in rejected(load_item, window_item)


def test_item_parameter_range_must_lie_within_the_facts(
    load_item: Loader, window_item: dict[str, Any]
) -> None:
    window_item["parameters"]["window"] = {"type": "integer", "minimum": 1}
    window_item["facts"]["paid_months"]["parameters"]["window_months"] = {"param": "window"}
    message = rejected(load_item, window_item)
    assert "item parameter 'window' allows values outside the fact's range" in message


def test_rule_refers_to_unknown_fact_name(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["rule"]["all"][0]["fact"] = "is_guardian"
    message = rejected(load_item, item_data)
    assert "clause 'parent': unknown fact name 'is_guardian'" in message


def test_rule_refers_to_unknown_dated_parameter(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["rule"]["all"][1]["any"][1]["compare"]["value"] = {"parameter": "test.nope"}
    message = rejected(load_item, item_data)
    assert "clause 'insured': unknown dated parameter 'test.nope'" in message


def test_compare_with_a_non_numeric_dated_parameter(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["rule"]["all"][1]["any"][1]["compare"]["value"] = {"parameter": "test.label"}
    message = rejected(load_item, item_data)
    assert "dated parameter 'test.label' is not a number" in message


def test_compare_on_a_boolean_fact(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["rule"]["all"][1]["any"][1]["compare"]["fact"] = "child_in_district"
    message = rejected(load_item, item_data)
    assert "fact 'child_in_district' is boolean, expected integer" in message


def test_fact_node_on_an_integer_fact(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["rule"]["all"][0]["fact"] = "insured_months"
    message = rejected(load_item, item_data)
    assert "clause 'parent': fact 'insured_months' is integer, expected boolean" in message


def test_optional_role_fact_outside_if_present(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["rule"]["all"][2] = {"fact": "spouse_no_home"}
    message = rejected(load_item, item_data)
    assert "clause 'eligible.2': fact 'spouse_no_home' concerns optional role 'spouse'" in message
    assert "only inside if_present for 'spouse'" in message


def test_optional_role_fact_under_the_wrong_if_present(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["roles"]["witness"] = {"required": False}
    item_data["rule"]["all"][2]["if_present"]["role"] = "witness"
    message = rejected(load_item, item_data)
    assert "concerns optional role 'spouse'" in message


def test_if_present_on_unknown_or_required_role(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    unknown = copy.deepcopy(item_data)
    unknown["rule"]["all"][2]["if_present"]["role"] = "cousin"
    assert "if_present names unknown role 'cousin'" in rejected(load_item, unknown)
    item_data["rule"]["all"][0] = {"if_present": {"role": "child", "then": {"fact": "is_parent"}}}
    assert "if_present names required role 'child'" in rejected(load_item, item_data)


def test_unused_fact_is_refused(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["child_enrolled"] = {
        "fact": "social_insurance_enrolled",
        "subjects": {"subject": "child"},
    }
    message = rejected(load_item, item_data)
    assert "fact 'child_enrolled' is declared but no rule or score reads it" in message


def test_duplicate_clause_ids(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["rule"]["all"][1]["id"] = "parent"
    assert "clause id 'parent' is used twice" in rejected(load_item, item_data)


def test_parameter_without_value_on_the_effective_date(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["effective_from"] = date(2014, 1, 1)
    message = rejected(load_item, item_data)
    assert "dated parameter 'test.min_months' has no value on the item's effective date" in message


def test_every_problem_is_listed(load_item: Loader, item_data: dict[str, Any]) -> None:
    item_data["facts"]["is_parent"]["fact"] = "household_member_details"
    item_data["rule"]["all"][1]["any"][0]["fact"] = "nothing"
    message = rejected(load_item, item_data)
    assert "is not shared" in message
    assert "unknown fact name 'nothing'" in message
    assert message.count("\n  - ") >= 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("rule"), "needs a rule, a score, or both"),
        (lambda d: d.__setitem__("version", 2026.1), "version"),
        (lambda d: d.__setitem__("version", "v1"), "version"),
        (lambda d: d.__setitem__("id", "School-Place"), "id"),
        (lambda d: d["rule"]["all"].append({"fact": "x", "all": []}), "exactly one of"),
        (lambda d: d["rule"]["all"].append({"nothing": 1}), "exactly one of"),
        (lambda d: d["rule"]["all"][1]["any"][1]["compare"].update(op="=>"), "op"),
        (lambda d: d.__setitem__("colour", "blue"), "colour"),
        (lambda d: d["parameters"]["district"].update(minimum=1), "minimum or maximum"),
        (lambda d: d["parameters"]["district"].update(type="integer"), "pattern"),
        (lambda d: d["parameters"]["district"].update(pattern="(["), "regular expression"),
        (
            lambda d: d["parameters"].__setitem__(
                "age", {"type": "integer", "minimum": 9, "maximum": 3}
            ),
            "minimum is greater than maximum",
        ),
    ],
)
def test_schema_errors(
    load_item: Loader,
    item_data: dict[str, Any],
    change: Callable[[dict[str, Any]], object],
    problem: str,
) -> None:
    change(item_data)
    message = rejected(load_item, item_data)
    assert "invalid service item" in message
    assert problem in message


def test_item_text_that_is_not_a_mapping(
    catalogue: Catalogue, test_parameters: PolicyParameters
) -> None:
    with pytest.raises(CatalogueError, match=r"x\.yaml: expected a mapping"):
        service_item_from_yaml("[1, 2]", catalogue, test_parameters, source="x.yaml")


def _write_items(folder: Path, *items: dict[str, Any]) -> Path:
    folder.mkdir()
    for index, data in enumerate(items):
        text = yaml.safe_dump(data, allow_unicode=True)
        (folder / f"item_{index}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_duplicate_item_ids_across_files(
    tmp_path: Path, catalogue: Catalogue, item_data: dict[str, Any], parameters_directory: Path
) -> None:
    items = _write_items(tmp_path / "items", item_data, item_data)
    with pytest.raises(CatalogueError) as caught:
        load_service_items(catalogue, items, parameters_directory)
    message = str(caught.value)
    assert "item_1.yaml: service item 'school_place' is already defined in" in message
    assert "item_0.yaml" in message


def test_duplicate_item_ids_in_a_registry(load_item: Loader, item_data: dict[str, Any]) -> None:
    item = load_item(item_data)
    with pytest.raises(CatalogueError, match="service item 'school_place' is defined twice"):
        ItemRegistry([item, item])


def test_items_from_a_directory(
    tmp_path: Path, catalogue: Catalogue, item_data: dict[str, Any], parameters_directory: Path
) -> None:
    items = _write_items(tmp_path / "items", item_data)
    registry = load_service_items(catalogue, items, parameters_directory)
    assert [item.id for item in registry] == ["school_place"]


def test_an_item_file_in_a_directory_is_named(
    tmp_path: Path, catalogue: Catalogue, item_data: dict[str, Any], parameters_directory: Path
) -> None:
    item_data["facts"]["is_parent"]["fact"] = "property_details"
    items = _write_items(tmp_path / "items", item_data)
    with pytest.raises(CatalogueError, match=r"item_0\.yaml: service item 'school_place'"):
        load_service_items(catalogue, items, parameters_directory)


def test_a_parameter_missing_from_the_directory(
    tmp_path: Path, catalogue: Catalogue, item_data: dict[str, Any]
) -> None:
    items = _write_items(tmp_path / "items", item_data)
    # The packaged parameters do not define test.min_months.
    with pytest.raises(CatalogueError, match=r"unknown dated parameter 'test\.min_months'"):
        load_service_items(catalogue, items)


def test_an_empty_items_directory(tmp_path: Path, catalogue: Catalogue) -> None:
    with pytest.raises(CatalogueError, match="no service item files"):
        load_service_items(catalogue, tmp_path)
