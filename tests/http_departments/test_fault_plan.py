"""Fault plans: validated, seeded, and with the latency percentiles they promise."""

from __future__ import annotations

import statistics

import pytest
from pydantic import ValidationError

from adapters.simulator import FaultDice, FaultPlan, FixedLatency, LognormalLatency, Outcome


def test_rates_must_fit_in_one() -> None:
    with pytest.raises(ValidationError, match="sum to at most 1"):
        FaultPlan(error_rate=0.6, hang_rate=0.5)
    with pytest.raises(ValidationError):
        FaultPlan(error_rate=-0.1)
    with pytest.raises(ValidationError):
        FaultPlan.model_validate({"error_rat": 0.1})
    with pytest.raises(ValidationError, match="p99_ms must be at least p50_ms"):
        LognormalLatency(p50_ms=50, p99_ms=10)


def test_a_plan_is_frozen_and_round_trips_as_json() -> None:
    plan = FaultPlan(latency=LognormalLatency(p50_ms=20, p99_ms=500), reset_rate=0.25)
    with pytest.raises(ValidationError):
        plan.error_rate = 1.0  # type: ignore[misc]
    assert FaultPlan.model_validate_json(plan.model_dump_json()) == plan
    assert FaultPlan.model_validate({"latency": {"kind": "fixed", "ms": 3}}).latency == (
        FixedLatency(ms=3)
    )


@pytest.mark.parametrize("outcome", list(Outcome), ids=str)
def test_only_gives_that_outcome_every_time(outcome: Outcome) -> None:
    dice = FaultDice(1)
    assert {dice.draw(FaultPlan.only(outcome)).outcome for _ in range(200)} == {outcome}


def test_the_same_seed_draws_the_same_sequence() -> None:
    plan = FaultPlan(
        latency=LognormalLatency(p50_ms=5, p99_ms=50),
        error_rate=0.1,
        hang_rate=0.1,
        reset_rate=0.1,
        malformed_rate=0.1,
        wrong_subject_rate=0.1,
    )
    first = [FaultDice(42).draw(plan) for _ in range(1)]
    runs = [[dice.draw(plan) for _ in range(500)] for dice in (FaultDice(42), FaultDice(42))]
    assert runs[0] == runs[1]
    assert runs[0][0] == first[0]
    assert runs[0] != [FaultDice(43).draw(plan) for _ in range(500)]
    counts = {outcome: sum(d.outcome is outcome for d in runs[0]) for outcome in Outcome}
    assert all(20 <= counts[o] <= 80 for o in Outcome if o is not Outcome.OK), counts
    assert 200 <= counts[Outcome.OK] <= 300


def test_lognormal_latency_has_the_promised_percentiles() -> None:
    plan = FaultPlan(latency=LognormalLatency(p50_ms=20, p99_ms=500))
    dice = FaultDice(3)
    draws = sorted(dice.draw(plan).delay_seconds * 1000 for _ in range(20_000))
    assert statistics.median(draws) == pytest.approx(20, rel=0.05)
    assert draws[int(0.99 * len(draws))] == pytest.approx(500, rel=0.15)
    assert FixedLatency(ms=7).seconds(0.3) == 0.007
    assert LognormalLatency(p50_ms=9, p99_ms=9).seconds(0.999) == pytest.approx(0.009)
