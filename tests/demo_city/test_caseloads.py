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
from verifier._errors import InvalidApplication
from verifier.adapter import DepartmentAdapter, DepartmentAnswer, DepartmentQuery
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


async def test_a_household_naming_fewer_people_than_its_size_is_refused_before_any_department(
    city_dir: Path,
    city_adapters: dict[str, DepartmentAdapter],
    make_test_verifier: Callable[..., Verifier],
) -> None:
    """The check lives in the item (``counts_subjects``), so a single verification gets it
    as a caseload row does: refused as bad input, before any department is asked."""
    path = city_dir / caseload_file("social_assistance_recheck")
    with path.open(encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["subject_member_1"])
    short = {**row, "subject_member_1": "", "subject_member_2": "", "subject_member_3": ""}
    asked = Counter[str]()
    adapters = {name: _Counting(adapter, asked) for name, adapter in city_adapters.items()}
    async with make_test_verifier(adapters) as verifier:
        await verifier.verify(parse_application(application_from_row(row)))
        assert sum(asked.values()) > 0
        asked.clear()
        with pytest.raises(InvalidApplication) as refused:
            await verifier.verify(parse_application(application_from_row(short)))
    assert [v.field for v in refused.value.violations] == ["parameters.household_size"]
    assert not asked


class _Counting(DepartmentAdapter):
    """A department adapter that counts the calls it is given, then passes them on."""

    def __init__(self, inner: DepartmentAdapter, asked: Counter[str]) -> None:
        self.department = inner.department
        self._inner, self._asked = inner, asked

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        self._asked[self.department] += 1
        return await self._inner.fetch(query)

    def supported_facts(self) -> frozenset[str]:
        return self._inner.supported_facts()


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
