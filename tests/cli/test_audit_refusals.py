"""``verifier audit …`` over a log that holds refusals, alerts and verifications.

Verifications are made by the engine over the demo city; refusal records are written into
the same log (with the public ``refusal_record_for``) before and after them, as the engine
writes them when access control refuses a request, together with two high-risk alerts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TEST_PSEUDONYM_KEY

import verifier
from adapters.demo_city import DemoCityManifest
from verifier._errors import Refusal
from verifier.audit import (
    AlertRecord,
    ChainedAuditLog,
    Pseudonymiser,
    RefusalRecord,
    load_or_create_signing_key,
    refusal_record_for,
)
from verifier.catalogue import SharingClass
from verifier.cli import main
from verifier.model import CallerIdentity

PSEUDONYMS = Pseudonymiser(TEST_PSEUDONYM_KEY)
VERIFIED = ("school_place_local_registration", "first_home_local_buyer", "first_home_twin_x_check")
"""Samples verified by the engine: one record each."""
SCHOOL = "school_place_local_registration"
HOUSE = "first_home_local_buyer"
SINGLE = "first_home_migrant_tax_24"
"""Never verified: its buyer appears only in refusals."""
BEFORE = datetime.now(UTC) - timedelta(hours=3)
"""When the earliest refusal was made (every other record is later than an hour ago)."""


@dataclass(frozen=True)
class RefusalLog:
    config: Path
    directory: Path
    verified: dict[str, str]
    """Sample name → request id of its verification."""
    refused: dict[str, RefusalRecord]
    """Short name → the refusal record written."""
    ids: dict[tuple[str, str], str]
    """(sample, role) → the subject's full ID, for the samples in the log."""


def _application(city: DemoCityManifest, sample: str, **changes: Any) -> verifier.Application:
    return verifier.parse_application({**city.sample(sample).application, **changes})


def _refusals(
    *refusals: tuple[str, str | None, str | None, str | None, str | None],
) -> list[Refusal]:
    return [
        Refusal(rule, f"refused by {rule}", fact, catalogue_fact, department, sharing)
        for rule, fact, catalogue_fact, department, sharing in refusals
    ]


def _refusal_records(city: DemoCityManifest, *names: str) -> dict[str, RefusalRecord]:
    now = datetime.now(UTC)
    portal = CallerIdentity(system="district-portal", department="education-bureau")
    agency = CallerIdentity(system="estate-agency-gateway")
    stranger = CallerIdentity(system="unregistered-system")
    conditional = SharingClass.CONDITIONAL.value
    cases: dict[str, tuple[verifier.Application, CallerIdentity, list[Refusal], datetime]] = {
        # Before any verification: a caller with no rights at all (the whole request).
        "stranger": (
            _application(city, SINGLE),
            stranger,
            _refusals(("caller_not_registered", None, None, None, None)),
            BEFORE,
        ),
        # A school-place request without a legal basis: three conditional facts refused.
        "school": (
            _application(city, SCHOOL, legal_basis=None),
            portal,
            _refusals(
                ("no_legal_basis", "guardian_is_parent", "guardian_of", "household", conditional),
                (
                    "no_legal_basis",
                    "guardian_rental_months",
                    "registered_rental_months_in_district",
                    "housing",
                    conditional,
                ),
                (
                    "no_legal_basis",
                    "guardian_social_insurance_months",
                    "social_insurance_continuous_months",
                    "social_insurance",
                    conditional,
                ),
            ),
            now,
        ),
        # A marketing purpose: the spouse's home ownership is outside its allowed use; and a
        # negative-list fact the item definition does not name (so not attributable).
        "agency": (
            _application(city, HOUSE, purpose="mortgage_marketing"),
            agency,
            _refusals(
                (
                    "outside_allowed_use",
                    "spouse_owns_no_home",
                    "owns_no_home_in_city",
                    "housing",
                    conditional,
                ),
                (
                    "not_shared",
                    "household_members",
                    "household_member_details",
                    "household",
                    SharingClass.NOT_SHARED.value,
                ),
            ),
            now,
        ),
        # One subject, a negative-list fact: about that subject whatever the item says.
        "not_shared": (
            _application(city, SINGLE),
            portal,
            _refusals(
                (
                    "not_shared",
                    "buyer_property_details",
                    "property_details",
                    "housing",
                    SharingClass.NOT_SHARED.value,
                ),
                ("not_in_catalogue", "buyer_marital_status", "marital_status", None, None),
            ),
            now,
        ),
    }
    return {
        name: refusal_record_for(
            f"refused-{name}", application, "2026.1", caller, refusals, PSEUDONYMS, time
        )
        for name, (application, caller, refusals, time) in cases.items()
        if name in names
    }


def _alert(number: int) -> AlertRecord:
    return AlertRecord(
        time=datetime.now(UTC),
        caller_system="estate-agency-gateway",
        rule="distinct_subjects_per_hour",
        description="one caller asked about more distinct subjects than allowed in an hour",
        observed=201 + number,
        threshold=200,
        window_seconds=3600,
    )


async def _append(directory: Path, records: Sequence[RefusalRecord | AlertRecord]) -> None:
    log = ChainedAuditLog(directory, load_or_create_signing_key(directory), fsync=False)
    try:
        for record in records:
            await log.append(record)
    finally:
        await log.aclose()


async def _verify(config: verifier.VerifierConfig, city: DemoCityManifest) -> dict[str, str]:
    verified = {}
    async with verifier.build_verifier(config) as engine:
        for name in VERIFIED:
            application = verifier.parse_application(city.sample(name).application)
            verified[name] = (await engine.verify(application)).request_id
    return verified


@pytest.fixture(scope="module")
def refusal_log(
    demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory
) -> RefusalLog:
    root = tmp_path_factory.mktemp("refusals")
    directory = root / "audit"
    directory.mkdir()
    settings = {
        "data_dir": str(demo_city.data_dir),
        "audit": {"directory": str(directory), "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
    }
    config_file = root / "verifier.yaml"
    config_file.write_text(yaml.safe_dump(settings), encoding="utf-8")
    refused = _refusal_records(demo_city, "stranger")
    asyncio.run(_append(directory, [refused["stranger"], _alert(0)]))
    verified = asyncio.run(_verify(verifier.load_config(config_file), demo_city))
    refused |= _refusal_records(demo_city, "school", "agency", "not_shared")
    asyncio.run(_append(directory, [refused["school"], _alert(1), refused["agency"],
                                    refused["not_shared"]]))  # fmt: skip
    ids = {
        (sample, subject["role"]): subject["id"]
        for sample in {*VERIFIED, SINGLE}
        for subject in demo_city.sample(sample).application["subjects"]
    }
    return RefusalLog(config_file, directory, verified, refused, ids)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_verify_passes_on_a_log_with_refusals(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "verify", "--config", str(refusal_log.config))
    assert code == 0, out
    assert "INTACT" in out
    records = len(refusal_log.verified) + len(refusal_log.refused) + 2  # and the alerts
    assert f"({records} records, " in out


def test_query_lists_refusals_with_their_rules(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "query", "--config", str(refusal_log.config))
    assert code == 0
    assert "7 request(s) matched: 3 verification(s), 4 refused" in out
    school = next(line for line in out.splitlines() if "refused-school" in line)
    assert "district-portal/education-bureau" in school
    assert "school_place v2026.1" in school
    assert "REFUSED (no_legal_basis)" in school
    agency = next(line for line in out.splitlines() if "refused-agency" in line)
    assert "REFUSED (outside_allowed_use, not_shared)" in agency
    assert "alert" not in out.lower()  # alerts are not requests


def test_query_json_carries_the_refusal_record_and_its_place(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "query", "--config", str(refusal_log.config), "--kind", "refusal",
                       "--json")  # fmt: skip
    assert code == 0
    rows = json_lines(out)
    assert [row["request_id"] for row in rows] == [
        "refused-stranger", "refused-school", "refused-agency", "refused-not_shared",
    ]  # fmt: skip
    assert all(row["kind"] == "refusal" and row["seq"] >= 1 and row["line"] >= 1 for row in rows)
    agency = rows[2]
    assert agency["refusals"][0] == {
        "rule": "outside_allowed_use",
        "fact": "spouse_owns_no_home",
        "catalogue_fact": "owns_no_home_in_city",
        "department": "housing",
        "sharing": "conditional",
    }
    assert agency["purpose"] == "mortgage_marketing"
    assert [s["role"] for s in agency["subjects"]] == ["buyer", "spouse"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["--kind", "verification"], {"school_place_local_registration", "first_home_local_buyer",
                                      "first_home_twin_x_check"}),
        (["--decision", "ELIGIBLE", "--kind", "refusal"], set()),
        (["--rule", "not_shared"], {"refused-agency", "refused-not_shared"}),
        (["--rule", "caller_not_registered"], {"refused-stranger"}),
        (["--caller", "district-portal"], {"refused-school", "refused-not_shared"}),
        (["--caller", "education-bureau", "--item", "school_place"], {"refused-school"}),
        (["--item", "first_home_purchase", "--kind", "refusal"],
         {"refused-stranger", "refused-agency", "refused-not_shared"}),
    ],
)  # fmt: skip
def test_query_filters_apply_to_refusals(
    refusal_log: RefusalLog,
    capsys: pytest.CaptureFixture[str],
    filters: list[str],
    expected: set[str],
) -> None:
    names = {request_id: name for name, request_id in refusal_log.verified.items()}
    code, out, _ = run(capsys, "query", "--config", str(refusal_log.config), "--json", *filters)
    assert code == 0
    assert {names.get(row["request_id"], row["request_id"]) for row in json_lines(out)} == expected


def test_a_decision_filter_keeps_no_refusal(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    for decision in ("ELIGIBLE", "NOT_ELIGIBLE", "NEEDS_REVIEW"):
        _, out, _ = run(capsys, "query", "--config", str(refusal_log.config), "--json",
                        "--decision", decision)  # fmt: skip
        assert all(row["kind"] == "verification" for row in json_lines(out))


def test_query_by_subject_and_period_finds_their_refusals(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    spouse = refusal_log.ids[HOUSE, "spouse"]
    base = ["query", "--config", str(refusal_log.config)]
    code, out, _ = run(capsys, *base, "--subject", spouse, "--json")
    assert code == 0
    found = [row["request_id"] for row in json_lines(out)]
    assert found == [refusal_log.verified[HOUSE], "refused-agency"]
    _, out, _ = run(capsys, *base, "--subject", spouse, "--kind", "refusal")
    assert "1 refused request(s) matched" in out
    assert "spouse 4414**********9007" in out
    single = refusal_log.ids[SINGLE, "buyer"]
    _, out, _ = run(capsys, *base, "--subject", single, "--json")
    assert [row["request_id"] for row in json_lines(out)] == [
        "refused-stranger",
        "refused-not_shared",
    ]
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    _, out, _ = run(capsys, *base, "--subject", single, "--until", hour_ago, "--json")
    assert [row["request_id"] for row in json_lines(out)] == ["refused-stranger"]
    _, out, _ = run(capsys, *base, "--subject", single, "--since", hour_ago, "--json")
    assert [row["request_id"] for row in json_lines(out)] == ["refused-not_shared"]
    _, out, _ = run(capsys, *base, "--subject", refusal_log.ids[VERIFIED[2], "buyer"],
                    "--kind", "refusal")  # fmt: skip
    assert "no verification or refused request matched" in out


def test_show_a_refusal_in_full(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", "refused-school", "--config", str(refusal_log.config))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "refusal refused-school"
    assert "  caller           district-portal/education-bureau" in lines
    assert "  service item     school_place v2026.1" in lines
    assert "  purpose          compulsory_education_admission" in lines
    assert "  legal basis      -" in lines
    assert "no department was called, no data read" in out
    assert any(line.split()[:2] == ["guardian", "4403**********9015"] for line in lines)
    rows = [line.split() for line in lines[lines.index("refused:") + 2 :]]
    assert rows == [
        ["no_legal_basis", "guardian_is_parent", "guardian_of", "household", "conditional"],
        ["no_legal_basis", "guardian_rental_months", "registered_rental_months_in_district",
         "housing", "conditional"],
        ["no_legal_basis", "guardian_social_insurance_months",
         "social_insurance_continuous_months", "social_insurance", "conditional"],
    ]  # fmt: skip
    _, out, _ = run(capsys, "show", "refused-stranger", "--config", str(refusal_log.config))
    assert "caller_not_registered  (the whole request)" in out
    code, out, _ = run(capsys, "show", "refused-agency", "--json",
                       "--config", str(refusal_log.config))  # fmt: skip
    assert code == 0
    shown = json.loads(out)
    assert shown["kind"] == "refusal"
    assert shown == {**shown, **refusal_log.refused["agency"].model_dump(mode="json")}
    code, out, _ = run(capsys, "show", refusal_log.verified[SCHOOL],
                       "--config", str(refusal_log.config))  # fmt: skip
    assert out.startswith("verification ")


def test_report_counts_refusals_alongside_verifications_and_alerts(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "--config", str(refusal_log.config), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["verifications"] == 3
    assert sum(row["total"] for row in report["by_item"].values()) == 3  # refusals not in it
    assert report["refusals"] == 4
    assert report["refusals_by_rule"] == {
        "caller_not_registered": {"requests": 1, "facts": 0},
        "no_legal_basis": {"requests": 1, "facts": 3},
        "not_in_catalogue": {"requests": 1, "facts": 1},
        "not_shared": {"requests": 2, "facts": 2},
        "outside_allowed_use": {"requests": 1, "facts": 1},
    }
    assert report["refusals_by_caller"] == {
        "district-portal": 2, "estate-agency-gateway": 1, "unregistered-system": 1,
    }  # fmt: skip
    assert report["refusals_by_item"] == {"first_home_purchase": 3, "school_place": 1}
    assert report["alerts"] == 2
    assert report["alerts_by_rule"]["distinct_subjects_per_hour"]["alerts"] == 2
    code, out, _ = run(capsys, "report", "--config", str(refusal_log.config))
    assert code == 0
    summary = "4 request(s) refused by access control (no department called); 2 high-risk alerts"
    assert summary in out
    section = out.split("refused requests per access rule")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in section[2:]] == [
        ["caller_not_registered", "1", "0"],
        ["no_legal_basis", "1", "3"],
        ["not_in_catalogue", "1", "1"],
        ["not_shared", "2", "2"],
        ["outside_allowed_use", "1", "1"],
    ]
    section = out.split("refused requests per caller system:")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in section[2:]] == [
        ["district-portal", "2"], ["estate-agency-gateway", "1"], ["unregistered-system", "1"],
    ]  # fmt: skip
    section = out.split("refused requests per item:")[1].split("\n\n")[0].splitlines()
    assert [line.split() for line in section[2:]] == [["first_home_purchase", "3"],
                                                      ["school_place", "1"]]  # fmt: skip
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    _, out, _ = run(capsys, "report", "--config", str(refusal_log.config), "--json",
                    "--until", hour_ago)  # fmt: skip
    early = json.loads(out)
    assert (early["verifications"], early["refusals"], early["alerts"]) == (0, 1, 0)


def _statement(
    log: RefusalLog, capsys: pytest.CaptureFixture[str], subject: str, *extra: str
) -> tuple[str, list[dict[str, Any]]]:
    code, text, _ = run(capsys, "statement", "--subject", subject, "--config", str(log.config))
    assert code == 0
    code, out, _ = run(capsys, "statement", "--subject", subject, "--config", str(log.config),
                       "--json", *extra)  # fmt: skip
    assert code == 0
    return text, json_lines(out)


def test_statement_lists_a_refused_request_about_the_citizen(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    spouse = refusal_log.ids[HOUSE, "spouse"]
    text, entries = _statement(refusal_log, capsys, spouse)
    assert [(e["kind"], e["request_id"]) for e in entries] == [
        ("verification", refusal_log.verified[HOUSE]),
        ("refusal", "refused-agency"),
    ]
    refused = entries[1]
    assert refused["roles"] == ["spouse"]
    assert refused["caller_system"] == "estate-agency-gateway"
    assert refused["purpose"] == "mortgage_marketing"
    assert refused["refusals"] == [{"rule": "outside_allowed_use", "fact": "spouse_owns_no_home",
                                    "department": "housing", "sharing": "conditional"}]  # fmt: skip
    assert refused["unattributed_refusals"] == ["not_shared"]
    assert (refused["facts"], refused["department_data_read"]) == ([], False)
    block = text.split("REFUSED  (request refused-agency)")[1].split("\n\n")[0]
    assert "by               estate-agency-gateway, operator clerk-0107" in block
    assert (
        "refused          outside_allowed_use: spouse_owns_no_home (housing, conditional)" in block
    )
    assert "not_shared: a fact that could not be attributed" in block
    assert (
        "facts read       none: refused by access control before any department was asked" in block
    )
    assert "1 access(es) recorded" in text
    assert "1 request(s) refused by access control: no department data was read" in text


def test_a_refused_fact_about_another_person_is_not_named(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    buyer = refusal_log.ids[HOUSE, "buyer"]
    text, entries = _statement(refusal_log, capsys, buyer)
    refused = next(e for e in entries if e["kind"] == "refusal")
    assert refused["roles"] == ["buyer"]
    assert refused["refusals"] == []
    assert refused["refusals_about_others"] == ["outside_allowed_use"]
    assert "spouse_owns_no_home" not in text
    assert "outside_allowed_use: a fact about another person named in the request" in text
    child = refusal_log.ids[SCHOOL, "child"]
    text, entries = _statement(refusal_log, capsys, child)
    refused = next(e for e in entries if e["kind"] == "refusal")
    assert [r["fact"] for r in refused["refusals"]] == ["guardian_is_parent"]
    assert refused["refusals_about_others"] == ["no_legal_basis", "no_legal_basis"]
    assert "no_legal_basis: 2 facts about others named in the request" in text
    guardian = refusal_log.ids[SCHOOL, "guardian"]
    _, entries = _statement(refusal_log, capsys, guardian)
    refused = next(e for e in entries if e["kind"] == "refusal")
    assert [r["fact"] for r in refused["refusals"]] == [
        "guardian_is_parent", "guardian_rental_months", "guardian_social_insurance_months",
    ]  # fmt: skip


def test_statement_of_a_citizen_only_refused(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    single = refusal_log.ids[SINGLE, "buyer"]
    text, entries = _statement(refusal_log, capsys, single)
    assert [(e["request_id"], [r["rule"] for r in e["refusals"]]) for e in entries] == [
        ("refused-stranger", ["caller_not_registered"]),
        ("refused-not_shared", ["not_shared", "not_in_catalogue"]),
    ]
    assert "caller_not_registered: the whole request" in text
    assert "refused          not_shared: buyer_property_details (housing, not_shared)" in text
    assert "                 not_in_catalogue: buyer_marital_status\n" in text
    assert "0 access(es) recorded" in text
    assert "2 request(s) refused by access control" in text
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
    _, entries = _statement(refusal_log, capsys, single, "--since", hour_ago)
    assert [e["request_id"] for e in entries] == ["refused-not_shared"]


def test_statement_of_another_citizen_lists_no_refusal(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    other = refusal_log.ids[VERIFIED[2], "buyer"]  # verified, never refused
    text, entries = _statement(refusal_log, capsys, other)
    assert [e["kind"] for e in entries] == ["verification"]
    assert "REFUSED" not in text
    assert "refused by access control" not in text
    assert "1 access(es) recorded" in text


def test_full_resident_ids_never_appear_in_any_output(
    refusal_log: RefusalLog, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(refusal_log.config)]
    outputs = []
    for json_flag in ([], ["--json"]):
        outputs.append(run(capsys, "query", *config, *json_flag))
        outputs.append(run(capsys, "report", *config, *json_flag))
        for request_id in [*refusal_log.refused, *refusal_log.verified.values()]:
            shown = f"refused-{request_id}" if request_id in refusal_log.refused else request_id
            outputs.append(run(capsys, "show", shown, *config, *json_flag))
        for subject in refusal_log.ids.values():
            outputs.append(run(capsys, "query", "--subject", subject, *config, *json_flag))
            outputs.append(run(capsys, "statement", "--subject", subject, *config, *json_flag))
    outputs.append(run(capsys, "verify", *config))
    assert all(code == 0 for code, _, _ in outputs)
    everything = "\n".join(out + err for _, out, err in outputs).upper()
    assert "REFUSED-SCHOOL" in everything  # the outputs are there
    for (sample, role), subject in refusal_log.ids.items():
        assert subject.upper() not in everything, (sample, role)
        masked = f"{subject[:4]}**********{subject[-4:]}".upper()
        assert masked in everything
