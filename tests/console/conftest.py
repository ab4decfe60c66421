"""The console under test: a real audit log, and the console serving it on a port the OS
chose, by uvicorn in a thread of the test process (coverage sees it; the command itself is
started in its own process by the tests of development mode and of the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_support import ConsoleLog, console_in_thread, write_console_log

from adapters.demo_city import DemoCityManifest


@pytest.fixture(scope="package")
def console_log(
    demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory
) -> ConsoleLog:
    return write_console_log(demo_city, tmp_path_factory.mktemp("console"))


@pytest.fixture(scope="package")
def console_url(console_log: ConsoleLog) -> Iterator[str]:
    with console_in_thread(console_log.config_file) as url:
        yield url
