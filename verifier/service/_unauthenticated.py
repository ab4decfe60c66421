"""Unauthenticated calls in the audit log: counted per peer host and minute.

A call with no proven, registered caller names nobody the log could hold responsible, and
anyone can make millions of them; one record each would let a stranger flood the log. So
they are counted: one ``UnauthenticatedRecord`` per peer host per minute, with the number
of attempts per ``AuthFailure`` reason. Memory is bounded whatever the traffic: at most
``MAX_HOSTS_PER_MINUTE`` hosts are counted one by one in a minute, the rest together in
one overflow record, and at most ``MAX_DECLARED_SYSTEMS`` name tags per record.

A minute's records are written once it is over (a timer wakes at the boundary, and the
first attempt of a later minute closes it too) and on graceful shutdown (``aclose``).
A crash loses at most the counts of the minute in progress: these records sit beside
the log's promise (no audit, no answer), not under it, since nothing was answered.
Writing never delays the refusal: it runs in a task of its own, and a record the sink
refuses is logged and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from verifier.audit import AuditSink, Pseudonymiser, UnauthenticatedRecord

logger = logging.getLogger("verifier.service.auth")

MAX_HOSTS_PER_MINUTE = 64
MAX_DECLARED_SYSTEMS = 8
_MAX_HOST_CHARS = 64
_MINUTE = timedelta(minutes=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def peer_host(peer: str) -> str:
    """The host of a grpc peer string, without the port: ``ipv4:10.0.0.7:51234`` →
    ``10.0.0.7``, ``ipv6:[::1]:51234`` → ``::1`` (grpc may percent-encode the brackets)."""
    kind, _, address = unquote(peer).partition(":")
    if kind not in ("ipv4", "ipv6"):
        return peer[:_MAX_HOST_CHARS] or "unknown"
    return (address.rpartition(":")[0].strip("[]") or address)[:_MAX_HOST_CHARS]


@dataclass
class _Tally:
    attempts: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    systems: dict[str, None] = field(default_factory=dict)

    def add(self, reason: str, tag: str | None) -> None:
        self.attempts += 1
        self.reasons[reason] += 1
        if tag is not None and len(self.systems) < MAX_DECLARED_SYSTEMS:
            self.systems[tag] = None

    def record(self, minute: datetime, host: str | None, key: str) -> UnauthenticatedRecord:
        return UnauthenticatedRecord(
            time=minute,
            peer_host=host,
            attempts=self.attempts,
            reasons=dict(sorted(self.reasons.items())),
            declared_systems=tuple(self.systems),
            pseudonym_key_fingerprint=key,
        )


class UnauthenticatedAttempts:
    """Counts refused calls (``note``) and writes them, per host and minute, to ``sink``."""

    def __init__(
        self,
        sink: AuditSink,
        pseudonymiser: Pseudonymiser,
        *,
        clock: Callable[[], datetime] = _utc_now,
        max_hosts: int = MAX_HOSTS_PER_MINUTE,
    ) -> None:
        self._sink = sink
        self._pseudonymiser = pseudonymiser
        self._clock = clock
        self._max_hosts = max_hosts
        self._minute: datetime | None = None
        self._hosts: dict[str, _Tally] = {}
        self._overflow = _Tally()
        self._due: list[UnauthenticatedRecord] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def note(self, peer: str, reason: str, declared_system: str | None = None) -> None:
        """Count one refused call from ``peer`` (grpc's peer string). ``declared_system``:
        the unregistered name a request declared, kept only as a keyed tag."""
        minute = self._clock().replace(second=0, microsecond=0)
        if self._minute is not None and minute != self._minute:
            self._close_minute()
        self._minute = minute
        host = peer_host(peer)
        tally = self._hosts.get(host)
        if tally is None:
            if len(self._hosts) < self._max_hosts:
                tally = self._hosts[host] = _Tally()
            else:
                tally = self._overflow
        tag = None if declared_system is None else self._pseudonymiser.name_tag(declared_system)
        tally.add(reason, tag)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_each_minute())

    async def aclose(self) -> None:
        """Write what has been counted, the minute in progress included (graceful shutdown)."""
        self._close_minute()  # wakes the writer, which then writes everything and ends
        if self._writer is not None and not self._writer.done():
            await self._writer
        await self._write_due()

    def _close_minute(self) -> None:
        minute = self._minute
        if minute is None:
            return
        key = self._pseudonymiser.fingerprint
        self._due.extend(tally.record(minute, host, key) for host, tally in self._hosts.items())
        if self._overflow.attempts:
            self._due.append(self._overflow.record(minute, None, key))
        self._minute, self._hosts, self._overflow = None, {}, _Tally()
        self._wake.set()

    async def _write_each_minute(self) -> None:
        while self._minute is not None or self._due:
            if self._minute is not None:
                remaining = (self._minute + _MINUTE - self._clock()).total_seconds()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(remaining, 0))
                self._wake.clear()
                if self._minute is not None and self._clock() >= self._minute + _MINUTE:
                    self._close_minute()
            await self._write_due()

    async def _write_due(self) -> None:
        while self._due:
            record = self._due.pop(0)
            try:
                await self._sink.append(record)
            except Exception as exc:  # counted attempts must never fail a call
                logger.warning(
                    "unauthenticated attempts from %s (%d) not written to the audit log: %s",
                    record.peer_host or "other hosts",
                    record.attempts,
                    type(exc).__name__,
                )
