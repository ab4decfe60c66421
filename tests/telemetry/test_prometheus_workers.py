"""With ``server.workers`` above 1 each worker serves its own process's metrics, so worker k
listens on ``prometheus_port + k - 1`` (0 stays 0: each its own port from the system)."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier import load_config
from verifier.config._worker_chains import worker_config


@pytest.mark.parametrize(
    ("configured", "by_slot"),
    [(9464, {1: 9464, 2: 9465, 3: 9466}), (0, {1: 0, 2: 0}), (None, {1: None, 2: None})],
)
def test_each_worker_gets_its_own_metrics_port(
    tmp_path: Path, configured: int | None, by_slot: dict[int, int | None]
) -> None:
    config = load_config(data_dir=tmp_path, telemetry={"prometheus_port": configured})
    for slot, port in by_slot.items():
        assert worker_config(config, slot).telemetry.prometheus_port == port
    assert config.telemetry.prometheus_port == configured  # the supervisor's own is unchanged
