"""Derivations are registered per catalogue fact (``@derives``): a catalogue fact without
one fails at wiring, naming the department and the fact; two for one fact fail at once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest
import yaml

from adapters.vehicle_registration import VehicleRegistrationAdapter
from verifier import ConfigurationError, load_config
from verifier.adapter import FactRequest
from verifier.adapter.sql import Answer, Row, SqlDepartmentAdapter, SubjectRead, derives
from verifier.catalogue import catalogue_from_yaml, load_catalogue
from verifier.config._wiring import create_adapter

PACKAGED = Path(__file__).resolve().parents[2] / "verifier/catalogue/data/catalogue.yaml"


def catalogue_with_extra_vehicle_fact() -> str:
    data = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
    data["facts"]["vehicle_insured"] = {
        **data["facts"]["vehicles_owned"],
        "description": "A compulsory traffic insurance (交强险) covers a vehicle of the subject.",
        "value_type": "boolean",
        "absence_value": False,
    }
    data["facts"]["vehicle_insured"].pop("maximum", None)
    return yaml.safe_dump(data, allow_unicode=True)


def test_registered_derivations_are_the_supported_facts() -> None:
    assert VehicleRegistrationAdapter.derivations == {
        "vehicles_owned": "_vehicles_owned",
        "owns_vehicle_valued_over": "_valued_over",
    }


def test_a_catalogue_fact_without_a_derivation_fails_at_wiring(tmp_path: Path) -> None:
    text = catalogue_with_extra_vehicle_fact()
    (tmp_path / "catalogue.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        load_config(data_dir=tmp_path, catalogue=tmp_path / "catalogue.yaml")
    message = str(raised.value)
    assert "departments.vehicle_registration" in message
    assert "no derivation" in message
    assert "vehicle_insured" in message
    # The same check guards wiring by hand (build_verifier with a catalogue of its own).
    with pytest.raises(ConfigurationError, match=r"no derivation .* vehicle_insured"):
        create_adapter(
            load_config(data_dir=tmp_path), "vehicle_registration", catalogue_from_yaml(text)
        )


def test_the_shipped_catalogue_wires_every_department(tmp_path: Path) -> None:
    config = load_config(data_dir=tmp_path)
    catalogue = load_catalogue()
    for department in catalogue.departments:
        adapter = create_adapter(config, department, catalogue)
        assert {fact.id for fact in catalogue.facts_of(department)} >= adapter.supported_facts()


def test_two_derivations_for_one_fact_fail_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match=r"Twice: fact 'vehicles_owned' has two derivations"):

        class Twice(SqlDepartmentAdapter[None]):
            department = "vehicle_registration"
            read = SubjectRead(VehicleRegistrationAdapter.read.branches)

            def collect(self, rows: Mapping[str, list[Row]]) -> None:
                return None

            @derives("vehicles_owned")
            def _one(self, request: FactRequest, records: None, as_of: date) -> Answer:
                return 0

            @derives("vehicles_owned")
            def _other(self, request: FactRequest, records: None, as_of: date) -> Answer:
                return 1


def test_a_subclass_may_replace_a_derivation() -> None:
    class Stricter(VehicleRegistrationAdapter):
        @derives("owns_vehicle_valued_over")
        def _stricter(self, request: FactRequest, records: object, as_of: date) -> Answer:
            return True

    assert Stricter.derivations["owns_vehicle_valued_over"] == "_stricter"
    assert Stricter.derivations["vehicles_owned"] == "_vehicles_owned"


def test_derives_needs_a_fact() -> None:
    with pytest.raises(TypeError, match="at least one catalogue fact"):
        derives()
