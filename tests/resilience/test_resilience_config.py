"""The ``resilience`` configuration section: defaults, per-department overrides, wiring."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier import ConfigurationError, load_config
from verifier.config import VerifierConfig, build_verifier


def test_defaults_and_partial_overrides_per_department() -> None:
    config = load_config(
        resilience={
            "retry": {"max_attempts": 2},
            "departments": {
                "tax": {"hedging": {"enabled": True}, "bulkhead": {"max_concurrent": 8}}
            },
        }
    )
    tax = config.resilience.for_department("tax")
    household = config.resilience.for_department("household")
    assert tax.hedging.enabled
    assert tax.hedging.delay_ms == "p95"
    assert tax.bulkhead.max_concurrent == 8
    assert tax.retry.max_attempts == 2  # inherited from the top level
    assert not household.hedging.enabled
    assert household.bulkhead.max_concurrent == 32
    assert household.breaker.failure_threshold == 5
    assert household.breaker.open_seconds == 5
    assert household.retry.budget_ratio == 0.2


def test_environment_reaches_nested_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIFIER_RESILIENCE__BREAKER__OPEN_SECONDS", "30")
    assert load_config().resilience.breaker.open_seconds == 30


@pytest.mark.parametrize(
    "resilience",
    [
        {"retry": {"max_attempts": 0}},
        {"departments": {"tax": {"breaker": {"failure_treshold": 3}}}},
        {"hedging": {"delay_ms": -1}},
    ],
)
def test_bad_values_are_named(resilience: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="resilience"):
        load_config(resilience=resilience)


def test_an_override_for_an_unknown_department_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"resilience\.departments\.taxx"):
        load_config(data_dir=tmp_path, resilience={"departments": {"taxx": {}}})
    config = VerifierConfig(data_dir=tmp_path, resilience={"departments": {"taxx": {}}})
    with pytest.raises(ConfigurationError, match=r"resilience\.departments\.taxx"):
        build_verifier(config)
