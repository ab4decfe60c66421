"""The Verifier of one Spark Python worker process: built once, on first use, kept for every
task the process runs, closed when the process ends.

Spark forks a Python worker per concurrently running task and reuses it for later tasks
(``spark.python.worker.reuse``, on by default), so a module-level cache keyed by the
configuration gives one Verifier per worker process, not per row or batch. The Verifier
lives on an event loop of its own, in a thread, so its background work (the audit log's
group commit, its witness publisher) goes on between the batches Spark hands over.

Where its audit records go: each worker process claims the first free chain
``<audit dir>/worker-<k>`` under the configuration's audit directory (on the executor's
machine) — free meaning no live process holds the chain's lock — under a claims lock
(``worker-claims.lock`` in the audit directory) so that two workers starting at once never
pick the same one. Two processes therefore never write one chain; a chain left by a worker
that died is reopened (its torn tail repaired) by the next worker that claims it. This is
the layout ``verifier serve --workers`` writes, so ``verifier audit verify --audit-dir <audit
dir>`` verifies every chain, each on its own.

Closing: Spark may end a Python worker without warning once it is idle (PySpark's daemon
SIGKILLs the workers it reclaims, and its forked workers leave through ``os._exit``, past
``atexit``). So at the end of every task the worker seals its chain with a shutdown
checkpoint (``ChainedAuditLog.seal``) and keeps the chain open for its next task: killed
between tasks, it leaves a chain that verifies; killed in the middle of one, a chain with
an open tail, its records durable and chained, as a crashed server leaves it — sealed by
the next worker that claims it. ``atexit`` closes the Verifier where the interpreter does
exit normally (``spark.python.use.daemon=false``).
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from verifier._errors import ConfigurationError
from verifier.audit import ChainedAuditLog
from verifier.audit._files import lock_directory
from verifier.config import VerifierConfig, build_verifier
from verifier.config._worker_chains import (
    prepare_shared_keys,
    prepare_worker_chain,
    worker_config,
)
from verifier.engine import Verifier

logger = logging.getLogger(__name__)

T = TypeVar("T")

CLAIMS_LOCK_FILE = "worker-claims.lock"
MAX_CHAINS = 4096
"""Chains one audit directory may hold: a bound on the search for a free one."""
CLOSE_SECONDS = 30.0
"""What closing may take: the audit log's last group commit and its shutdown checkpoint."""


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """Which process verified a row, and which audit chain holds its record."""

    worker: str
    """``<host>:<pid>#<n>``: the Python worker process, and the how-manyth Verifier it
    built (1: one per process and configuration, built once and kept)."""
    audit_chain: str
    """The chain's directory on that host."""

    def cells(self) -> tuple[str, str]:
        return self.worker, self.audit_chain


class WorkerVerifier:
    """One Verifier on its own event loop thread, writing its own audit chain."""

    def __init__(self, config: VerifierConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="verifier-spark-loop", daemon=True
        )
        self._thread.start()
        self._closed = False
        try:
            self.chain, self.engine = self._claim(config)
        except BaseException:
            self._stop_loop()
            raise
        global _built
        _built += 1
        where = f"{socket.gethostname()}:{os.getpid()}#{_built}"
        self.identity = WorkerIdentity(where, str(self.chain))
        logger.info("verifier built in worker %s, auditing into %s", *self.identity.cells())

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the Verifier's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def seal(self) -> None:
        """End the chain with a shutdown checkpoint, keeping it open (see the module)."""
        audit = self.engine.audit
        if isinstance(audit, ChainedAuditLog):
            self.run(audit.seal())

    def close(self) -> None:
        """Close the Verifier (the chain's shutdown checkpoint), then the loop."""
        if self._closed:
            return
        self._closed = True
        try:
            future = asyncio.run_coroutine_threadsafe(self.engine.aclose(), self._loop)
            future.result(timeout=CLOSE_SECONDS)
        finally:
            self._stop_loop()

    def _claim(self, config: VerifierConfig) -> tuple[Path, Verifier]:
        parent = config.audit_directory()
        with _claims_lock(parent):
            prepare_shared_keys(config)
            for slot in range(1, MAX_CHAINS + 1):
                directory = prepare_worker_chain(config, slot)
                if not _free(directory):
                    continue
                # Built under the claims lock: the audit log holds its chain's lock from here.
                return directory, self.run(_started(worker_config(config, slot)))
        raise ConfigurationError(f"{parent}: all {MAX_CHAINS} worker audit chains are in use")

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=CLOSE_SECONDS)


async def _started(config: VerifierConfig) -> Verifier:
    engine = build_verifier(config)
    await engine.start()
    return engine


def _free(directory: Path) -> bool:
    """Whether no live process writes the chain in ``directory``."""
    try:
        fd = lock_directory(directory)
    except ConfigurationError:
        return False
    if fd >= 0:
        os.close(fd)
    return True


@contextmanager
def _claims_lock(parent: Path) -> Iterator[None]:
    parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(parent / CLAIMS_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


_verifiers: dict[str, WorkerVerifier] = {}
_built = 0
"""Verifiers this process built (``WorkerIdentity.worker``)."""
_lock = threading.Lock()


def worker_verifier(key: str, config: Callable[[], VerifierConfig]) -> WorkerVerifier:
    """This process's Verifier for the configuration ``key`` names, built on first use
    from ``config`` (a callable giving the ``VerifierConfig``)."""
    with _lock:
        found = _verifiers.get(key)
        if found is None:
            found = _verifiers[key] = WorkerVerifier(config())
        _close_on_exit()
        return found


def close_worker_verifiers() -> None:
    """Close every Verifier of this process (its audit chain sealed)."""
    with _lock:
        verifiers = list(_verifiers.values())
        _verifiers.clear()
    for verifier in verifiers:
        try:
            verifier.close()
        except Exception:
            logger.exception("verifier of %s did not close cleanly", verifier.identity.worker)


_registered = False


def _close_on_exit() -> None:
    global _registered
    if not _registered:
        atexit.register(close_worker_verifiers)
        _registered = True
