"""The console under test: a real audit log, and ``verifier console`` serving it on a port
the OS chose, in its own process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_support import ConsoleLog, start_console, stop_console, write_console_log

from adapters.demo_city import DemoCityManifest


@pytest.fixture(scope="package")
def console_log(
    demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory
) -> ConsoleLog:
    return write_console_log(demo_city, tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="package")
def console_url(console_log: ConsoleLog) -> Iterator[str]:
    process, url = start_console(console_log.config_file)
    try:
        yield url
    finally:
        stop_console(process)
