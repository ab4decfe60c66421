"""The conformance suite (verifier.adapter.conformance) on every shipped SQL department,
over the session's small demo city on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib

import pytest
from adapter_support import City
from support import resident_id

from verifier.adapter import ParameterValue
from verifier.adapter.conformance import ConformanceDatabase, ConformanceTarget, conformance_suite
from verifier.catalogue import load_catalogue

CATALOGUE = load_catalogue()
NOBODY = resident_id("11010119900101950")  # valid, but no one in the city has it
PARAMETERS: dict[str, dict[str, ParameterValue]] = {
    "household_registered_in_district": {"district": "440305"},
    "household_larger_than": {"members": 2},
    "social_insurance_months_in_window": {"window_months": 24},
    "contribution_base_average_exceeds": {"window_months": 12, "threshold_yuan": 6000},
    "contribution_months_since": {"since": "2025-09-01"},
    "unemployment_benefit_months_drawn": {"since": "2024-09-01"},
    "registered_rental_months_in_district": {"district": "440305"},
    "income_tax_months_in_window": {"window_months": 24},
    "owns_vehicle_valued_over": {"threshold_yuan": 150_000},
}


def target(department: str) -> ConformanceTarget:
    module = importlib.import_module(f"adapters.{department}")
    return ConformanceTarget(
        department=department,
        create_adapter=module.create_adapter,
        catalogue=CATALOGUE,
        unknown_subject=NOBODY,
        parameters=PARAMETERS,
    )


@pytest.fixture
def department_database(request: pytest.FixtureRequest, city: City) -> ConformanceDatabase:
    """The department's database in the city, with the subjects of every planted sample
    (their edge cases: pending transfers, pensions, deaths…) and the first residents."""
    department: str = request.cls.target.department
    planted = [
        subject["id"]
        for sample in city.manifest.samples
        for subject in sample.application["subjects"]
    ]
    samples = list(dict.fromkeys([*planted, *city.resident_ids(10)]))
    return ConformanceDatabase(city.urls[department], samples)


# One line per department package, as an integrator writes it for theirs.
TestHousehold = conformance_suite(target("household"), database="department_database")
TestSocialInsurance = conformance_suite(target("social_insurance"), database="department_database")
TestHousing = conformance_suite(target("housing"), database="department_database")
TestTax = conformance_suite(target("tax"), database="department_database")
TestVehicles = conformance_suite(target("vehicle_registration"), database="department_database")
TestMarket = conformance_suite(target("market_regulation"), database="department_database")
TestCivilAffairs = conformance_suite(target("civil_affairs"), database="department_database")
TestCourts = conformance_suite(target("courts"), database="department_database")
