"""Checking applications against an item, and binding its facts to the application."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from verifier._errors import CatalogueError, FieldViolation, InvalidApplication
from verifier.catalogue import Catalogue
from verifier.model import Application, parse_application
from verifier.rules import ItemRegistry, ServiceItem

App = Callable[..., Application]
Ids = Callable[..., str]
Loader = Callable[[dict[str, Any]], ServiceItem]

DISTRICT = {"district": "440305"}


def violations(item: ServiceItem, application: Application) -> dict[str, str]:
    found = item.validate_application(application)
    assert all(isinstance(v, FieldViolation) for v in found)
    return {v.field: v.description for v in found}


@pytest.fixture
def school(registry: ItemRegistry) -> ServiceItem:
    return registry.get("school_place")


@pytest.fixture
def first_home(registry: ItemRegistry) -> ServiceItem:
    return registry.get("first_home_purchase")


def test_a_valid_application(school: ServiceItem, application: App, person: Ids) -> None:
    app = application("school_place", guardian=person(1), child=person(2), parameters=DISTRICT)
    assert school.validate_application(app) == []


def test_an_optional_role_may_be_absent_or_present(
    first_home: ServiceItem, application: App, person: Ids
) -> None:
    alone = application("first_home_purchase", buyer=person(1))
    married = application("first_home_purchase", buyer=person(1), spouse=person(2))
    assert first_home.validate_application(alone) == []
    assert first_home.validate_application(married) == []


def test_unknown_role(school: ServiceItem, application: App, person: Ids) -> None:
    app = application(
        "school_place", guardian=person(1), child=person(2), cousin=person(3), parameters=DISTRICT
    )
    assert violations(school, app) == {
        "subjects[2].role": "role is not defined for service item 'school_place'"
    }


def test_duplicate_role(school: ServiceItem, person: Ids) -> None:
    app = parse_application(
        {
            "service_item": "school_place",
            "subjects": [
                {"role": "guardian", "id": person(1)},
                {"role": "guardian", "id": person(2)},
                {"role": "child", "id": person(3)},
            ],
            "parameters": DISTRICT,
        }
    )
    assert violations(school, app) == {"subjects[1].role": "duplicate role 'guardian'"}


def test_missing_required_role(school: ServiceItem, application: App, person: Ids) -> None:
    app = application("school_place", guardian=person(1), parameters=DISTRICT)
    assert violations(school, app) == {"subjects": "missing required role 'child'"}


def test_subject_kind_must_match_the_role(
    school: ServiceItem, application: App, person: Ids, organisation: Callable[[int], str]
) -> None:
    app = parse_application(
        {
            "service_item": "school_place",
            "subjects": [
                {"role": "guardian", "id": organisation(1), "kind": "legal_person"},
                {"role": "child", "id": person(2)},
            ],
            "parameters": DISTRICT,
        }
    )
    assert violations(school, app) == {
        "subjects[0].kind": "role 'guardian' must be a natural_person"
    }


def test_unknown_and_missing_parameters(school: ServiceItem, application: App, person: Ids) -> None:
    app = application(
        "school_place", guardian=person(1), child=person(2), parameters={"school": "x"}
    )
    assert violations(school, app) == {
        "parameters.school": "unknown parameter",
        "parameters.district": "required",
    }


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (440305, "must be a string"),
        (True, "must be a string"),
        ("44030", r"does not match the required format ^\d{6}$"),
        ("4403051", r"does not match the required format ^\d{6}$"),
        ("44O305", r"does not match the required format ^\d{6}$"),
    ],
)
def test_string_parameter_type_and_pattern(
    school: ServiceItem, application: App, person: Ids, value: object, problem: str
) -> None:
    app = application(
        "school_place", guardian=person(1), child=person(2), parameters={"district": value}
    )
    assert violations(school, app) == {"parameters.district": problem}


@pytest.fixture
def typed_item(load_item: Loader, item_data: dict[str, Any]) -> ServiceItem:
    item_data["parameters"]["year"] = {"type": "integer", "minimum": 2000, "maximum": 2100}
    item_data["parameters"]["priority"] = {"type": "boolean", "required": False}
    return load_item(item_data)


@pytest.mark.parametrize(
    ("parameters", "problems"),
    [
        ({"year": 2026}, {}),
        ({"year": 2000, "priority": False}, {}),
        ({"year": 2100}, {}),
        ({"year": 1999}, {"parameters.year": "must be at least 2000"}),
        ({"year": 2101}, {"parameters.year": "must be at most 2100"}),
        ({"year": "2026"}, {"parameters.year": "must be an integer"}),
        ({"year": True}, {"parameters.year": "must be an integer"}),
        ({"year": 2026, "priority": 1}, {"parameters.priority": "must be a boolean"}),
        ({"year": 2026, "priority": "yes"}, {"parameters.priority": "must be a boolean"}),
    ],
)
def test_integer_and_boolean_parameters(
    typed_item: ServiceItem,
    application: App,
    person: Ids,
    parameters: dict[str, object],
    problems: dict[str, str],
) -> None:
    app = application(
        "school_place",
        guardian=person(1),
        child=person(2),
        parameters={**DISTRICT, **parameters},
    )
    assert violations(typed_item, app) == problems


def test_reference_date_before_the_thresholds(
    school: ServiceItem, application: App, person: Ids
) -> None:
    app = application(
        "school_place",
        guardian=person(1),
        child=person(2),
        parameters=DISTRICT,
        reference_date=date(2014, 12, 31),
    )
    assert violations(school, app) == {
        "reference_date": "precedes the policy parameters of service item 'school_place' "
        "(in force from 2015-01-01)"
    }
    app = app.model_copy(update={"reference_date": date(2015, 1, 1)})
    assert violations(school, app) == {}


def test_another_items_application(school: ServiceItem, application: App, person: Ids) -> None:
    app = application("first_home_purchase", buyer=person(1))
    assert violations(school, app)["service_item"] == "is not service item 'school_place'"


def test_messages_never_echo_values_or_ids(
    school: ServiceItem, application: App, person: Ids, organisation: Callable[[int], str]
) -> None:
    secret_district = "12345X"
    app = parse_application(
        {
            "service_item": "school_place",
            "subjects": [
                {"role": "guardian", "id": organisation(7), "kind": "legal_person"},
                {"role": "pupil", "id": person(8)},
            ],
            "parameters": {"district": secret_district, "note": "private remark"},
        }
    )
    text = " ".join(f"{v.field} {v.description}" for v in school.validate_application(app))
    for secret in (secret_district, "private remark", organisation(7), person(8)):
        assert secret not in text


# ---- bind -------------------------------------------------------------------------------


def test_bind_school_place(
    school: ServiceItem, application: App, person: Ids, catalogue: Catalogue
) -> None:
    guardian = person(1).replace("X", "x")  # normalised by the application model
    app = application("school_place", guardian=guardian, child=person(2), parameters=DISTRICT)
    bound = school.bind(app, catalogue, date(2026, 8, 31))
    assert [fact.name for fact in bound] == [
        "guardian_is_parent",
        "child_registered_in_district",
        "guardian_rental_months",
        "guardian_social_insurance_months",
    ]
    by_name = {fact.name: fact for fact in bound}
    parent = by_name["guardian_is_parent"]
    assert parent.definition is catalogue.facts["guardian_of"]
    assert parent.roles == {"guardian": "guardian", "child": "child"}
    assert parent.subject_ids == {"guardian": person(1), "child": person(2)}
    assert parent.parameters == {}
    assert by_name["child_registered_in_district"].subject_ids == {"subject": person(2)}
    assert by_name["child_registered_in_district"].parameters == DISTRICT
    assert by_name["guardian_rental_months"].parameters == DISTRICT


def test_bind_skips_facts_of_an_absent_optional_role(
    first_home: ServiceItem, application: App, person: Ids, catalogue: Catalogue
) -> None:
    alone = first_home.bind(
        application("first_home_purchase", buyer=person(1)), catalogue, date(2026, 6, 1)
    )
    assert "spouse_owns_no_home" not in [fact.name for fact in alone]
    assert len(alone) == 4
    married = first_home.bind(
        application("first_home_purchase", buyer=person(1), spouse=person(2)),
        catalogue,
        date(2026, 6, 1),
    )
    spouse = {fact.name: fact for fact in married}["spouse_owns_no_home"]
    assert spouse.subject_ids == {"subject": person(2)}
    assert spouse.roles == {"subject": "spouse"}
    assert first_home.fact_names_for({"buyer"}) == [fact.name for fact in alone]


def test_bind_resolves_dated_parameters_in_fact_bindings(
    first_home: ServiceItem, application: App, person: Ids, catalogue: Catalogue
) -> None:
    bound = first_home.bind(
        application("first_home_purchase", buyer=person(1)), catalogue, date(2026, 6, 1)
    )
    windows = {fact.name: fact.parameters for fact in bound if fact.parameters}
    assert windows == {
        "buyer_social_insurance_months": {"window_months": 36},
        "buyer_income_tax_months": {"window_months": 36},
    }


@pytest.fixture
def changing_window(load_item: Loader, item_data: dict[str, Any]) -> ServiceItem:
    """A window bound to test.min_months, which is 12 until 2020-06-30 and 18 after."""
    item_data["id"] = "first_home_purchase"
    item_data["roles"] = {"buyer": {}}
    item_data["parameters"] = {}
    item_data["facts"] = {
        "paid_months": {
            "fact": "income_tax_months_in_window",
            "subjects": {"subject": "buyer"},
            "parameters": {"window_months": {"parameter": "test.min_months"}},
        }
    }
    item_data["rule"] = {"compare": {"fact": "paid_months", "op": ">=", "value": 6}}
    return load_item(item_data)


@pytest.mark.parametrize(
    ("on", "window"),
    [(date(2015, 1, 1), 12), (date(2020, 6, 30), 12), (date(2020, 7, 1), 18)],
)
def test_bind_resolves_at_the_reference_date(
    changing_window: ServiceItem,
    application: App,
    person: Ids,
    catalogue: Catalogue,
    on: date,
    window: int,
) -> None:
    app = application("first_home_purchase", buyer=person(1))
    [bound] = changing_window.bind(app, catalogue, on)
    assert bound.parameters == {"window_months": window}


def test_bind_before_the_first_parameter_value(
    changing_window: ServiceItem, application: App, person: Ids, catalogue: Catalogue
) -> None:
    app = application("first_home_purchase", buyer=person(1))
    with pytest.raises(InvalidApplication) as caught:
        changing_window.bind(app, catalogue, date(2014, 12, 31))
    assert [v.field for v in caught.value.violations] == ["reference_date"]


def test_bind_an_invalid_application_raises(
    school: ServiceItem, application: App, person: Ids, catalogue: Catalogue
) -> None:
    app = application("school_place", guardian=person(1), child=person(2))
    with pytest.raises(InvalidApplication, match=r"parameters\.district: required"):
        school.bind(app, catalogue, date(2026, 8, 31))


@pytest.mark.parametrize("item_id", ["social_assistance_recheck", "affordable_housing_recheck"])
def test_a_household_size_must_be_the_number_of_people_named(
    registry: ItemRegistry, application: App, person: Ids, item_id: str
) -> None:
    """The booklet check compares the register with ``household_size``: a size larger than
    the people named would leave a member unchecked, so validation refuses it (for a single
    verification as for a caseload row), naming the parameter, never its value."""
    item = registry.get(item_id)
    pair = {"applicant": person(1), "member_1": person(2)}
    assert violations(item, application(item_id, parameters={"household_size": 2}, **pair)) == {}
    wrong = "must be the number of subjects the application names"
    for size in (1, 3):
        app = application(item_id, parameters={"household_size": size}, **pair)
        assert violations(item, app) == {"parameters.household_size": wrong}
    # Out of range: the range's own message, not a second one about the count.
    app = application(item_id, parameters={"household_size": 5}, **pair)
    assert set(violations(item, app)) == {"parameters.household_size"}


def test_only_an_integer_parameter_can_count_the_subjects(
    load_item: Loader, item_data: dict[str, Any]
) -> None:
    item_data["parameters"]["members"] = {"type": "string", "counts_subjects": True}
    with pytest.raises(CatalogueError, match="count the subjects"):
        load_item(item_data)
