"""The planted samples reach their expected decisions through the real engine and rules."""

from __future__ import annotations

from collections.abc import Callable

from adapters.demo_city import DemoCityManifest
from verifier.adapter import DepartmentAdapter
from verifier.engine import Verifier
from verifier.model import parse_application


async def test_every_sample_is_decided_as_planted(
    city: DemoCityManifest,
    city_adapters: dict[str, DepartmentAdapter],
    make_test_verifier: Callable[..., Verifier],
) -> None:
    verifier = make_test_verifier(city_adapters)
    decided = {}
    async with verifier:
        for sample in city.samples:
            result = await verifier.verify(parse_application(sample.application))
            decided[sample.name] = result.decision.outcome.value
            assert all(call.outcome == "OK" for call in result.department_calls), sample.name
    assert decided == {sample.name: sample.expected for sample in city.samples}
