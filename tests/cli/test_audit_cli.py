"""``verifier audit …`` over a real log, written by real verifications of the demo city."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import SCHOOL_PLACE_ACCESS, TEST_PSEUDONYM_KEY, resident_id

import verifier
from adapters.demo_city import DemoCityManifest
from verifier.audit import Pseudonymiser, cancelled_record_for, generate_signing_key_files
from verifier.cli import main
from verifier.cli._audit_report import LatencyHistogram
from verifier.cli._audit_source import Period, moment
from verifier.cli._audit_text import clean, query_cells

PSEUDONYMS = Pseudonymiser(TEST_PSEUDONYM_KEY)
REPEATED = "first_home_local_buyer"
"""Verified twice, so its subjects have two records each."""
SUBJECTS_PER_HOUR = 10
"""Low enough for the samples to raise one high-risk alert (an alert record in the log)."""


@dataclass(frozen=True)
class AuditedCity:
    config: Path
    directory: Path
    results: tuple[tuple[str, verifier.VerificationResult], ...]
    """(sample name, result) for every verification, in the order they were made."""

    def subject(self, city: DemoCityManifest, sample: str, role: str) -> str:
        application = city.sample(sample).application
        return next(s["id"] for s in application["subjects"] if s["role"] == role)


async def _verify_samples(
    config: verifier.VerifierConfig, city: DemoCityManifest
) -> list[tuple[str, verifier.VerificationResult]]:
    results = []
    async with verifier.build_verifier(config) as engine:
        for sample in [*city.samples, city.sample(REPEATED)]:
            application = verifier.parse_application(sample.application)
            results.append((sample.name, await engine.verify(application)))
    return results


@pytest.fixture(scope="module")
def audited(demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory) -> AuditedCity:
    root = tmp_path_factory.mktemp("audited")
    settings = {
        "data_dir": str(demo_city.data_dir),
        "audit": {"directory": str(root / "audit"), "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
        "alerts": {"enabled": True, "distinct_subjects_per_hour": SUBJECTS_PER_HOUR},
    }
    config_file = root / "verifier.yaml"
    config_file.write_text(yaml.safe_dump(settings), encoding="utf-8")
    config = verifier.load_config(config_file)
    results = asyncio.run(_verify_samples(config, demo_city))
    return AuditedCity(config_file, root / "audit", tuple(results))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def record_lines(directory: Path) -> list[tuple[Path, int, str]]:
    """(file, line number, text) of every verification record line in the log."""
    found = []
    for file in sorted(directory.glob("audit-*.jsonl")):
        for number, text in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if '"verification"' in text:
                found.append((file, number, text))
    return found


def test_verify_an_intact_log(audited: AuditedCity, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "--config", str(audited.config))
    assert code == 0
    assert "INTACT" in out
    assert f"{len(audited.results) + 1} records" in out  # and the alert
    assert "open tail       0 entries" in out


def test_verify_names_the_tampered_line_of_a_copy(
    audited: AuditedCity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"  # what an auditor receives: the log files, no private key
    shutil.copytree(audited.directory, copy, ignore=shutil.ignore_patterns("signing-key*"))
    public_key = tmp_path / "auditor.pub.pem"
    shutil.copy(audited.directory / "signing-key.pub.pem", public_key)
    verify = ["verify", "--audit-dir", str(copy), "--public-key", str(public_key)]
    assert run(capsys, *verify)[0] == 0
    records = record_lines(copy)
    file, number, text = records[len(records) // 2]
    # Flip one hex digit of the request id: still valid JSON, still a valid record.
    position = text.index('"request_id":"') + len('"request_id":"')
    flipped = "0" if text[position] != "0" else "1"
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = text[:position] + flipped + text[position + 1 :] + "\n"
    file.write_text("".join(lines), encoding="utf-8")
    code, out, _ = run(capsys, *verify)
    assert code == 1
    assert "BROKEN" in out
    assert f"{file.name}:{number} (seq " in out


def test_verify_a_live_log_reports_its_open_tail(
    audited: AuditedCity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live"
    shutil.copytree(audited.directory, live)
    last = sorted(live.glob("audit-*.jsonl"))[-1]
    lines = last.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"shutdown"' in lines[-1]
    last.write_text("".join(lines[:-1]), encoding="utf-8")  # as if still being written
    code, out, _ = run(capsys, "verify", "--audit-dir", str(live))
    assert code == 1
    assert "UNSEALED" in out
    assert "--allow-open-tail" in out
    code, out, _ = run(capsys, "verify", "--audit-dir", str(live), "--allow-open-tail")
    assert code == 0
    assert f"open tail       {len(audited.results) + 1} entries not yet sealed" in out


def test_verify_with_another_public_key_fails_at_the_first_checkpoint(
    audited: AuditedCity, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate_signing_key_files(tmp_path)
    code, out, _ = run(
        capsys, "verify", "--config", str(audited.config),
        "--public-key", str(tmp_path / "signing-key.pub.pem"),
    )  # fmt: skip
    assert code == 1
    assert "not the given key" in out


def test_query_by_subject_finds_exactly_their_records(
    demo_city: DemoCityManifest, audited: AuditedCity, capsys: pytest.CaptureFixture[str]
) -> None:
    buyer = audited.subject(demo_city, REPEATED, "buyer")
    code, out, err = run(capsys, "query", "--config", str(audited.config), "--subject", buyer)
    assert code == 0
    assert buyer not in out + err
    assert buyer[-4:] in out  # the masked form
    assert "2 verification(s) matched" in out
    code, out, _ = run(
        capsys, "query", "--config", str(audited.config), "--subject", buyer.lower(), "--json"
    )
    found = json_lines(out)
    expected = {r.request_id for name, r in audited.results if name == REPEATED}
    assert {row["request_id"] for row in found} == expected
    assert buyer not in out
    pseudonym = PSEUDONYMS.pseudonym(buyer)
    assert all(any(s["pseudonym"] == pseudonym for s in row["subjects"]) for row in found)


def test_query_filters_by_item_decision_caller_and_period(
    audited: AuditedCity, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["query", "--config", str(audited.config), "--json"]
    _, out, _ = run(capsys, *base, "--item", "school_place", "--decision", "not_eligible")
    expected = [
        r.request_id
        for _, r in audited.results
        if r.service_item == "school_place" and r.decision.outcome == "NOT_ELIGIBLE"
    ]
    assert [row["request_id"] for row in json_lines(out)] == expected
    _, out, _ = run(capsys, *base, "--since", "2000-01-01", "--until", "2999-12-31")
    assert len(json_lines(out)) == len(audited.results)
    _, out, _ = run(capsys, *base, "--until", "2000-01-01T08:00+08:00")
    assert json_lines(out) == []
    _, out, _ = run(capsys, *base, "--caller", "nobody-calls-like-this")
    assert json_lines(out) == []


def test_show_prints_facts_calls_and_the_place_in_the_log(
    audited: AuditedCity, capsys: pytest.CaptureFixture[str]
) -> None:
    result = dict(audited.results)["school_place_pending_transfer"]
    code, out, _ = run(capsys, "show", result.request_id, "--config", str(audited.config))
    assert code == 0
    for fact in result.facts:
        assert fact.name in out
    for call in result.department_calls:
        assert call.department in out
    assert "UNKNOWN (RECORD_PENDING)" in out
    assert "compulsory_education_admission" in out
    assert "《义务教育法》第十二条" in out
    file, number, _ = next(r for r in record_lines(audited.directory) if result.request_id in r[2])
    assert f"{file.name}:{number}" in out
    code, _, err = run(capsys, "show", "0" * 32, "--config", str(audited.config))
    assert code == 1
    assert "no verification" in err


def test_report_counts_items_decisions_and_documents(
    audited: AuditedCity, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "--config", str(audited.config), "--json")
    assert code == 0
    report = json.loads(out)
    results = [r for _, r in audited.results]
    assert report["verifications"] == len(results)
    per_item = Counter(r.service_item for r in results)
    assert {item: row["total"] for item, row in report["by_item"].items()} == per_item
    assert report["by_decision"] == {
        d.value: sum(r.decision.outcome == d for r in results) for d in verifier.DecisionOutcome
    }
    documents = Counter(doc for r in results for doc in r.documents_not_required)
    assert report["documents_not_required"] == dict(documents)
    # The departments the audited verifications asked (no sample asks the courts).
    asked = {call.department for r in results for call in r.department_calls}
    assert set(report["departments"]) == asked
    unknown = Counter(
        (f.provenance.department, str(f.reason))
        for r in results
        for f in r.facts
        if f.status is verifier.FactStatus.UNKNOWN
    )
    assert unknown  # the pending transfers
    reported = {
        (department, reason): count
        for department, row in report["departments"].items()
        for reason, count in row["unknown_by_reason"].items()
    }
    assert reported == dict(unknown)
    for row in report["departments"].values():
        assert 0 < row["latency_ms"]["p50"] <= row["latency_ms"]["p95"] <= row["latency_ms"]["max"]
    alerts = report["alerts_by_rule"]["distinct_subjects_per_hour"]
    assert alerts["alerts"] == 1
    assert alerts["threshold"] == SUBJECTS_PER_HOUR < alerts["max_observed"]
    code, out, _ = run(capsys, "report", "--config", str(audited.config))
    assert code == 0
    assert "documents no longer required" in out
    assert "school_place" in out


@pytest.mark.parametrize(
    ("sample", "role", "facts"),
    [
        # The population register is asked about each subject of a "nothing held" fact:
        # the citizen's statement shows that read too.
        (REPEATED, "spouse",
         {"spouse_owns_no_home", "spouse.registered_in_population_register"}),
        ("school_place_local_registration", "child",
         {"guardian_is_parent", "child_registered_in_district",
          "child.registered_in_population_register"}),
    ],
)  # fmt: skip
def test_statement_lists_only_facts_about_that_subject(
    demo_city: DemoCityManifest,
    audited: AuditedCity,
    capsys: pytest.CaptureFixture[str],
    sample: str,
    role: str,
    facts: set[str],
) -> None:
    subject = audited.subject(demo_city, sample, role)
    code, out, err = run(
        capsys, "statement", "--subject", subject, "--config", str(audited.config), "--json"
    )
    assert code == 0
    accesses = json_lines(out)
    assert len(accesses) == sum(name == sample for name, _ in audited.results)
    for access in accesses:
        assert access["roles"] == [role]
        assert {f["name"] for f in access["facts"]} == facts
        assert access["purpose"]
    code, out, err = run(capsys, "statement", "--subject", subject, "--config", str(audited.config))
    assert code == 0
    assert subject not in out + err
    assert "facts read" in out


def test_errors_name_the_problem_and_exit_2(
    demo_city: DemoCityManifest,
    audited: AuditedCity,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "query", "--audit-dir", str(tmp_path / "missing"))
    assert code == 2
    assert "does not exist" in err
    code, _, err = run(
        capsys, "verify", "--config", str(audited.config), "--public-key", str(tmp_path / "no.pem")
    )
    assert code == 2
    assert "no.pem" in err
    subject = audited.subject(demo_city, REPEATED, "buyer")
    without_key = ["--data-dir", str(tmp_path), "--audit-dir", str(audited.directory)]
    code, _, err = run(capsys, "statement", "--subject", subject, *without_key)
    assert code == 2
    assert "pseudonym key" in err
    assert subject not in err
    with pytest.raises(SystemExit):
        run(capsys, "query", "--subject", subject[:-1] + "0", *without_key)
    assert subject[:-1] not in capsys.readouterr().err
    copy = tmp_path / "corrupt"
    shutil.copytree(audited.directory, copy)
    file, number, text = record_lines(copy)[2]
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = text[: len(text) // 2] + "\n"
    file.write_text("".join(lines), encoding="utf-8")
    code, _, err = run(capsys, "report", "--config", str(audited.config), "--audit-dir", str(copy))
    assert code == 2
    assert f"{file.name}:{number}" in err


def test_times_without_an_offset_are_shanghai_time_and_until_takes_the_whole_day() -> None:
    since, whole_day = moment("2026-08-31")
    assert whole_day
    assert since == datetime(2026, 8, 30, 16, tzinfo=UTC)
    explicit, _ = moment("2026-08-31T09:30+00:00")
    assert explicit == datetime(2026, 8, 31, 9, 30, tzinfo=UTC)
    period = Period(until=moment("2026-08-31")[0] + timedelta(days=1))
    assert period.contains(datetime(2026, 8, 31, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    assert not period.contains(datetime(2026, 8, 31, 16, 0, tzinfo=UTC))


def test_latency_percentiles_are_within_one_percent() -> None:
    histogram = LatencyHistogram()
    for value in range(1, 1001):
        histogram.add(value / 10)
    assert histogram.percentile(50) == pytest.approx(50.0, rel=0.01)
    assert histogram.percentile(95) == pytest.approx(95.0, rel=0.01)
    assert histogram.percentile(100) == 100.0
    assert LatencyHistogram().percentile(50) is None


def test_control_characters_from_callers_cannot_reach_the_terminal() -> None:
    assert clean("clerk\x1b[2J\nforged line") == "clerk\\x1b[2J\\nforged line"
    assert clean("《义务教育法》") == "《义务教育法》"
    assert clean(None) == "-"


def test_a_cancelled_verification_shows_as_cancelled_with_its_reads() -> None:
    application = verifier.parse_application(
        {
            "service_item": "school_place",
            "subjects": [{"role": "guardian", "id": resident_id("44030519850312201")}],
            "parameters": {"district": "440305"},
            **SCHOOL_PLACE_ACCESS,
        }
    )
    calls = [
        verifier.DepartmentCall(
            department="household",
            outcome=verifier.CallOutcome.CANCELLED,
            duration_ms=120.0,
            facts=("guardian_household",),
            attempts=1,
        )
    ]
    record = cancelled_record_for(
        "r-1",
        application,
        "2026.1",
        date(2026, 8, 31),
        verifier.CallerIdentity(system="service-hall"),
        calls,
        PSEUDONYMS,
        datetime(2026, 8, 31, 1, tzinfo=UTC),
        130.0,
    )
    assert record.decision is None
    assert record.facts == ()
    assert [(c.outcome, c.attempts) for c in record.department_calls] == [("CANCELLED", 1)]
    assert "CANCELLED" in query_cells(record)


def test_a_statement_with_the_wrong_key_names_both_keys_instead_of_finding_nothing(
    demo_city: DemoCityManifest,
    audited: AuditedCity,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = Pseudonymiser(bytes(32))
    config = tmp_path / "wrong-key.yaml"
    settings = {"data_dir": str(demo_city.data_dir), "audit": {"pseudonym_key": bytes(32).hex()}}
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    subject = audited.subject(demo_city, REPEATED, "buyer")
    where = ["--config", str(config), "--audit-dir", str(audited.directory)]
    for command in (["statement"], ["statement", "--json"], ["query"]):
        code, out, err = run(capsys, *command, "--subject", subject, *where)
        assert code == 2, (command, out, err)
        assert "wrong pseudonym key" in err
        assert PSEUDONYMS.fingerprint in err
        assert wrong.fingerprint in err
        assert "0 access" not in out
        assert subject not in out + err
    # The right key: no complaint, the accesses are there.
    code, out, err = run(capsys, "statement", "--subject", subject, "--config", str(audited.config))
    assert code == 0
    assert "pseudonym key" not in err
    assert "2 access(es) recorded" in out
