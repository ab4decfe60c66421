"""``verifier audit explain`` and ``verifier audit replay`` over a real log of the demo city's
planted samples: why a decision came out as it did, and which decisions a documented policy
change (the what-if planted in the demo city) would change — asking no department."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TEST_PSEUDONYM_KEY

import verifier
from adapters.demo_city import DemoCityManifest
from adapters.demo_city._what_if import RENTAL_6_MONTHS, what_if_file
from verifier.adapter import DepartmentAdapter
from verifier.audit import (
    AuditRecord,
    ChainedAuditLog,
    EncodedRecord,
    load_or_create_signing_key,
    read_audit_entries,
)
from verifier.audit._format import canonical_json
from verifier.cli import main
from verifier.cli._columns import width

DEPARTMENT_PACKAGES = ("civil_affairs", "household", "housing", "http", "market_regulation",
                       "social_insurance", "tax", "vehicle_registration")  # fmt: skip
PLANTED_WHAT_IF_CHANGES = 3
"""The planted school_place samples renting 6, 9 and 11 months: NOT_ELIGIBLE under the
12-month requirement, ELIGIBLE under 6 (the one renting 5 months stays NOT_ELIGIBLE)."""


class Audited:
    def __init__(self, root: Path, results: dict[str, verifier.VerificationResult]) -> None:
        self.config = root / "verifier.yaml"
        self.directory = root / "audit"
        self.results = results
        """Sample name → its verification's result."""


@pytest.fixture(scope="module")
def audited(demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory) -> Audited:
    root = tmp_path_factory.mktemp("explained")
    settings = {
        "data_dir": str(demo_city.data_dir),
        "audit": {"directory": str(root / "audit"), "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
    }
    (root / "verifier.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")

    async def verify_samples() -> dict[str, verifier.VerificationResult]:
        config = verifier.load_config(root / "verifier.yaml")
        async with verifier.build_verifier(config) as engine:
            return {
                sample.name: await engine.verify(verifier.parse_application(sample.application))
                for sample in demo_city.samples
            }

    return Audited(root, asyncio.run(verify_samples()))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_shows_the_clause_tree_thresholds_parameters_and_facts(
    audited: Audited, capsys: pytest.CaptureFixture[str]
) -> None:
    request = audited.results["school_place_rental_11_months"].request_id
    code, out, _ = run(capsys, "explain", request, "--config", str(audited.config))
    assert code == 0
    assert f"verification {request}" in out
    assert "决定 decision          NOT_ELIGIBLE" in out
    assert "规则版本 rule version  school_place@2026.1" in out
    assert "district  440307" in out
    assert "school_place.min_rental_months            12" in out
    lines = out.splitlines()
    rental = next(i for i, line in enumerate(lines) if "rental_months: " in line)
    # Nested three labelled clauses deep: eligible > hukou_or_rental > rental_and_insurance.
    assert lines[rental].startswith("        ✗ FALSE    rental_months: 监护人在本区租赁登记备案")
    assert lines[rental + 1].strip() == "threshold >= 12 (school_place.min_rental_months)"
    assert lines[rental + 2].strip() == "reads guardian_rental_months = 11"
    assert any(line.startswith("  ✓ TRUE     guardianship: ") for line in lines) is False
    assert any(line.startswith("    ✓ TRUE     guardianship: ") for line in lines)
    facts = lines[lines.index("事实 facts (status values, with provenance):") + 1 :]
    assert facts[0].split() == ["名称", "name", "部门", "department", "结果", "result", "来源",
                                "source", "次数", "attempts", "耗时", "latency", "替代材料",
                                "replaces"]  # fmt: skip
    assert any("guardian_rental_months" in f and "housing" in f and " 11 " in f for f in facts)


def test_explain_aligns_chinese_and_english_labels(
    audited: Audited, capsys: pytest.CaptureFixture[str]
) -> None:
    request = audited.results["first_home_spouse_owns_home"].request_id
    out = run(capsys, "explain", request, "--config", str(audited.config))[1]
    lines = out.splitlines()
    header = lines[2:8]  # decision … log entry: bilingual labels of different widths
    starts = {width(line[: line.index("  ", 2)].rstrip()) for line in header}
    assert len(starts) > 1  # the labels do differ in width…
    values = {_second_column(line) for line in header}
    assert len(values) == 1, header  # …and every value starts in the same terminal cell
    table = lines[lines.index("事实 facts (status values, with provenance):") + 1 :]
    assert len({_second_column(row) for row in table}) == 1, table


def _second_column(line: str) -> int:
    """The terminal cell the second column starts in: after the first run of two or more
    spaces past the indent (a label or fact name holds single spaces only)."""
    gap = re.compile(r" {2,}").search(line, 2)
    assert gap is not None, line
    return width(line[: gap.end()])


def test_explain_as_json_holds_the_trace_and_facts(
    audited: Audited, capsys: pytest.CaptureFixture[str]
) -> None:
    result = audited.results["school_place_pending_transfer"]
    out = run(capsys, "explain", result.request_id, "--json", "--config", str(audited.config))[1]
    document = json.loads(out)
    assert document["decision"] == "NEEDS_REVIEW"
    assert document["trace"]["rule_version"] == "school_place@2026.1"
    clauses = {c["clause"]: c["outcome"] for c in document["trace"]["clauses"]}
    assert clauses["child_hukou_in_district"] == "UNKNOWN"
    assert [c["clause"] for c in document["trace"]["clauses"]] == [
        line.clause for line in result.decision.explanation
    ]
    assert {f["name"] for f in document["facts"]} >= {"child_registered_in_district"}


def test_explain_an_unknown_request(audited: Audited, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "explain", "nope", "--config", str(audited.config))
    assert code == 1
    assert "no verification or refusal with request id 'nope'" in err


def test_explain_a_record_written_before_traces(
    audited: Audited, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = _records(audited.directory)[0]
    directory = tmp_path / "old"

    async def write() -> None:
        log = ChainedAuditLog(directory, load_or_create_signing_key(directory))
        body = canonical_json(record.model_dump(mode="json", exclude={"trace"}))
        await log.append_encoded(
            EncodedRecord(body, record.request_id, record.caller_system, (), record.time)
        )
        await log.aclose()

    asyncio.run(write())
    code, out, _ = run(capsys, "explain", record.request_id, "--audit-dir", str(directory))
    assert code == 0
    assert "written before decision traces were kept" in out
    assert "事实 facts" in out


def _records(directory: Path) -> list[AuditRecord]:
    return [
        AuditRecord.model_validate(entry.body)
        for entry in read_audit_entries(directory)
        if entry.type == "record" and entry.body["kind"] == "verification"
    ]


@pytest.fixture
def no_department(monkeypatch: pytest.MonkeyPatch) -> None:
    """A replay that built a verifier, or started or asked any department's adapter, fails.

    (Loading a configuration constructs each adapter to check its settings, without I/O,
    as every command does; nothing may start one or call it.)"""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a replay must not build a verifier or ask a department")

    monkeypatch.setattr(verifier, "build_verifier", refuse)
    monkeypatch.setattr("verifier.config.build_verifier", refuse)
    for package in DEPARTMENT_PACKAGES:  # every department's adapter class, to watch
        importlib.import_module(f"adapters.{package}")
    watched = _subclasses(DepartmentAdapter)
    assert {cls.__name__ for cls in watched} >= {"HouseholdAdapter", "TaxAdapter"}
    for adapter in watched:
        for method in ("fetch", "fetch_many", "start"):
            if method in vars(adapter):
                monkeypatch.setattr(adapter, method, refuse)


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for subclass in list(found):
        found |= _subclasses(subclass)
    return found


def replay_json(capsys: pytest.CaptureFixture[str], audited: Audited, *args: str) -> Any:
    code, out, err = run(capsys, "replay", "--config", str(audited.config), "--json", *args)
    assert code == 0, err
    return json.loads(out)


def test_replay_under_the_rules_in_force_changes_nothing(
    audited: Audited, capsys: pytest.CaptureFixture[str], no_department: None
) -> None:
    report = replay_json(capsys, audited)
    assert report["replayed"] == len(audited.results)
    assert report["changed"] == 0
    assert report["not_recorded"] == {}


def test_replay_the_planted_what_if_finds_exactly_the_planted_changes(
    demo_city: DemoCityManifest,
    audited: Audited,
    capsys: pytest.CaptureFixture[str],
    no_department: None,
) -> None:
    assert demo_city.data_dir is not None
    planted = [
        sample.name
        for sample in demo_city.samples
        if sample.what_if.get(RENTAL_6_MONTHS, sample.expected) != sample.expected
    ]
    assert len(planted) == PLANTED_WHAT_IF_CHANGES
    parameters = demo_city.data_dir / what_if_file(RENTAL_6_MONTHS)
    report = replay_json(capsys, audited, "--parameters", str(parameters))
    assert report["replayed"] == len(audited.results)
    assert report["changed"] == PLANTED_WHAT_IF_CHANGES
    assert report["changes"] == [
        {"recorded": "NOT_ELIGIBLE", "replayed": "ELIGIBLE", "decisions": PLANTED_WHAT_IF_CHANGES}
    ]
    changed = {d["request_id"]: d for d in report["changed_decisions"]}
    assert set(changed) == {audited.results[name].request_id for name in planted}
    for decision in changed.values():
        assert decision["threshold_changes"] == {
            "school_place.min_rental_months": {"recorded": 12, "replayed": 6}
        }
    # The same in text, for an auditor's terminal.
    out = run(capsys, "replay", "--config", str(audited.config), "--parameters", str(parameters))[1]
    assert f"changed       {PLANTED_WHAT_IF_CHANGES}" in out
    assert "school_place.min_rental_months 12 → 6" in out


def test_replay_a_new_rule_version_reports_facts_the_records_do_not_hold(
    audited: Audited, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_department: None
) -> None:
    """A new clause reads a fact no record holds: UNKNOWN in the replay, and said so. The
    ELIGIBLE school places become NEEDS_REVIEW; a NOT_ELIGIBLE one stays (false AND
    unknown is false)."""
    item = yaml.safe_load(
        (Path(verifier.__file__).parent / "rules/data/items/school_place.yaml").read_text(
            encoding="utf-8"
        )
    )
    item["version"] = "2027.1"
    item["facts"]["guardian_insured_now"] = {
        "fact": "social_insurance_enrolled",
        "subjects": {"subject": "guardian"},
    }
    item["rule"]["all"].append(
        {"id": "insured_now", "label": "监护人现正参保 (the guardian is insured now)",
         "fact": "guardian_insured_now"}
    )  # fmt: skip
    item_file = tmp_path / "school_place_2027.yaml"
    item_file.write_text(yaml.safe_dump(item, allow_unicode=True), encoding="utf-8")
    report = replay_json(capsys, audited, "--item-file", str(item_file), "--item", "school_place")
    school = {n: r for n, r in audited.results.items() if r.service_item == "school_place"}
    eligible = [r for r in school.values() if r.decision.outcome == "ELIGIBLE"]
    assert report["replayed"] == len(school)
    assert report["not_recorded"] == {"guardian_insured_now": len(school)}
    assert report["changes"] == [
        {"recorded": "ELIGIBLE", "replayed": "NEEDS_REVIEW", "decisions": len(eligible)}
    ]
    for decision in report["changed_decisions"]:
        assert decision["recorded_rule"] == "school_place@2026.1"
        assert decision["replayed_rule"] == "school_place@2027.1"
        assert decision["not_recorded"] == ["guardian_insured_now"]


def test_replay_refuses_a_broken_what_if_file_naming_it(
    audited: Audited, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("school_place.min_rental_months: {values: {}}\n", encoding="utf-8")
    code, _, err = run(capsys, "replay", "--config", str(audited.config), "--parameters",
                       str(broken))  # fmt: skip
    assert code != 0
    assert str(broken) in err
