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
