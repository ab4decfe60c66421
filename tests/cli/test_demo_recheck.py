"""The demo's bulk re-check: ``verifier recheck`` over a demo caseload, its summary shown."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

import verifier
from adapters.demo_city import generate_demo_city
from verifier.cli._demo_recheck import DEMO_RECHECK_ITEM, show_recheck


async def test_the_demo_rechecks_a_caseload_and_shows_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city = generate_demo_city(tmp_path / "city", people=1_000)
    config = verifier.load_config(data_dir=tmp_path / "city")
    assert await show_recheck(config, sys.executable) == 0
    shown = capsys.readouterr().out
    planted = city.caseloads[DEMO_RECHECK_ITEM]
    rows = planted["rows"]
    assert f"re-checked {rows} rows into" in shown
    no_longer = sum(planted["no_longer_qualify"].values())
    counted = {line.split()[0]: int(line.split()[-1]) for line in shown.splitlines()
               if line.split()[:1] in (["NOT_ELIGIBLE"], ["ELIGIBLE"])}  # fmt: skip
    assert counted == {"NOT_ELIGIBLE": no_longer, "ELIGIBLE": rows - no_longer}
    assert "failed clauses:" in shown
    with (tmp_path / "city" / "recheck" / "results.csv").open(encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == rows
    assert sum(row["decision"] == "NOT_ELIGIBLE" for row in written) == no_longer
    # What the demo prints and the results it leaves name cases, never people.
    results = (tmp_path / "city" / "recheck" / "results.csv").read_text(encoding="utf-8")
    with (tmp_path / "city" / "recheck" / "caseload.csv").open(encoding="utf-8") as handle:
        people = {row["subject_recipient"] for row in csv.DictReader(handle)}
    assert people
    assert not [person for person in people if person in shown or person in results]
