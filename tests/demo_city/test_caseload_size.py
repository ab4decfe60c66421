"""``--caseload-rows``: caseload files of a chosen size, their planted counts still exact."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from adapters.demo_city import generate_demo_city
from adapters.demo_city._caseloads import caseload_file
from verifier import build_verifier, load_config
from verifier.caseload import Rejected, application_of
from verifier.model import DecisionOutcome

ITEM = "unemployment_insurance_recheck"


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_caseloads_are_cut_or_repeated_to_the_size_asked(tmp_path: Path) -> None:
    natural = generate_demo_city(tmp_path / "natural", people=1_000).caseloads
    rows = 3 * natural[ITEM]["rows"] + 7  # repeated; the household caseloads cut or repeated
    city = generate_demo_city(tmp_path / "sized", people=1_000, caseload_rows=rows)
    listed = json.loads((tmp_path / "sized" / "caseloads.json").read_text(encoding="utf-8"))
    assert listed["caseloads"] == json.loads(json.dumps(dict(city.caseloads)))
    for item, caseload in city.caseloads.items():
        written = rows_of(tmp_path / "sized" / caseload_file(item))
        assert caseload["rows"] == len(written) == rows
        assert caseload["distinct_cases"] == min(rows, natural[item]["rows"])
        assert len({row["case_no"] for row in written}) == rows
        original = rows_of(tmp_path / "natural" / caseload_file(item))
        # The same cases, in order, again and again (the case number apart).
        for index, row in enumerate(written):
            assert {**row, "case_no": ""} == {**original[index % len(original)], "case_no": ""}
    # Every repeated case is decided as the first time: the scaled counts hold.
    planted = city.caseloads[ITEM]
    config = load_config(data_dir=tmp_path / "sized", cache={"enabled": False})
    decisions: Counter[DecisionOutcome] = Counter()
    async with build_verifier(config) as engine:
        item = engine.items.get(ITEM)
        written = rows_of(tmp_path / "sized" / caseload_file(ITEM))
        applications = [application_of(n, row, item) for n, row in enumerate(written, start=1)]
        assert not any(isinstance(application, Rejected) for application in applications)
        async for outcome in engine.decide_many(applications):  # type: ignore[arg-type]
            assert outcome.result is not None
            decisions[outcome.result.decision.outcome] += 1
    assert decisions[DecisionOutcome.NOT_ELIGIBLE] == sum(planted["no_longer_qualify"].values())
    assert decisions[DecisionOutcome.ELIGIBLE] == rows - decisions[DecisionOutcome.NOT_ELIGIBLE]


def test_a_larger_caseload_is_cut_to_its_first_rows(tmp_path: Path) -> None:
    natural = generate_demo_city(tmp_path / "natural", people=1_000).caseloads
    city = generate_demo_city(tmp_path / "cut", people=1_000, caseload_rows=5)
    for item, caseload in city.caseloads.items():
        written = rows_of(tmp_path / "cut" / caseload_file(item))
        assert written == rows_of(tmp_path / "natural" / caseload_file(item))[:5]
        assert caseload["rows"] == 5
        assert caseload["distinct_cases"] == 5
        assert sum(caseload["no_longer_qualify"].values()) <= min(
            5, sum(natural[item]["no_longer_qualify"].values())
        )
