"""The supervisor of ``verifier serve --workers`` with stand-in workers (small Python
processes that print the "listening" line and then misbehave): a worker that keeps dying is
restarted after growing delays, and one that ignores SIGTERM is killed when the stop's time
is up. No assertion on how long anything took."""

from __future__ import annotations

import asyncio
import logging
import re
import sys

import pytest

from verifier.service._workers import RestartPolicy, Supervisor

BOUND_SECONDS = 60.0
"""Only so that a fault cannot hang the suite."""


def stand_in(body: str, *, first: str = "") -> list[str]:
    """A worker that runs ``first``, says it listens, then runs ``body``."""
    ready = "print('verifier listening on 127.0.0.1:1', flush=True)"
    return [sys.executable, "-c", f"{first}\n{ready}\n{body}"]


async def test_a_worker_that_keeps_dying_is_restarted_after_growing_delays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = RestartPolicy(first_delay=0.01, max_delay=0.04, stable_after=BOUND_SECONDS)
    announced: list[str] = []

    def announce(line: str) -> None:
        announced.append(line)
        if sum(line.startswith("worker 1 ready") for line in announced) == 6:
            supervisor.stop()  # the first start and five restarts

    dies = "import sys; sys.exit(3)"
    serves = "import time; time.sleep(60)"
    supervisor = Supervisor(
        lambda slot: stand_in(dies if slot == 1 else serves),
        2,
        stop_seconds=BOUND_SECONDS,
        policy=policy,
        announce=announce,
    )
    caplog.set_level(logging.WARNING, logger="verifier.service.workers")

    def restarts() -> list[str]:
        return [r.getMessage() for r in caplog.records if "restarting it in" in r.getMessage()]

    def delays() -> list[float]:
        return [float(re.findall(r"restarting it in ([0-9.]+) s", text)[0]) for text in restarts()]

    code = await asyncio.wait_for(supervisor.run(lambda pids: None), BOUND_SECONDS)
    assert delays()[:5] == [0.01, 0.02, 0.04, 0.04, 0.04]  # doubling, then capped
    assert all(text.startswith("worker 1 (pid ") for text in restarts())
    assert all("exited with status 3" in text for text in restarts())
    assert [line for line in announced if line.startswith("worker 2 ready")] == [announced[1]]
    # (The exit status depends on whether worker 1 was up when the stop came: not checked.)
    assert code in (0, 1)


async def test_a_worker_that_ignores_sigterm_is_killed_and_the_exit_status_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    deaf = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    supervisor = Supervisor(
        lambda slot: stand_in("import time; time.sleep(60)", first=deaf),
        1,
        stop_seconds=0.5,
        announce=print,
    )
    ready: list[list[int]] = []

    def started(pids: list[int]) -> None:
        ready.append(pids)
        supervisor.stop()

    code = await asyncio.wait_for(supervisor.run(started), BOUND_SECONDS)
    assert len(ready) == 1
    assert len(ready[0]) == 1
    assert f"worker 1 (pid {ready[0][0]}) still running after 0.5 s: killed" in caplog.text
    assert "worker 1 exited with SIGKILL" in caplog.text
    assert code == 1


async def test_a_worker_that_exits_before_it_listens_fails_the_start() -> None:
    supervisor = Supervisor(
        lambda slot: [sys.executable, "-c", "import sys; sys.exit(2)"], 2, stop_seconds=5.0
    )
    assert await asyncio.wait_for(supervisor.run(lambda pids: None), BOUND_SECONDS) == 2
