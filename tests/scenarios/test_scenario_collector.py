"""The scenario collector: one test per scenario, and failures a policy officer can read."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_items_test_command import run_pytest

WRONG = """
- name: 写错的期望 (wrong expectation)
  item: school_place
  reference_date: 2026-08-31
  roles: [guardian, child]
  facts:
    guardian_is_parent: true
    child_registered_in_district: UNKNOWN
    guardian_rental_months: 11
    guardian_social_insurance_months: 12
  expect:
    decision: ELIGIBLE
    clauses: {rental_months: TRUE, nothing: FALSE}
- name: 漏写事实 (missing fact)
  item: school_place
  reference_date: 2026-08-31
  roles: [guardian, child]
  facts: {guardian_is_parent: true}
  expect: {decision: ELIGIBLE}
- name: malformed
  item: school_place
  reference_date: 2026-08-31
  roles: [guardian, child]
  facts: {guardian_is_parent: maybe}
  expect: {decision: ELIGIBLE}
- name: passes
  item: first_home_purchase
  reference_date: 2026-06-01
  roles: [buyer]
  facts:
    buyer_owns_no_home: false
    buyer_local_household: UNKNOWN
    buyer_social_insurance_months: UNKNOWN
    buyer_income_tax_months: UNKNOWN
  expect: {decision: NOT_ELIGIBLE}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    # Its own pytest.ini keeps the project's configuration out of the inner run; the
    # plugin collects only the files it names.
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nverifier_scenarios = *.yaml\n", encoding="utf-8"
    )
    return tmp_path


def test_failures_are_explained(folder: Path) -> None:
    (folder / "cases.yaml").write_text(WRONG, encoding="utf-8")
    result = run_pytest(folder)
    out = result.stdout
    assert result.returncode == 1, out
    assert "3 failed, 1 passed" in out
    assert "scenario: 写错的期望 (wrong expectation)  (cases.yaml, line 2)" in out
    assert "decision: expected ELIGIBLE, got NEEDS_REVIEW" in out
    assert "clause 'rental_months': expected TRUE, got FALSE" in out
    assert "clause 'nothing': not in the explanation" in out
    assert "[>= 12 (school_place.min_rental_months)]" in out
    assert "fact 'guardian_rental_months' must be given (or UNKNOWN)" in out
    assert "facts.guardian_is_parent: must be true, false, a whole number, or UNKNOWN" in out


def test_duplicate_names_are_a_collection_error(folder: Path) -> None:
    (folder / "cases.yaml").write_text(WRONG + WRONG, encoding="utf-8")
    result = run_pytest(folder)
    assert result.returncode != 0
    assert "two scenarios named '写错的期望 (wrong expectation)'" in result.stdout


def test_a_file_that_is_not_a_list(folder: Path) -> None:
    (folder / "cases.yaml").write_text("name: single\n", encoding="utf-8")
    result = run_pytest(folder)
    assert result.returncode != 0
    assert "expected a list of scenarios" in result.stdout
