"""Group commit: concurrent verifications' records share one durable write.

Records that arrive while one batch is being made durable go into the next batch, and a batch
waits a few turns of the event loop while records keep arriving (``_gather``), so the store's
sync (an fsync, a database commit) is paid once per batch and the event loop never waits on
it: the batch is written by ``write`` on the store's own single thread, which keeps entries in
order. Every store behind the ``AuditSink`` seam batches this way; what differs is ``write``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from verifier._errors import AuditUnavailable

logger = logging.getLogger("verifier.audit")

Item = TypeVar("Item")

GATHER_TURNS = 4
"""At most how many turns of the event loop a batch waits for more records. Under load a
turn runs many verifications' steps, so each turn is latency every record in the batch
pays: at concurrency 64, 16 turns lost throughput that 4 did not."""


class GroupCommitter(Generic[Item]):
    """Batches records for ``write``, run on ``executor`` (one thread: the store's owner).

    ``write`` makes a batch's records (each the ``Item`` the store keeps: its body's
    canonical JSON, say) durable, in order, or raises."""

    def __init__(
        self, name: str, executor: ThreadPoolExecutor, write: Callable[[list[Item]], None]
    ) -> None:
        self.name = name
        self._executor = executor
        self._write = write
        self._pending: list[tuple[Item, asyncio.Future[None]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._failing = False

    async def commit(self, item: Item) -> None:
        """Return once ``item`` is durable, in a batch with whatever arrived meanwhile."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None:
            self._drainer = asyncio.ensure_future(self._drain())
        await future

    async def run(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the store's thread (a probe, say), its failure refusing nothing."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except Exception as exc:
            raise self.refused(exc, 0) from None
        self.recovered()

    async def drained(self) -> None:
        """Wait for what is pending to be written (or refused)."""
        if self._drainer is not None:
            await self._drainer

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                await self._gather()
                batch, self._pending = self._pending, []
                try:
                    await loop.run_in_executor(
                        self._executor, self._write, [item for item, _ in batch]
                    )
                except Exception as exc:
                    error = self.refused(exc, len(batch))
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                self.recovered()
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._drainer = None

    async def _gather(self) -> None:
        """Let the records about to arrive join the batch: under load verifications finish
        a turn of the event loop apart, and the first one synced alone would cost every
        other its own sync. The loop turns while records keep arriving, at most
        ``GATHER_TURNS`` times; a lone record waits one turn, no timer."""
        for _ in range(GATHER_TURNS):
            arrived = len(self._pending)
            await asyncio.sleep(0)
            if len(self._pending) == arrived:
                return

    def refused(self, exc: Exception, records: int = 1) -> AuditUnavailable:
        """The error that refuses ``records`` answers because ``exc`` kept them from the log."""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if not self._failing:
            # Once per outage, not once per batch: a full disk must not also flood the logs.
            logger.error("audit log %s: write failed (%s); refusing answers", self.name, reason)
            self._failing = True
        logger.debug("audit write failed: %d record(s) refused", records)
        return AuditUnavailable(f"audit write failed: {reason}")

    def recovered(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning("audit log %s: writing again; answers resume", self.name)
