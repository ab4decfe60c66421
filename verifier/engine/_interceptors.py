"""The stages of a verification that cross-cutting concerns plug into, as interceptors.

The model is temporal's: an ``Interceptor`` wraps the next link of a chain of
``Stages``; each stage takes one input object and, unless the interceptor decides
otherwise, hands it on with ``self.next.<stage>(input)``. The engine's own work is the
innermost link. Five stages, outermost first:

- ``verify`` — one whole verification, from the resolved item to the durable record and
  the result (or the error): ``Telemetry`` opens the ``verify`` span and counts it;
- ``authorise`` — who may ask: after validation, before any cache or department. The
  catalogue's rules (sharing classes, uses, legal basis, consent) are the innermost link and
  apply whatever is plugged in; ``CallerRights`` adds each calling system's item rights.
- ``fetch`` — the facts of one verification, bound and authorised: the innermost link asks
  the departments (plan, fan-out, judge); ``FactCaching`` serves what it holds and stores
  what comes back.
- ``department`` — one department's call within ``fetch`` (resilience pipeline included),
  judged: ``Telemetry`` makes its ``department`` span current around it (a backend that
  speaks HTTP passes the trace on) and records its latency and UNKNOWN facts;
- ``audited`` — after a record is durable (a verification's or a refusal's):
  ``HighRiskAlerts`` watches callers' behaviour and writes its alerts.

The engine's invariants are not interceptors and cannot be unplugged or reordered: the
application is validated before any stage, access control runs before ``fetch`` (so no
cache can answer a caller who may not ask), and no answer leaves before its record is
durable. Input objects are plain slotted dataclasses: an interceptor that changes one
hands a copy on (``dataclasses.replace``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

from verifier._errors import Refusal
from verifier.access import AccessPolicy
from verifier.access._authorise import caller_refusals
from verifier.audit import AlertRecord, HighRiskMonitor
from verifier.engine._cache import FactCacheStage
from verifier.engine._fanout import CallLedger, DepartmentOutcome
from verifier.engine._planner import DepartmentPlan
from verifier.engine._resilience_call import CallState
from verifier.model import Application, CallerIdentity
from verifier.model._plain import PlainCall, PlainFact, PlainResult
from verifier.rules import BoundFact, ServiceItem

logger = logging.getLogger("verifier.engine")


@dataclass(frozen=True, slots=True)
class VerificationStarted:
    """One verification's identity: its request id, who asks, what."""

    request_id: str
    caller: CallerIdentity
    application: Application


@dataclass(slots=True)
class VerifyInput:
    request_id: str
    caller: CallerIdentity
    application: Application
    item: ServiceItem | None
    """The application's service item; None if no item has its id (the innermost link
    raises ``UnknownServiceItem``: a made-up id must not become a span name or a label)."""
    timeout: float | None
    """The caller's time budget in seconds (None: the verifier's default)."""


@dataclass(slots=True)
class AuthoriseInput:
    item: ServiceItem
    application: Application
    caller: CallerIdentity


@dataclass(slots=True)
class FetchInput:
    facts: list[BoundFact]
    """The facts still to establish (the item's and the registers', bound to subjects)."""
    reference_date: date
    rule_version: str
    deadline: float
    """When the departments' time is up (``loop.time()``)."""
    ledger: CallLedger
    """How far the department calls got, for the record of a cancelled verification."""


@dataclass(slots=True)
class FetchOutput:
    facts: list[PlainFact]
    calls: list[PlainCall]


@dataclass(slots=True)
class DepartmentInput:
    plan: DepartmentPlan
    """The department and the facts asked of it (bound to subjects)."""
    rule_version: str
    deadline: float
    """When the department's time is up (``loop.time()``)."""
    seen: Callable[[CallState], None]
    """Shown the pipeline's state of the call (how many backend calls it made), for the
    ledger of a cancelled verification."""


@dataclass(slots=True)
class AuditedInput:
    """A record made durable: who asked about whom, when; ``refused`` for a refusal."""

    caller_system: str
    subject_pseudonyms: Sequence[str]
    time: datetime
    refused: bool


class Stages:
    """One link of the chain. Subclass it, override the stages you take part in, and call
    ``self.next`` to go on (the base class passes each stage straight on)."""

    def __init__(self, next: Stages) -> None:
        self.next = next

    async def verify(self, input: VerifyInput) -> PlainResult:
        """The result, once its record is durable; or the verification's error."""
        return await self.next.verify(input)

    async def authorise(self, input: AuthoriseInput) -> list[Refusal]:
        """Every reason the application may not be served (empty: it may)."""
        return await self.next.authorise(input)

    async def fetch(self, input: FetchInput) -> FetchOutput:
        """The facts and the department calls that established (or failed to) them."""
        return await self.next.fetch(input)

    async def department(self, input: DepartmentInput) -> DepartmentOutcome:
        """One department's call, its facts judged (``DepartmentOutcome.facts``). Never
        raises but for cancellation: a failing department costs its facts."""
        return await self.next.department(input)

    async def audited(self, input: AuditedInput) -> None:
        """Told once a record is durable; the request is answered whatever this does."""
        await self.next.audited(input)


class Interceptor:
    """Plugs into a verifier's stages (``Verifier(..., interceptors=[...])``): ``intercept``
    is given the next link once, when the verifier is built, and returns its own."""

    def intercept(self, next: Stages) -> Stages:
        return next


def chain(innermost: Stages, interceptors: Sequence[Interceptor]) -> Stages:
    """The links, the first interceptor outermost (it sees every stage first)."""
    link = innermost
    for interceptor in reversed(interceptors):
        link = interceptor.intercept(link)
    return link


class CallerRights(Interceptor):
    """Each calling system may use only the service items its grant names."""

    def __init__(self, policy: AccessPolicy) -> None:
        self.policy = policy

    def intercept(self, next: Stages) -> Stages:
        return _CallerRights(next, self.policy)


class _CallerRights(Stages):
    def __init__(self, next: Stages, policy: AccessPolicy) -> None:
        super().__init__(next)
        self._policy = policy

    async def authorise(self, input: AuthoriseInput) -> list[Refusal]:
        refusals = caller_refusals(input.item, input.caller, self._policy)
        return refusals or await self.next.authorise(input)


class FactCaching(Interceptor):
    """Established facts reused within their freshness (``CachePolicy``), stale ones only
    when their department fails."""

    def __init__(self, stage: FactCacheStage) -> None:
        self.stage = stage

    def intercept(self, next: Stages) -> Stages:
        return _FactCaching(next, self.stage)


class _FactCaching(Stages):
    def __init__(self, next: Stages, stage: FactCacheStage) -> None:
        super().__init__(next)
        self._stage = stage

    async def fetch(self, input: FetchInput) -> FetchOutput:
        stage = self._stage
        cached = await stage.lookup(input.facts, input.reference_date, input.rule_version)
        fetched = await self.next.fetch(replace(input, facts=cached.misses))
        facts, calls = await stage.settle(
            cached, cached.misses, fetched.facts, fetched.calls, input.rule_version
        )
        return FetchOutput(facts, calls)


class AlertWriter(Protocol):
    """Where alerts go: the engine's audit trail (``AuditTrail.write_alerts``)."""

    async def write_alerts(self, alerts: Sequence[AlertRecord]) -> None: ...


class HighRiskAlerts(Interceptor):
    """The high-risk behaviour monitor: its alerts are written to the audit log."""

    def __init__(self, monitor: HighRiskMonitor, writer: AlertWriter) -> None:
        self.monitor = monitor
        self.writer = writer

    def intercept(self, next: Stages) -> Stages:
        return _HighRiskAlerts(next, self.monitor, self.writer)


class _HighRiskAlerts(Stages):
    def __init__(self, next: Stages, monitor: HighRiskMonitor, writer: AlertWriter) -> None:
        super().__init__(next)
        self._monitor = monitor
        self._writer = writer

    async def audited(self, input: AuditedInput) -> None:
        await self.next.audited(input)
        try:
            if input.refused:
                alerts = self._monitor.observe_refusal(input.caller_system, input.time)
            else:
                alerts = self._monitor.observe(
                    input.caller_system, list(input.subject_pseudonyms), input.time
                )
        except Exception as exc:  # the request is audited: its answer must not depend on it
            logger.error("high-risk monitor failed: %s", type(exc).__name__)
            return
        if alerts:
            await self._writer.write_alerts(alerts)
