"""``verifier.audit.replay``: recorded decisions re-evaluated from recorded facts only.

Held against an oracle written out here (the school-place rule by hand), not against the
engine's own evaluator: a replay under the rules in force changes nothing, and under the
what-if (6 months of rental instead of 12) exactly the decisions of guardians renting 6 to
11 months, insured long enough, whose child is not registered in the district, change."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import TEST_PSEUDONYM_KEY

import verifier
from adapters.demo_city import DemoCityManifest
from adapters.demo_city._what_if import RENTAL_6_MONTHS, what_if_file
from verifier import DecisionOutcome, UnknownServiceItem
from verifier.audit import (
    AuditRecord,
    SkipReason,
    read_audit_entries,
    replay,
    replay_decision,
)
from verifier.catalogue import load_catalogue
from verifier.rules import load_service_items, load_what_if_items

CATALOGUE = load_catalogue()
IN_FORCE = load_service_items(CATALOGUE)


@pytest.fixture(scope="module")
def records(
    demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory
) -> list[AuditRecord]:
    directory = tmp_path_factory.mktemp("replayed") / "audit"
    config = verifier.load_config(
        data_dir=demo_city.data_dir,
        audit={"directory": directory, "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
    )

    async def verify() -> None:
        async with verifier.build_verifier(config) as engine:
            for sample in demo_city.samples:
                await engine.verify(verifier.parse_application(sample.application))

    asyncio.run(verify())
    return [
        AuditRecord.model_validate(entry.body)
        for entry in read_audit_entries(directory)
        if entry.type == "record" and entry.body["kind"] == "verification"
    ]


@pytest.fixture(scope="module")
def what_if(demo_city: DemoCityManifest) -> verifier.rules.ItemRegistry:
    assert demo_city.data_dir is not None
    return load_what_if_items(
        CATALOGUE, parameter_files=[demo_city.data_dir / what_if_file(RENTAL_6_MONTHS)]
    )


def test_under_the_rules_in_force_nothing_changes(records: list[AuditRecord]) -> None:
    report = replay(records, IN_FORCE)
    assert report.replayed == len(records)
    assert report.changed_count == 0
    assert report.unchanged == len(records)
    assert not report.not_recorded
    assert not report.skipped


def school_record(records: list[AuditRecord], rental: int | None, insurance: int | None,
                  in_district: bool | None) -> AuditRecord:  # fmt: skip
    """A recorded school_place decision with these fact values, decided by hand."""
    template = next(r for r in records if r.service_item == "school_place")
    values = {
        "guardian_is_parent": True,
        "child_registered_in_district": in_district,
        "guardian_rental_months": rental,
        "guardian_social_insurance_months": insurance,
    }
    facts = tuple(
        fact.model_copy(
            update={
                "value": values[fact.name],
                "status": "KNOWN" if values[fact.name] is not None else "UNKNOWN",
            }
        )
        if fact.name in values
        else fact
        for fact in template.facts
    )
    return template.model_copy(
        update={"facts": facts, "decision": school_decision(rental, insurance, in_district, 12)}
    )


def school_decision(
    rental: int | None, insurance: int | None, in_district: bool | None, required: int
) -> DecisionOutcome:
    """The school_place rule by hand, in three-valued logic (insurance needs 12 months)."""

    def at_least(value: int | None, threshold: int) -> bool | None:
        return None if value is None else value >= threshold

    rent, insured = at_least(rental, required), at_least(insurance, 12)
    both = False if False in (rent, insured) else None if None in (rent, insured) else True
    either = True if True in (in_district, both) else None if None in (in_district, both) else False
    return {True: DecisionOutcome.ELIGIBLE, False: DecisionOutcome.NOT_ELIGIBLE}.get(
        either, DecisionOutcome.NEEDS_REVIEW
    )


months = st.none() | st.integers(0, 40)


@given(rental=months, insurance=months, in_district=st.none() | st.booleans())
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_what_if_changes_exactly_the_decisions_the_oracle_says(
    records: list[AuditRecord],
    what_if: verifier.rules.ItemRegistry,
    rental: int | None,
    insurance: int | None,
    in_district: bool | None,
) -> None:
    record = school_record(records, rental, insurance, in_district)
    assert replay_decision(record, IN_FORCE).replayed is record.decision
    replayed = replay_decision(record, what_if)
    assert replayed.replayed is school_decision(rental, insurance, in_district, 6)
    assert replayed.changed is (replayed.replayed is not record.decision)
    assert replayed.threshold_changes == {"school_place.min_rental_months": (12, 6)}
    assert replayed.not_recorded == ()


def test_counts_are_exact_and_ids_kept_per_change(
    records: list[AuditRecord], what_if: verifier.rules.ItemRegistry
) -> None:
    batch = [school_record(records, rental, 40, False) for rental in range(0, 14)]
    report = replay(batch, what_if)
    # 6 … 11 months: NOT_ELIGIBLE under 12, ELIGIBLE under 6.
    assert report.changes == {(DecisionOutcome.NOT_ELIGIBLE, DecisionOutcome.ELIGIBLE): 6}
    assert report.unchanged == 8
    assert [d.recorded for d in report.changed] == [DecisionOutcome.NOT_ELIGIBLE] * 6


def test_what_cannot_be_replayed_is_counted(records: list[AuditRecord], tmp_path: Path) -> None:
    first_home = next(r for r in records if r.service_item == "first_home_purchase")
    cancelled = first_home.model_copy(update={"decision": None, "facts": (), "trace": None})
    early = first_home.model_copy(update={"reference_date": date(2000, 1, 1)})
    report = replay([cancelled, early, first_home], IN_FORCE)
    assert report.skipped == {SkipReason.CANCELLED: 1, SkipReason.BEFORE_THRESHOLDS: 1}
    assert report.replayed == 1
    only_school = verifier.rules.ItemRegistry([IN_FORCE.get("school_place")])
    assert replay([first_home], only_school).skipped == {SkipReason.UNKNOWN_ITEM: 1}
    with pytest.raises(UnknownServiceItem):
        replay_decision(first_home, only_school)
    with pytest.raises(ValueError, match="cancelled"):
        replay_decision(cancelled, IN_FORCE)
