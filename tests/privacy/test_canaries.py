"""Privacy as a tested property: raw department values never leave the library.

The demo city plants unique CANARY strings in every raw table (names, addresses, phones…).
Whatever the library is asked — sample applications, hundreds of real residents, bad input,
a broken department — no canary and no full ID number may appear in a result, an error, a
log line or an audit record.
"""

from __future__ import annotations

import csv
import logging
import random
import sqlite3
from pathlib import Path

import pytest
from support import FIRST_HOME_ACCESS, SCHOOL_PLACE_ACCESS

import verifier
from adapters.demo_city import DemoCityManifest
from adapters.demo_city._caseloads import application_from_row, caseload_file
from adapters.demo_city._what_if import RENTAL_6_MONTHS, what_if_file
from verifier import InvalidApplication, parse_application
from verifier.audit import AuditRecord, read_audit_entries
from verifier.cli import main
from verifier.cli._audit_explain import explanation_json, render_explanation
from verifier.cli._audit_source import read_events
from verifier.cli._audit_stores import file_source
from verifier.cli._audit_text import mapping_json

RANDOM_APPLICATIONS = 300


def resident_pairs(city: Path, count: int) -> list[tuple[str, str]]:
    """(guardian, child) pairs read straight from the raw register — test-side only."""
    with sqlite3.connect(city / "household.db") as connection:
        rows = connection.execute("SELECT guardian_id, child_id FROM guardianships").fetchall()
    return random.Random(7).sample(rows, min(count, len(rows)))


def applications(city: DemoCityManifest) -> list[dict[str, object]]:
    found = [sample.application for sample in city.samples]
    for guardian, child in resident_pairs(city.data_dir, RANDOM_APPLICATIONS):
        found.append(
            {
                "service_item": "school_place",
                "subjects": [{"role": "guardian", "id": guardian}, {"role": "child", "id": child}],
                "parameters": {"district": "440305"},
                "reference_date": "2026-08-31",
                **SCHOOL_PLACE_ACCESS,
            }
        )
        found.append(
            {
                "service_item": "first_home_purchase",
                "subjects": [{"role": "buyer", "id": guardian}],
                "reference_date": "2026-08-31",
                **FIRST_HOME_ACCESS,
            }
        )
    # The re-check caseloads reach the vehicle, business and death registers, the pensions
    # and benefit months, and every household booklet of the families they list.
    assert city.data_dir is not None
    for item in sorted(city.caseloads):
        with (city.data_dir / caseload_file(item)).open(encoding="utf-8", newline="") as handle:
            found.extend(application_from_row(row) for row in csv.DictReader(handle))
    return found  # fmt: skip


def audit_text(directory: Path) -> str:
    return "".join(f.read_text(encoding="utf-8") for f in sorted(directory.glob("audit-*.jsonl")))


def assert_clean(text: str, canaries: tuple[str, ...], where: str) -> None:
    leaked = [canary for canary in canaries if canary in text]
    assert not leaked, f"{len(leaked)} canaries leaked into {where}, e.g. {leaked[0]!r}"


async def test_no_canary_in_results_errors_logs_or_audit(
    demo_city: DemoCityManifest,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    assert demo_city.canaries
    audit_dir = tmp_path / "audit"
    config = verifier.load_config(data_dir=demo_city.data_dir, audit={"directory": audit_dir})
    outputs: list[str] = []
    subject_ids: set[str] = set()
    async with verifier.build_verifier(config) as engine:
        for data in applications(demo_city):
            application = parse_application(data)
            subject_ids.update(subject.id for subject in application.subjects)
            result = await engine.verify(application)
            outputs.append(result.model_dump_json())
            outputs.append(repr(result))
        # Bad input, including a resident's ID typed into a free-text field (kept verbatim
        # in the audit log if it were accepted).
        [(guardian, _)] = resident_pairs(demo_city.data_dir, 1)
        subject_ids.add(guardian)
        for broken in (
            {"service_item": "school_place", "subjects": [{"role": "x", "id": "1"}]},
            {**applications(demo_city)[-1], "operator": f"代办人{guardian}"},
        ):
            with pytest.raises(InvalidApplication) as raised:
                await engine.verify(parse_application(broken))
            outputs.append(str(raised.value))

    audit = audit_text(audit_dir)
    records = [entry for entry in read_audit_entries(audit_dir) if entry.type == "record"]
    assert len(records) == len(applications(demo_city))
    # Every record carries its decision trace, so the scans below cover the traces too.
    assert all(entry.body["trace"]["clauses"] for entry in records)
    assert_clean("\n".join(outputs), demo_city.canaries, "results and errors")
    assert_clean(caplog.text, demo_city.canaries, "log lines")
    assert_clean(audit, demo_city.canaries, "the audit log")
    # What an auditor reads of them: every decision explained, and a what-if replay.
    explained = auditor_views(audit_dir, demo_city, capsys)
    assert_clean(explained, demo_city.canaries, "explanations and replays")
    every_output = "\n".join([*outputs, explained])
    leaked_ids = [s for s in subject_ids if s in audit or s in caplog.text or s in every_output]
    assert not leaked_ids, "full ID numbers in the audit log, logs, results, errors or views"


def auditor_views(
    audit_dir: Path, city: DemoCityManifest, capsys: pytest.CaptureFixture[str]
) -> str:
    """``audit explain`` of every verification (text and JSON) and a what-if ``replay``."""
    assert city.data_dir is not None
    views = [
        render_explanation(located) + mapping_json(explanation_json(located))
        for located in read_events(file_source(audit_dir))
        if isinstance(located.event, AuditRecord)
    ]
    what_if = str(city.data_dir / what_if_file(RENTAL_6_MONTHS))
    capsys.readouterr()
    for json_flag in ([], ["--json"]):
        assert main(["audit", "replay", "--audit-dir", str(audit_dir), "--parameters",
                     what_if, *json_flag]) == 0  # fmt: skip
    first = next(located.event for located in read_events(file_source(audit_dir)))
    assert isinstance(first, AuditRecord)
    assert main(["audit", "explain", first.request_id, "--audit-dir", str(audit_dir)]) == 0
    views.append(capsys.readouterr().out)
    assert "changed" in views[-1]
    return "\n".join(views)


@pytest.mark.parametrize(
    ("department", "sample_name"),
    [
        ("tax", "first_home_migrant_tax_24"),
        ("vehicle_registration", "social_assistance_still_qualifies"),
    ],
)
async def test_no_canary_when_a_department_database_breaks(
    demo_city: DemoCityManifest,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    department: str,
    sample_name: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    broken = tmp_path / f"{department}.db"
    broken.write_bytes(b"CANARY-not-a-database " * 100)
    config = verifier.load_config(
        data_dir=demo_city.data_dir,
        audit={"directory": tmp_path / "audit"},
        departments={department: {"url": f"sqlite:///{broken}"}},
    )
    sample = demo_city.sample(sample_name)
    async with verifier.build_verifier(config) as engine:
        result = await engine.verify(parse_application(sample.application))
    failed = [fact for fact in result.facts if fact.provenance.department == department]
    assert failed
    assert all(not fact.known for fact in failed)
    assert result.decision.outcome is verifier.DecisionOutcome.NEEDS_REVIEW
    text = result.model_dump_json() + caplog.text + audit_text(tmp_path / "audit")
    assert "CANARY" not in text
