"""High-risk behaviour alerts: the three rules, their windows, their memory, the engine hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support import SCHOOL_PLACE_ACCESS, TEST_PSEUDONYM_KEY, mock_departments, resident_id
from telemetry_support import CapturingAuditSink, MakeTracedVerifier, Recorded, recorded_telemetry

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import parse_application
from verifier.access import AccessPolicy, CallerGrant
from verifier.audit import (
    ALERT_RULES,
    AlertRecord,
    ChainedAuditLog,
    HighRiskMonitor,
    Pseudonymiser,
    load_or_create_signing_key,
    read_audit_entries,
)
from verifier.catalogue import load_catalogue
from verifier.model import CallerIdentity
from verifier.rules import load_service_items

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI)  # working hours: only the subject rule
GUARDIAN = resident_id("44030519850312201")
CHILD = resident_id("44030520170605102")


def school_place() -> dict[str, object]:
    return {
        "service_item": "school_place",
        "subjects": [{"role": "guardian", "id": GUARDIAN}, {"role": "child", "id": CHILD}],
        "parameters": {"district": "440305"},
        "reference_date": "2026-08-31",
        **SCHOOL_PLACE_ACCESS,
    }


def alerts_config(**values: Any) -> Any:
    return verifier.load_config(alerts={"enabled": True, **values}).alerts


def monitor(**values: Any) -> HighRiskMonitor:
    return HighRiskMonitor(alerts_config(**values))


def subjects(start: int, count: int) -> list[str]:
    return [f"pseudonym-{number:04d}" for number in range(start, start + count)]


def test_the_subject_rule_fires_exactly_at_threshold_plus_one() -> None:
    watch = monitor(distinct_subjects_per_hour=3)
    assert watch.observe("hall", subjects(0, 2), NOON) == []
    assert watch.observe("hall", subjects(2, 1), NOON + timedelta(minutes=1)) == []
    [alert] = watch.observe("hall", subjects(3, 1), NOON + timedelta(minutes=2))
    assert alert == AlertRecord(
        time=NOON + timedelta(minutes=2),
        caller_system="hall",
        rule="distinct_subjects_per_hour",
        description="more than 3 distinct subjects within one hour",
        observed=4,
        threshold=3,
        window_seconds=3600,
    )
    assert alert.rule in ALERT_RULES


def test_repeated_subjects_do_not_count() -> None:
    watch = monitor(distinct_subjects_per_hour=3)
    family = subjects(0, 3)
    for minute in range(120):
        assert watch.observe("hall", family, NOON + timedelta(minutes=minute)) == []


def test_callers_are_counted_apart() -> None:
    watch = monitor(distinct_subjects_per_hour=3)
    assert watch.observe("hall-a", subjects(0, 3), NOON) == []
    assert watch.observe("hall-b", subjects(3, 3), NOON) == []


def test_the_window_slides_with_the_clock() -> None:
    watch = monitor(distinct_subjects_per_hour=3)
    assert watch.observe("hall", subjects(0, 3), NOON) == []
    # An hour later the first three have left the window: three new ones are fine.
    later = NOON + timedelta(hours=1)
    assert watch.observe("hall", subjects(3, 3), later) == []
    # One asked about again half an hour on stays in the window from then.
    assert watch.observe("hall", subjects(3, 1), later + timedelta(minutes=59)) == []
    [alert] = watch.observe("hall", subjects(6, 3), later + timedelta(minutes=90))
    assert alert.observed == 4  # subjects 3 (re-asked at +59 min) and 6, 7, 8


def test_no_repeat_alert_until_the_hour_has_passed() -> None:
    watch = monitor(distinct_subjects_per_hour=3)
    assert len(watch.observe("hall", subjects(0, 4), NOON)) == 1
    for minute in range(1, 60):
        assert (
            watch.observe("hall", subjects(minute * 10, 5), NOON + timedelta(minutes=minute)) == []
        )
    # Still scanning an hour later: one more alert, not one per request.
    assert len(watch.observe("hall", subjects(9000, 5), NOON + timedelta(minutes=60))) == 1


def test_off_hours_counts_one_night_across_midnight() -> None:
    watch = monitor(off_hours_max_verifications=2, distinct_subjects_per_hour=1000)
    evening = datetime(2026, 3, 2, 22, 30, tzinfo=SHANGHAI)
    assert watch.observe("hall", ["p"], NOON) == []  # working hours: not counted
    assert watch.observe("hall", ["p"], evening) == []
    assert watch.observe("hall", ["p"], evening + timedelta(hours=1)) == []
    # 01:30 the next day belongs to the same night: the third verification alerts.
    [alert] = watch.observe("hall", ["p"], evening + timedelta(hours=3))
    assert (alert.rule, alert.observed, alert.threshold) == ("off_hours_bulk_access", 3, 2)
    assert alert.window_seconds == 8 * 3600
    assert alert.description == "more than 2 verifications between 22:00 and 06:00 (Asia/Shanghai)"
    assert watch.observe("hall", ["p"], evening + timedelta(hours=4)) == []  # once a night
    assert watch.observe("hall", ["p"], evening + timedelta(hours=9)) == []  # 07:30: day
    # The next night starts counting afresh.
    next_night = evening + timedelta(days=1)
    assert watch.observe("hall", ["p"], next_night) == []
    assert watch.observe("hall", ["p"], next_night + timedelta(minutes=1)) == []
    assert len(watch.observe("hall", ["p"], next_night + timedelta(minutes=2))) == 1


def test_off_hours_is_judged_in_the_configured_zone() -> None:
    watch = monitor(off_hours_max_verifications=0, distinct_subjects_per_hour=1000)
    # 15:00 UTC is 23:00 in Shanghai.
    [alert] = watch.observe("hall", ["p"], datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    assert alert.rule == "off_hours_bulk_access"
    assert watch.observe("other", ["p"], datetime(2026, 3, 2, 4, 0, tzinfo=UTC)) == []


def test_an_off_hours_window_within_one_day() -> None:
    watch = monitor(
        off_hours_start="01:00",
        off_hours_end="05:00",
        off_hours_max_verifications=0,
        distinct_subjects_per_hour=1000,
    )
    assert watch.observe("hall", ["p"], datetime(2026, 3, 2, 0, 59, tzinfo=SHANGHAI)) == []
    assert len(watch.observe("hall", ["p"], datetime(2026, 3, 2, 1, 0, tzinfo=SHANGHAI))) == 1
    assert watch.observe("late", ["p"], datetime(2026, 3, 2, 5, 0, tzinfo=SHANGHAI)) == []


def test_memory_is_bounded() -> None:
    watch = monitor(distinct_subjects_per_hour=5, max_tracked_callers=3)
    for caller in range(10):
        watch.observe(f"hall-{caller}", subjects(0, 2), NOON)
    assert watch.tracked_callers == 3
    for start in range(0, 10_000, 16):
        watch.observe("scanner", subjects(start, 16), NOON + timedelta(seconds=start))
    assert watch.tracked_callers == 3
    assert watch.tracked_subjects <= 2 * 2 + 6  # two small callers, the scanner capped at 5 + 1


def test_disabled_alerts_nothing_and_the_clock_is_injectable() -> None:
    quiet = HighRiskMonitor(verifier.load_config(alerts={"enabled": False}).alerts)
    assert quiet.observe("hall", subjects(0, 1000), NOON) == []
    watch = HighRiskMonitor(alerts_config(distinct_subjects_per_hour=1), clock=lambda: NOON)
    [alert] = watch.observe("hall", subjects(0, 2))
    assert alert.time == NOON


def test_the_refusal_rule_fires_once_an_hour_past_its_threshold() -> None:
    watch = monitor(refusals_per_hour=3)
    assert [watch.observe_refusal("prober", NOON + timedelta(minutes=m)) for m in range(3)] == [
        [],
        [],
        [],
    ]
    [alert] = watch.observe_refusal("prober", NOON + timedelta(minutes=3))
    assert (alert.rule, alert.observed, alert.threshold) == ("refusals_per_hour", 4, 3)
    assert watch.observe_refusal("prober", NOON + timedelta(minutes=4)) == []  # once an hour
    assert watch.observe_refusal("another", NOON + timedelta(minutes=4)) == []  # apart
    # Verifications are not refusals, and refusals count toward no other rule.
    assert watch.observe("prober", subjects(0, 1), NOON + timedelta(minutes=5)) == []
    # Two hours later the old refusals have left the window: three more are not enough.
    later = NOON + timedelta(hours=2)
    assert [watch.observe_refusal("prober", later + timedelta(seconds=s)) for s in range(3)] == [
        [],
        [],
        [],
    ]
    assert len(watch.observe_refusal("prober", later + timedelta(seconds=3))) == 1


async def test_a_caller_probing_for_what_it_may_not_see_is_alerted(tmp_path: Path) -> None:
    """Through the engine: refusals feed the monitor, and the alert follows them in the log."""
    directory = tmp_path / "audit"
    catalogue = load_catalogue()
    engine = verifier.Verifier(
        catalogue=catalogue,
        items=load_service_items(catalogue),
        adapters=mock_departments(),
        audit=ChainedAuditLog(directory, load_or_create_signing_key(directory)),
        pseudonymiser=Pseudonymiser(TEST_PSEUDONYM_KEY),
        access=AccessPolicy({"prober": CallerGrant(items=("first_home_purchase",))}),
        alerts=monitor(refusals_per_hour=2),
    )
    async with engine:
        for _ in range(3):
            with pytest.raises(verifier.AccessDenied):
                await engine.verify(
                    parse_application(school_place()), caller=CallerIdentity(system="prober")
                )
    kinds = [e.body["kind"] for e in read_audit_entries(directory) if e.type == "record"]
    assert kinds == ["refusal", "refusal", "refusal", "alert"]


async def test_alerts_are_appended_to_the_audit_log_and_counted(
    make_traced_verifier: MakeTracedVerifier, recorded: Recorded, tmp_path: Path
) -> None:
    directory = tmp_path / "audit"
    audit = ChainedAuditLog(directory, load_or_create_signing_key(directory))
    caller = CallerIdentity(system="bulk-hall")
    watch = monitor(distinct_subjects_per_hour=1)
    async with make_traced_verifier(audit=audit, alerts=watch) as engine:
        result = await engine.verify(parse_application(school_place()), caller=caller)
        assert result.decision.outcome == "ELIGIBLE"
        await engine.verify(parse_application(school_place()), caller=caller)

    bodies = [entry.body for entry in read_audit_entries(directory) if entry.type == "record"]
    assert [body["kind"] for body in bodies] == ["verification", "alert", "verification"]
    alert = AlertRecord.model_validate(bodies[1])
    assert (alert.caller_system, alert.rule, alert.observed) == (
        "bulk-hall",
        "distinct_subjects_per_hour",
        2,
    )
    assert alert.time == datetime.fromisoformat(bodies[0]["time"])
    assert recorded.counted("verifier.alerts") == {
        frozenset({("verifier.rule", "distinct_subjects_per_hour")}): 1
    }


async def test_an_unwritable_alert_does_not_fail_the_audited_answer(
    make_traced_verifier: MakeTracedVerifier,
    recorded: Recorded,
    caplog: pytest.LogCaptureFixture,
) -> None:
    audit = CapturingAuditSink(refuse_alerts=True)
    async with make_traced_verifier(
        audit=audit, alerts=monitor(distinct_subjects_per_hour=1)
    ) as engine:
        result = await engine.verify(parse_application(school_place()))
    assert result.decision.outcome == "ELIGIBLE"
    assert len(audit.records) == 1
    assert audit.alerts == []
    assert "alert distinct_subjects_per_hour about caller embedded was not written" in caplog.text
    assert recorded.counted("verifier.alerts.write_failures") == {
        frozenset({("verifier.rule", "distinct_subjects_per_hour")}): 1
    }


async def test_build_verifier_wires_the_monitor_when_enabled(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    telemetry = recorded_telemetry()
    config = verifier.load_config(
        data_dir=tmp_path,
        departments={
            department: {"url": f"sqlite:///{demo_city.data_dir / f'{department}.db'}"}
            for department in ("household", "social_insurance", "housing", "tax")
        },
        alerts={"enabled": True, "distinct_subjects_per_hour": 1},
    )
    samples = [s for s in demo_city.samples if len(s.application["subjects"]) > 1]
    async with verifier.build_verifier(config, telemetry=telemetry.handle) as engine:
        await engine.verify(parse_application(samples[0].application))
    assert telemetry.counted("verifier.alerts") == {
        frozenset({("verifier.rule", "distinct_subjects_per_hour")}): 1
    }
