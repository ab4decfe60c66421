"""Simulators of the four departments on 127.0.0.1 (port 0), over the session's demo city."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support import DEPARTMENTS

from adapters.demo_city import DemoCityManifest
from adapters.simulator import RunningSimulators, run_simulators


@pytest.fixture
async def simulators(demo_city: DemoCityManifest) -> AsyncIterator[RunningSimulators]:
    assert demo_city.data_dir is not None
    async with run_simulators(demo_city.data_dir, dict.fromkeys(DEPARTMENTS, 0)) as running:
        yield running
