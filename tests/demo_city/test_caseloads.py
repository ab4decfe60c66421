"""The demo city's re-check caseloads: every row verified one by one with ``Verifier.verify``
gives exactly the planted number of people who no longer qualify, per reason, each
explained by the clause that reason fails; everyone else still qualifies."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.demo_city import DemoCityManifest
from adapters.demo_city._caseloads import ITEMS, application_from_row, caseload_file
from verifier.adapter import DepartmentAdapter
from verifier.engine import Verifier
from verifier.model import DecisionOutcome, Truth, parse_application


def test_the_manifest_and_caseloads_json_record_the_planted_counts(
    city: DemoCityManifest, city_dir: Path
) -> None:
    listed = json.loads((city_dir / "caseloads.json").read_text(encoding="utf-8"))
    assert listed["caseloads"] == json.loads(json.dumps(dict(city.caseloads)))
    for item, caseload in city.caseloads.items():
        with (city_dir / caseload_file(item)).open(encoding="utf-8", newline="") as handle:
            assert sum(1 for _ in csv.DictReader(handle)) == caseload["rows"]
        assert caseload["rows"] > 20
        assert sum(caseload["no_longer_qualify"].values()) > 0


def test_the_files_have_the_documented_columns(city_dir: Path) -> None:
    """The columns a bulk re-check reads: case, item, date, access fields, one column per
    role (``subject_<role>``) and per item parameter (``param_<name>``)."""
    access = ["case_no", "service_item", "reference_date", "purpose", "legal_basis"]
    access.append("consent_reference")
    household = ["subject_applicant", "subject_member_1", "subject_member_2"]
    household += ["subject_member_3", "param_household_size"]
    expected = {
        "social_assistance_recheck": access + household,
        "affordable_housing_recheck": access + household,
        "unemployment_insurance_recheck": [*access, "subject_recipient", "param_benefit_started"],
    }
    for item, columns in expected.items():
        with (city_dir / caseload_file(item)).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == columns
        assert {row["service_item"] for row in rows} == {item}
        assert len({row["case_no"] for row in rows}) == len(rows)


def test_a_row_naming_fewer_people_than_its_household_size_is_refused(city_dir: Path) -> None:
    path = city_dir / caseload_file("social_assistance_recheck")
    with path.open(encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["subject_member_1"])
    application_from_row(row)  # as written: consistent
    with pytest.raises(ValueError, match="param_household_size"):
        application_from_row({**row, "subject_member_1": "", "subject_member_2": ""})


@pytest.mark.parametrize("item", sorted(ITEMS))
async def test_every_row_is_decided_as_planted(
    item: str,
    city: DemoCityManifest,
    city_dir: Path,
    city_adapters: dict[str, DepartmentAdapter],
    make_test_verifier: Callable[..., Verifier],
) -> None:
    caseload = city.caseloads[item]
    clause_of = caseload["failed_clause_of_reason"]
    expected = Counter({clause_of[r]: n for r, n in caseload["no_longer_qualify"].items()})
    failed: Counter[str] = Counter()
    outcomes: Counter[DecisionOutcome] = Counter()
    verifier = make_test_verifier(city_adapters)
    async with verifier:
        with (city_dir / caseload_file(item)).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                result = await verifier.verify(parse_application(application_from_row(row)))
                outcomes[result.decision.outcome] += 1
                if result.decision.outcome is DecisionOutcome.NOT_ELIGIBLE:
                    top = [
                        clause.clause
                        for clause in result.decision.explanation
                        if clause.clause in clause_of.values() and clause.outcome is Truth.FALSE
                    ]
                    assert len(top) == 1, (row["case_no"], top)
                    failed[top[0]] += 1
    assert failed == expected
    assert outcomes[DecisionOutcome.NEEDS_REVIEW] == 0
    assert outcomes[DecisionOutcome.ELIGIBLE] == caseload["rows"] - sum(expected.values())
