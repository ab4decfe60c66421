"""The engine's side of the audit seam: every record it writes goes through here.

No audit, no answer: ``append`` raises ``AuditUnavailable`` for any sink failure, and the
sink's state (``AuditHealth``) follows each outcome so health can say the service cannot
answer. The record of a cancelled verification is written shielded from the cancellation
(``append_despite_cancellation``); closing waits for such writes, for a bounded time.
Alerts are written after their verification is audited, so their failure is logged and
counted, never the caller's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from verifier._errors import AuditUnavailable
from verifier.audit import (
    AlertRecord,
    AuditRecord,
    AuditSink,
    EncodedRecord,
    RefusalRecord,
)
from verifier.engine._audit_health import AuditHealth, AuditWatcher
from verifier.engine._telemetry import EngineTelemetry

logger = logging.getLogger("verifier.engine")

LATE_WRITE_GRACE_SECONDS = 5.0
"""How long closing waits for the records of cancelled verifications still being written."""


class AuditTrail:
    """Writes the engine's records to ``sink``, and knows whether the sink is writing."""

    def __init__(self, sink: AuditSink, telemetry: EngineTelemetry) -> None:
        self.sink = sink
        self._telemetry = telemetry
        self.health = AuditHealth()
        self._late_writes: set[asyncio.Future[None]] = set()

    def watch(self, watcher: AuditWatcher) -> Callable[[], None]:
        return self.health.watch(watcher)

    async def probe(self) -> bool:
        """Ask the sink whether it could write now (``AuditSink.probe``, which writes no
        record); updates and returns ``health.writable``."""
        try:
            await self.sink.probe()
        except Exception:  # the sink's own log says why; health only needs the outcome
            self.health.observed(False)
        else:
            self.health.observed(True)
        return self.health.writable

    async def append(self, record: AuditRecord | AlertRecord | RefusalRecord) -> None:
        await self._written(self.sink.append(record))

    async def append_encoded(self, record: EncodedRecord) -> None:
        """``append`` for a verification's record as ``encode_verification`` gives it."""
        await self._written(self.sink.append_encoded(record))

    async def _written(self, write: Awaitable[None]) -> None:
        try:
            with self._telemetry.audit_commit():
                await write
        except AuditUnavailable:
            self.health.observed(False)
            raise
        except Exception as exc:  # any sink failure means no durable record: no answer
            self.health.observed(False)
            raise AuditUnavailable(f"audit sink failed: {type(exc).__name__}") from None
        self.health.observed(True)

    async def append_despite_cancellation(self, record: AuditRecord) -> None:
        """Write the record of a cancelled verification, shielded from the cancellation:
        cancelled again meanwhile, the caller stops waiting but the write goes on, and
        ``aclose`` waits for it."""
        write = asyncio.ensure_future(self._append_logged(record))
        self._late_writes.add(write)
        write.add_done_callback(self._late_writes.discard)
        await asyncio.shield(write)

    async def _append_logged(self, record: AuditRecord) -> None:
        try:
            await self.append(record)
        except AuditUnavailable as exc:
            # Nobody is waiting for an answer: the failure is the operator's to see.
            logger.error("record of cancelled request %s not written: %s", record.request_id, exc)

    async def write_alerts(self, alerts: Sequence[AlertRecord]) -> None:
        """Write alerts (``HighRiskAlerts``'). The request is already audited, so a failure
        here is logged and counted, never the caller's."""
        for alert in alerts:
            self._telemetry.alert_raised(alert)
            try:
                await self.sink.append(alert)
            except Exception as exc:
                logger.error(
                    "alert %s about caller %s was not written: %s",
                    alert.rule,
                    alert.caller_system,
                    type(exc).__name__,
                )
                self._telemetry.alert_unwritten(alert)

    async def aclose(self) -> None:
        if self._late_writes:
            # A sink that hangs must not hold the shutdown: what is not written by then is
            # left to the sink's own close, which flushes what it holds.
            await asyncio.wait(self._late_writes, timeout=LATE_WRITE_GRACE_SECONDS)
        await self.sink.aclose()
