"""Several server processes on one port, supervised: ``verifier serve --workers N``.

One Python server process keeps about one core busy (its event loop holds the GIL), so
using every core takes several processes. Each worker is the single-process ``verifier
serve`` itself, started as ``python -m verifier.cli serve --worker-slot K …``; the
supervisor here starts them, restarts one that dies, and stops them all.

Why ``subprocess`` and not ``multiprocessing``: grpc is not fork-safe, so a worker must be
a fresh interpreter (multiprocessing's ``spawn`` would give that too), but as a command a
worker is exactly what an operator runs alone — the same argument parsing, signal handling,
drain and "listening" line — and the supervisor needs nothing from it but that line and
its exit status: no pickled state to pass, and no multiprocessing machinery (its resource
tracker, its pipes) to clean up after a SIGKILL. The supervisor never starts grpc.

One port: grpc servers set SO_REUSEPORT on Linux (the ``grpc.so_reuseport`` channel option
is on by default), so every worker binds the same port and the kernel spreads new
connections across the listening workers. The supervisor binds the port first, with
SO_REUSEPORT, and never listens on it (a socket that does not listen is given no
connection): port 0 is resolved once for all workers, and the port stays reserved while a
worker restarts.

Restarts: a worker that exits while the supervisor is not stopping is started again after
``RestartPolicy.delay`` — growing with each failure in a row, so a worker that crashes at
once is restarted at most every ``max_delay`` seconds instead of spinning; one that served
for ``stable_after`` seconds before it died starts the count afresh. Each exit and each
restart is logged.

Stopping: SIGTERM or SIGINT to the supervisor is passed on as SIGTERM to every worker,
which drains (``_drain``); the supervisor waits ``stop_seconds`` for them (the drain grace
plus a margin), SIGKILLs any left, and exits 0 if every worker exited cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from verifier.service._server import stop_on_signals

logger = logging.getLogger("verifier.service.workers")

READY_PREFIX = "verifier listening on "
"""The first line ``verifier serve`` prints once it serves (a worker's too)."""
WORKER_STARTUP_SECONDS = 120.0
"""How long a worker may take to say it listens before it counts as failed (and is killed)."""
_CLEAN_EXITS = frozenset({0, -signal.SIGTERM})
"""A worker stopped by the supervisor's SIGTERM exits 0 once drained; one still starting up
(no handler installed yet, nothing accepted) dies of the signal itself."""


def cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    count = getattr(os, "process_cpu_count", None)  # Python 3.13
    if count is not None:
        return int(count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolved_workers(requested: int) -> int:
    """``--workers``: 0 (also spelt ``auto``) means one per core."""
    return requested or cores()


def reserve_port(address: str) -> socket.socket:
    """A socket bound to ``host:port`` with SO_REUSEPORT, not listening: while it is open, the
    port (port 0: a free one, ``getsockname()``) is this supervisor's, for its workers."""
    host, _, port_text = address.rpartition(":")
    if address.startswith("unix:") or not host or not port_text.isdigit():
        raise ValueError(f"several workers need a TCP host:port to share, not {address!r}")
    family, kind, protocol, _, where = socket.getaddrinfo(
        host.strip("[]"), int(port_text), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    reservation = socket.socket(family, kind, protocol)
    try:
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reservation.bind(where)
    except BaseException:
        reservation.close()
        raise
    return reservation


@dataclass(frozen=True)
class RestartPolicy:
    """How soon a worker that died is started again."""

    first_delay: float = 0.5
    max_delay: float = 30.0
    stable_after: float = 30.0
    """A worker that ran this long before it died had been serving: its failures reset."""

    def delay(self, failures: int) -> float:
        """The wait before restarting a worker that has now failed ``failures`` times in a row."""
        return min(self.max_delay, self.first_delay * 2.0 ** max(0, failures - 1))


class _Slot:
    """One worker's place: its number, the process filling it now, its failures in a row."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.process: asyncio.subprocess.Process | None = None
        self.failures = 0
        self.started = 0.0
        self.output: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else 0


class WorkerStartFailed(Exception):
    """A worker exited, or did not say it listens in time, on its first start."""

    def __init__(self, slot: int, returncode: int | None) -> None:
        super().__init__(f"worker {slot} did not start (exit status {returncode})")
        self.returncode = returncode


class Supervisor:
    """``count`` workers, each the command ``command(slot)`` (slots 1…count), kept running
    until SIGTERM or SIGINT.

    ``announce`` gets the lines meant for the operator (stdout): the workers' own output
    after their "listening" line, prefixed ``worker K:``, and ``worker K ready (pid P)``
    each time a worker starts serving, restarts included.
    """

    def __init__(
        self,
        command: Callable[[int], Sequence[str]],
        count: int,
        *,
        stop_seconds: float,
        policy: RestartPolicy | None = None,
        announce: Callable[[str], object] = print,
    ) -> None:
        self._command = command
        self._slots = [_Slot(number) for number in range(1, count + 1)]
        self._stop_seconds = stop_seconds
        self._policy = policy or RestartPolicy()
        self._announce = announce
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Stop every worker, as SIGTERM to the supervisor does (from its event loop)."""
        self._stopping.set()

    async def run(self, ready: Callable[[list[int]], object]) -> int:
        """Start every worker; once all serve, call ``ready(pids)``; keep them running until
        a signal; stop them. The exit status: 0 if every worker stopped cleanly, else 1 —
        or, if a worker could not start at all, its own exit status (e.g. 2 for a bad
        configuration) after stopping the others."""
        with stop_on_signals(self._stopping):
            try:
                await self._start_all()
            except WorkerStartFailed as failed:
                logger.error("%s; stopping the other workers", failed)
                await self._stop_all()
                code = failed.returncode
                return code if code is not None and code > 0 else 1
            if self._stopping.is_set():
                return await self._stop_all()
            ready([slot.pid for slot in self._slots])
            for slot in self._slots:
                self._serving(slot)
            keepers = [asyncio.ensure_future(self._keep(slot)) for slot in self._slots]
            try:
                await self._stopping.wait()
            finally:
                for keeper in keepers:
                    keeper.cancel()
                await asyncio.gather(*keepers, return_exceptions=True)
                code = await self._stop_all()
        return code

    async def _start_all(self) -> None:
        """Start the workers side by side; the first that fails ends the start (raised), and
        a signal meanwhile ends it too (``_stopping`` is then set)."""
        starts = {asyncio.ensure_future(self._start(slot)) for slot in self._slots}
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            while starts and not self._stopping.is_set():
                await asyncio.wait({*starts, stop}, return_when=asyncio.FIRST_COMPLETED)
                for start in [start for start in starts if start.done()]:
                    starts.discard(start)
                    failed = start.result()
                    if failed is not None:
                        raise failed
        finally:
            stop.cancel()
            for start in starts:
                start.cancel()
            await asyncio.gather(*starts, stop, return_exceptions=True)

    async def _start(self, slot: _Slot) -> WorkerStartFailed | None:
        """Start ``slot``'s worker and wait until it listens (None), or until it exits or
        takes too long (the failure: the worker is killed)."""
        loop = asyncio.get_running_loop()
        slot.output = None
        process = slot.process = await asyncio.create_subprocess_exec(
            *self._command(slot.number), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        slot.started = loop.time()
        try:
            listening = await asyncio.wait_for(_ready_line(process), WORKER_STARTUP_SECONDS)
        except TimeoutError:
            _signal(process, signal.SIGKILL)
            listening = False
        if not listening:  # (its output ended: it is exiting)
            return WorkerStartFailed(slot.number, await process.wait())
        slot.output = asyncio.ensure_future(self._relay(slot.number, process))
        return None

    def _serving(self, slot: _Slot) -> None:
        self._announce(f"worker {slot.number} ready (pid {slot.pid})")

    async def _relay(self, number: int, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            self._announce(f"worker {number}: {line.decode(errors='replace').rstrip()}")

    async def _keep(self, slot: _Slot) -> None:
        """Restart ``slot``'s worker whenever it exits, until cancelled (the stop)."""
        loop = asyncio.get_running_loop()
        while True:
            assert slot.process is not None
            returncode = await slot.process.wait()
            if slot.output is not None:
                await slot.output  # its last words first
            served = loop.time() - slot.started
            slot.failures = 1 if served >= self._policy.stable_after else slot.failures + 1
            delay = self._policy.delay(slot.failures)
            logger.warning(
                "worker %d (pid %d) exited with %s after %.1f s; restarting it in %g s",
                slot.number, slot.pid, _exit_text(returncode), served, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
            failed = await self._start(slot)
            if failed is None:
                self._serving(slot)
            else:
                logger.warning("%s", failed)

    async def _stop_all(self) -> int:
        """SIGTERM every running worker, wait ``stop_seconds`` for them, SIGKILL those left;
        0 if each exited cleanly, else 1."""
        # A worker that died before (its exit logged then, its restart now called off) is
        # not one that failed to stop.
        running = [
            slot
            for slot in self._slots
            if slot.process is not None and slot.process.returncode is None
        ]
        for slot in running:
            assert slot.process is not None
            _signal(slot.process, signal.SIGTERM)
        waits = {slot.number: asyncio.ensure_future(_exited(slot)) for slot in running}
        if waits:
            await asyncio.wait(waits.values(), timeout=self._stop_seconds)
        clean = True
        for slot in running:
            assert slot.process is not None
            if not waits[slot.number].done():
                logger.error(
                    "worker %d (pid %d) still running after %g s: killed",
                    slot.number, slot.pid, self._stop_seconds,
                )  # fmt: skip
                _signal(slot.process, signal.SIGKILL)
            returncode = await waits[slot.number]
            if returncode not in _CLEAN_EXITS:
                clean = False
                logger.error("worker %d exited with %s", slot.number, _exit_text(returncode))
        return 0 if clean else 1


def _signal(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    """``os.kill``, not ``Process.send_signal``: that polls first, and so reaps a worker that
    has just exited before asyncio's child watcher does, which then reports its status as
    255 instead of what it was."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)


async def _exited(slot: _Slot) -> int:
    assert slot.process is not None
    returncode = await slot.process.wait()
    if slot.output is not None:
        await slot.output
    return returncode


async def _ready_line(process: asyncio.subprocess.Process) -> bool:
    """Read the worker's output until it says it listens (True) or ends (False)."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        if line.decode(errors="replace").startswith(READY_PREFIX):
            return True
    return False


def _exit_text(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-returncode).name
    return f"status {returncode}"


def die_with_supervisor() -> None:
    """In a worker: be sent SIGTERM (and so drain) if the supervisor dies, even by SIGKILL,
    instead of serving on unsupervised (Linux; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
