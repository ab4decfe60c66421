"""Every answered verification's audit record carries its decision trace: the clauses with
their outcomes, the thresholds in force, the parameters used and the rule version — the
explanation the caller got, kept; bounded in size by the item; and old records without one
still read and verify."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from support import TEST_PSEUDONYM_KEY

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import CatalogueError
from verifier.audit import (
    AuditRecord,
    ChainedAuditLog,
    EncodedRecord,
    load_or_create_signing_key,
    read_audit_entries,
    verify_audit_log,
)
from verifier.audit._format import canonical_json
from verifier.catalogue import load_catalogue
from verifier.cli import main
from verifier.rules import (
    load_parameters,
    load_service_items,
    service_item_from_yaml,
    trace_size_bound,
)
from verifier.rules._trace_bound import MAX_TRACE_BYTES

ITEMS = load_service_items(load_catalogue())


async def _verify_samples(
    city: DemoCityManifest, audit_dir: Path
) -> list[verifier.VerificationResult]:
    config = verifier.load_config(
        data_dir=city.data_dir,
        audit={"directory": audit_dir, "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
    )
    async with verifier.build_verifier(config) as engine:
        return [
            await engine.verify(verifier.parse_application(sample.application))
            for sample in city.samples
        ]


@pytest.fixture(scope="module")
def traced(
    demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[verifier.VerificationResult]]:
    audit_dir = tmp_path_factory.mktemp("traced") / "audit"
    return audit_dir, asyncio.run(_verify_samples(demo_city, audit_dir))


def _records(directory: Path) -> list[AuditRecord]:
    return [
        AuditRecord.model_validate(entry.body)
        for entry in read_audit_entries(directory)
        if entry.type == "record" and entry.body["kind"] == "verification"
    ]


def test_the_record_keeps_the_explanation_the_caller_got(
    traced: tuple[Path, list[verifier.VerificationResult]],
) -> None:
    directory, results = traced
    records = _records(directory)
    assert [r.request_id for r in records] == [r.request_id for r in results]
    for record, result in zip(records, results, strict=True):
        trace = record.trace
        assert trace is not None
        item = ITEMS.get(result.service_item)
        assert trace.rule_version == item.rule_version
        assert trace.clauses == result.decision.explanation
        assert trace.score_components == result.decision.score_components
        assert trace.thresholds == dict(item.rule_at(result.reference_date).thresholds)


def test_a_school_place_trace_names_the_thresholds_and_the_district(
    demo_city: DemoCityManifest, traced: tuple[Path, list[verifier.VerificationResult]]
) -> None:
    sample = demo_city.sample("school_place_rental_11_months")
    record = next(
        r for r in _records(traced[0]) if r.case_number == sample.application["case_number"]
    )
    assert record.trace is not None
    assert record.trace.parameters == {"district": sample.application["parameters"]["district"]}
    assert record.trace.thresholds == {
        "school_place.min_rental_months": 12,
        "school_place.min_social_insurance_months": 12,
    }
    outcomes = {clause.clause: clause.outcome for clause in record.trace.clauses}
    assert outcomes["rental_months"] == verifier.Truth.FALSE
    assert outcomes["social_insurance_months"] == verifier.Truth.TRUE
    assert outcomes["eligible"] == verifier.Truth.FALSE
    rental = next(c for c in record.trace.clauses if c.clause == "rental_months")
    assert rental.threshold == ">= 12 (school_place.min_rental_months)"
    assert rental.facts == ("guardian_rental_months",)


def test_every_trace_stays_within_its_items_bound(
    traced: tuple[Path, list[verifier.VerificationResult]],
) -> None:
    for record in _records(traced[0]):
        assert record.trace is not None
        written = len(canonical_json(record.trace.model_dump(mode="json")).encode())
        bound = trace_size_bound(ITEMS.get(record.service_item))
        assert written <= bound <= MAX_TRACE_BYTES


def test_every_shipped_item_is_within_the_trace_bound() -> None:
    for item in ITEMS:
        assert 0 < trace_size_bound(item) <= MAX_TRACE_BYTES, item.id


def test_an_item_whose_trace_could_be_too_large_is_refused_at_load() -> None:
    school = (Path(verifier.__file__).parent / "rules/data/items/school_place.yaml").read_text(
        encoding="utf-8"
    )
    long_label = "很长的条款说明" * 400  # 2,800 characters, escaped six bytes each: > 16 KiB
    text = school.replace(
        "label: 申请人是适龄儿童的父母或法定监护人 (the applicant is the child's parent or "
        "legal guardian)",
        f"label: {long_label}",
    )
    assert text != school
    with pytest.raises(CatalogueError, match=r"decision trace could take .* more than 16,384"):
        service_item_from_yaml(text, load_catalogue(), load_parameters())


def test_a_log_of_records_written_before_traces_still_verifies_and_reads(
    traced: tuple[Path, list[verifier.VerificationResult]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Old records hold no ``trace`` key at all: the chain covers their bytes as written,
    and the readers take them (trace None), so an old log verifies and shows as before."""
    records = _records(traced[0])[:3]
    directory = tmp_path / "old"
    key = load_or_create_signing_key(directory)

    async def write() -> None:
        log = ChainedAuditLog(directory, key)
        for record in records:
            body = canonical_json(record.model_dump(mode="json", exclude={"trace"}))
            assert '"trace":' not in body
            await log.append_encoded(
                EncodedRecord(body, record.request_id, record.caller_system, (), record.time)
            )
        await log.aclose()

    asyncio.run(write())
    assert verify_audit_log(directory, key.public_key()).ok
    read = _records(directory)
    assert [r.trace for r in read] == [None] * 3
    assert read == [r.model_copy(update={"trace": None}) for r in records]
    assert main(["audit", "verify", "--audit-dir", str(directory)]) == 0
    assert main(["audit", "show", records[0].request_id, "--audit-dir", str(directory)]) == 0
    shown = capsys.readouterr().out
    assert f"verification {records[0].request_id}" in shown


def test_a_cancelled_verification_has_no_trace() -> None:
    from verifier.audit import Pseudonymiser, cancelled_record_for
    from verifier.model import Application, ApplicationSubject, CallerIdentity

    record = cancelled_record_for(
        "r",
        Application(
            service_item="school_place",
            subjects=(ApplicationSubject(role="child", id="44030520150101201X"),),
        ),
        "2026.1",
        date(2026, 8, 31),
        CallerIdentity(system="hall"),
        (),
        Pseudonymiser(TEST_PSEUDONYM_KEY),
        datetime(2026, 8, 31, tzinfo=UTC),
        1.0,
    )
    assert record.trace is None
    assert json.loads(canonical_json(record.model_dump(mode="json")))["trace"] is None
