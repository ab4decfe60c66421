"""The batch path (``decide_many``) gives exactly the single path's (``decide``) facts and
decisions: for every planted sample of the demo city, and for 10⁴ random subjects — people
the registers hold and generated resident IDs no register knows."""

from __future__ import annotations

import copy
import csv
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import resident_id

from adapters.demo_city import DemoCityManifest
from verifier.adapter import DepartmentAdapter
from verifier.engine import Verifier
from verifier.model import Application, parse_application
from verifier.model._plain import PlainResult

SUBJECTS_PER_EXAMPLE = 2_000
EXAMPLES = 5  # 10⁴ random subjects in all


def facts_and_decision(result: PlainResult) -> tuple[object, ...]:
    facts = tuple((f.name, f.status, f.value, f.reason) for f in result.facts)
    decision = result.decision
    return facts, decision.outcome, decision.explanation, decision.score


async def both_paths(
    verifier: Verifier, applications: Sequence[Application], batch_size: int
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    single = [facts_and_decision(await verifier.decide(a)) for a in applications]
    batched = []
    async for outcome in verifier.decide_many(applications, batch_size=batch_size):
        assert outcome.result is not None, outcome.error
        batched.append(facts_and_decision(outcome.result))
    return single, batched


async def test_every_sample_gets_the_single_paths_facts_and_decision(
    city: DemoCityManifest,
    city_adapters: dict[str, DepartmentAdapter],
    make_test_verifier: Callable[..., Verifier],
) -> None:
    applications = [parse_application(sample.application) for sample in city.samples]
    async with make_test_verifier(city_adapters) as verifier:
        single, batched = await both_paths(verifier, applications, batch_size=7)
    assert batched == single


def known_ids(city: DemoCityManifest) -> list[str]:
    """Resident IDs the city's registers hold: everyone in its caseloads and samples."""
    found: set[str] = set()
    for file in sorted(Path(city.data_dir).glob("caseload_*.csv")):
        with file.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                found.update(v for k, v in row.items() if k.startswith("subject_") and v)
    for sample in city.samples:
        found.update(subject["id"] for subject in sample.application["subjects"])
    return sorted(found)


def generated_id(rng: random.Random) -> str:
    """A valid resident ID (check character right), almost surely nobody's in the city."""
    region = rng.choice(["440305", "440106", "110101", "320102", "510104"])
    born = f"{rng.randint(1940, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    return resident_id(f"{region}{born}{rng.randint(0, 999):03d}")


def random_applications(
    city: DemoCityManifest, known: Sequence[str], rng: random.Random, known_share: float
) -> list[Application]:
    """Applications shaped like the samples, every subject replaced by a random one."""
    applications: list[Application] = []
    subjects = 0
    while subjects < SUBJECTS_PER_EXAMPLE:
        data: dict[str, Any] = copy.deepcopy(rng.choice(city.samples).application)
        for subject in data["subjects"]:
            subject["id"] = rng.choice(known) if rng.random() < known_share else generated_id(rng)
        subjects += len(data["subjects"])
        applications.append(parse_application(data))
    return applications


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), known_share=st.floats(0.0, 1.0), batch_size=st.integers(1, 600))
async def test_random_subjects_get_the_single_paths_facts_and_decisions(
    seed: int,
    known_share: float,
    batch_size: int,
    city: DemoCityManifest,
    city_adapters: dict[str, DepartmentAdapter],
    make_test_verifier: Callable[..., Verifier],
    tmp_path: Path,
) -> None:
    rng = random.Random(seed)
    applications = random_applications(city, known_ids(city), rng, known_share)
    verifier = make_test_verifier(city_adapters, tmp_path / f"audit-{seed}-{batch_size}")
    async with verifier:
        single, batched = await both_paths(verifier, applications, batch_size)
    assert batched == single
