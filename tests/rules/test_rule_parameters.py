"""Dated policy parameters: resolution at boundaries, and the loader's errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from verifier._errors import CatalogueError
from verifier.rules import PolicyParameters, load_parameters, parameters_from_yaml

CHANGED = """
x.threshold:
  description: Changed on 2020-07-01.
  reference: 《办法》
  values:
    2020-07-01: 18
    2015-01-01: 12
"""


@pytest.fixture
def threshold() -> PolicyParameters:
    return PolicyParameters(parameters_from_yaml(CHANGED))


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2014, 12, 31), None),
        (date(2015, 1, 1), 12),
        (date(2020, 6, 30), 12),
        (date(2020, 7, 1), 18),
        (date(2030, 1, 1), 18),
    ],
)
def test_value_in_force_is_the_latest_entry_on_or_before_the_date(
    threshold: PolicyParameters, on: date, expected: int | None
) -> None:
    assert threshold["x.threshold"].value_at(on) == expected


def test_first_date_and_numeric(threshold: PolicyParameters) -> None:
    parameter = threshold["x.threshold"]
    assert parameter.first_date == date(2015, 1, 1)
    assert parameter.is_numeric


def test_shipped_parameters_resolve_from_2015(shipped_parameters: PolicyParameters) -> None:
    assert list(shipped_parameters) == sorted(shipped_parameters)
    expected = {
        "school_place.min_rental_months": 12,
        "school_place.min_social_insurance_months": 12,
        "first_home_purchase.window_months": 36,
        "first_home_purchase.min_social_insurance_months_in_window": 24,
        "first_home_purchase.min_income_tax_months_in_window": 24,
    }
    for name, value in expected.items():
        parameter = shipped_parameters[name]
        assert parameter.value_at(date(2015, 1, 1)) == value
        assert parameter.value_at(date(2014, 12, 31)) is None
        assert parameter.reference.startswith("《")


def test_mixed_value_kinds_are_rejected() -> None:
    text = CHANGED.replace("18", "eighteen")
    with pytest.raises(CatalogueError, match=r"(?s)params\.yaml: parameter 'x\.threshold'.*mixes"):
        parameters_from_yaml(text, source="params.yaml")


def test_a_parameter_needs_values() -> None:
    text = "x.empty: {description: d, reference: r, values: {}}"
    with pytest.raises(CatalogueError, match=r"x\.empty"):
        parameters_from_yaml(text)


def test_bad_name_is_rejected() -> None:
    text = "X-Bad: {description: d, reference: r, values: {2015-01-01: 1}}"
    with pytest.raises(CatalogueError, match="X-Bad"):
        parameters_from_yaml(text)


def test_not_a_mapping() -> None:
    with pytest.raises(CatalogueError, match=r"p\.yaml: expected a mapping"):
        parameters_from_yaml("- a\n- b\n", source="p.yaml")
    with pytest.raises(CatalogueError, match="must be a mapping"):
        parameters_from_yaml("x.y: 12\n")


def test_invalid_yaml() -> None:
    with pytest.raises(CatalogueError, match=r"p\.yaml: not valid YAML"):
        parameters_from_yaml("x: [unclosed\n", source="p.yaml")


def test_duplicate_across_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CHANGED, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(CHANGED, encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"b\.yaml: .*already defined in .*a\.yaml"):
        load_parameters(tmp_path)


def test_duplicate_in_one_set() -> None:
    [parameter] = parameters_from_yaml(CHANGED)
    with pytest.raises(CatalogueError, match="defined twice"):
        PolicyParameters([parameter, parameter])


def test_load_from_directory(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CHANGED, encoding="utf-8")
    (tmp_path / "ignored.txt").write_text("not: yaml", encoding="utf-8")
    loaded = load_parameters(tmp_path)
    assert list(loaded) == ["x.threshold"]
    assert len(loaded) == 1
    assert "x.threshold" in repr(loaded)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="not a directory"):
        load_parameters(tmp_path / "absent")
