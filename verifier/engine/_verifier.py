"""The verification engine: validate → plan → fan out → derive → evaluate → audit → answer.

Between derive and evaluate, a "nothing held" answer about a subject no register holds is
re-judged UNKNOWN (``_register``)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from verifier._errors import (
    AccessDenied,
    CatalogueError,
    InvalidApplication,
    Refusal,
    UnknownServiceItem,
)
from verifier.access import AccessPolicy
from verifier.access._authorise import catalogue_refusals
from verifier.adapter import DepartmentAdapter
from verifier.audit import (
    AuditSink,
    EncodedRecord,
    HighRiskMonitor,
    Pseudonymiser,
    cancelled_record_for,
    encode_verification,
    refusal_record_for,
)
from verifier.catalogue import Catalogue
from verifier.engine._audit_health import AuditWatcher
from verifier.engine._audit_trail import AuditTrail
from verifier.engine._bulk import DEFAULT_BATCH_SIZE, BulkOutcome, BulkRun
from verifier.engine._cache import CachePolicy, FactCacheStage
from verifier.engine._compiled import CompiledItem, CompiledItems
from verifier.engine._facts import judged
from verifier.engine._fanout import CallLedger, DepartmentOutcome, call_departments, guarded_call
from verifier.engine._interceptors import (
    AuditedInput,
    AuthoriseInput,
    CallerRights,
    DepartmentInput,
    FactCaching,
    FetchInput,
    FetchOutput,
    HighRiskAlerts,
    Interceptor,
    Stages,
    VerificationStarted,
    VerifyInput,
    chain,
)
from verifier.engine._planner import DepartmentPlan, plan_departments
from verifier.engine._register import register_checks
from verifier.engine._resilience import Resilience
from verifier.engine._resilience_call import CallState
from verifier.engine._resilience_policy import ResiliencePolicy
from verifier.engine._telemetry import EngineTelemetry, TelemetryProviders, current_trace_id
from verifier.engine._telemetry_stages import Telemetry
from verifier.model import (
    EMBEDDED_CALLER,
    Application,
    CallerIdentity,
    FactStatus,
    VerificationResult,
)
from verifier.model._plain import PlainCall, PlainFact, PlainResult
from verifier.rules import ItemRegistry

logger = logging.getLogger("verifier.engine")

DEFAULT_TIMEOUT_SECONDS = 2.0
# Part of every deadline is kept back from the departments for evaluating the rule and
# making the audit record durable, so the answer still goes out in time.
MIN_RESERVE_SECONDS = 0.01
MAX_RESERVE_SECONDS = 0.1
RESERVE_FRACTION = 0.2

# Reference dates default to the service hall's calendar day, not UTC's.
SERVICE_TIMEZONE = ZoneInfo("Asia/Shanghai")


def audit_reserve(budget: float) -> float:
    """The part of a ``budget`` (seconds) kept back from the departments for the rule and
    the audit record: single verifications and bulk batches alike."""
    return min(MAX_RESERVE_SECONDS, max(MIN_RESERVE_SECONDS, budget * RESERVE_FRACTION))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _local_today() -> date:
    return datetime.now(SERVICE_TIMEZONE).date()


class Verifier:
    """Verifies applications against the departments the catalogue names.

    Use as ``async with Verifier(...) as verifier: await verifier.verify(application)``.
    """

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        items: ItemRegistry,
        adapters: Mapping[str, DepartmentAdapter],
        audit: AuditSink,
        pseudonymiser: Pseudonymiser,
        default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] = _utc_now,
        today: Callable[[], date] = _local_today,
        telemetry: TelemetryProviders | None = None,
        alerts: HighRiskMonitor | None = None,
        cache: CachePolicy | None = None,
        resilience: ResiliencePolicy | None = None,
        access: AccessPolicy | None = None,
        interceptors: Sequence[Interceptor] = (),
    ) -> None:
        """``telemetry``: where spans and metrics go (default: the OpenTelemetry API's global
        providers); the Verifier shuts it down when it closes. ``alerts``: the high-risk
        behaviour monitor whose alerts are written to ``audit`` (default: none). ``cache``:
        reuse established facts within their freshness (default: none, every fact is
        fetched); its in-process store runs on ``clock``. ``access``: the service items
        each calling system may use (default: callers are not restricted to items — for an
        embedding that authorises callers itself); the catalogue's sharing classes,
        purposes and consent are enforced either way.

        ``access``, ``cache`` and ``alerts`` are interceptors (``_interceptors``): they plug
        into the verification's stages as ``CallerRights``, ``FactCaching`` and
        ``HighRiskAlerts``, outside ``interceptors`` (an embedder's own, outermost first),
        which see each stage after them."""
        for department, adapter in adapters.items():
            if department not in catalogue.departments:
                raise CatalogueError(f"adapter for unknown department {department!r}")
            if adapter.department != department:
                raise CatalogueError(
                    f"adapter for {adapter.department!r} configured as {department!r}"
                )
        self.catalogue = catalogue
        self.items = items
        self.adapters = dict(adapters)
        self._pseudonymiser = pseudonymiser
        self.default_timeout = default_timeout
        self._clock = clock
        self._today = today
        self._compiled = CompiledItems(catalogue)
        self._providers = telemetry
        self._telemetry = EngineTelemetry(telemetry, pseudonymiser.pseudonym)
        self._trail = AuditTrail(audit, self._telemetry)
        self.access = access
        self._cache = (
            FactCacheStage(cache, clock, self._telemetry.cache_looked_up)
            if cache is not None
            else None
        )
        # Telemetry outermost: its ``verify`` span holds everything the others do.
        plugged: list[Interceptor] = [Telemetry(self._telemetry)]
        if access is not None:
            plugged.append(CallerRights(access))
        if self._cache is not None:
            plugged.append(FactCaching(self._cache))
        if alerts is not None:
            plugged.append(HighRiskAlerts(alerts, self._trail))
        self._stages = chain(_EngineStages(self), [*plugged, *interceptors])
        # Department calls go through retries, breakers, bulkheads and coalescing only if
        # ``resilience`` is given (build_verifier gives it unless configured off); else
        # one call each — through the same pipeline, with every part disabled.
        self._resilience = Resilience(
            resilience or ResiliencePolicy.disabled(),
            self.adapters,
            meter_provider=telemetry.meter_provider if telemetry is not None else None,
        )

    @property
    def audit(self) -> AuditSink:
        """Where every record goes. Replaceable (an embedder capturing records, a benchmark
        timing the engine without the disk): the engine's audit trail follows."""
        return self._trail.sink

    @audit.setter
    def audit(self, sink: AuditSink) -> None:
        self._trail.sink = sink

    @property
    def pseudonymiser(self) -> Pseudonymiser:
        """The keyed hash subjects are recorded under (the server tags unregistered
        callers' names with it too)."""
        return self._pseudonymiser

    def breaker_states(self) -> dict[str, str]:
        """Each department's circuit: ``closed``, ``open`` or ``half_open`` (always
        ``closed`` without a resilience policy), for health details."""
        return self._resilience.breaker_states()

    def watch_breakers(self, watcher: Callable[[str, str], None]) -> Callable[[], None]:
        """Call ``watcher(department, state)`` on every circuit-breaker transition until
        the returned function is called (for health details); a verifier without a
        resilience policy has no breaker that trips, and the watcher is never called."""
        return self._resilience.watch_breakers(watcher)

    @property
    def audit_writable(self) -> bool:
        """Whether the audit sink's last write (or probe) succeeded: while it is False
        every verification is refused (no audit, no answer)."""
        return self._trail.health.writable

    def watch_audit(self, watcher: AuditWatcher) -> Callable[[], None]:
        """Call ``watcher(writable)`` each time ``audit_writable`` changes, until the
        returned function is called (for health)."""
        return self._trail.watch(watcher)

    async def probe_audit(self) -> bool:
        """Ask the audit sink whether it could write now (``AuditSink.probe``, which writes
        no record); updates and returns ``audit_writable``."""
        return await self._trail.probe()

    async def start(self) -> None:
        await asyncio.gather(*(adapter.start() for adapter in self.adapters.values()))

    async def aclose(self) -> None:
        await asyncio.gather(
            *(adapter.aclose() for adapter in self.adapters.values()), return_exceptions=True
        )
        await self._trail.aclose()
        if self._cache is not None:
            await self._cache.aclose()
        if self._providers is not None:
            # Flushing can wait on a collector: not on the event loop.
            await asyncio.to_thread(self._providers.shutdown)

    async def __aenter__(self) -> Verifier:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def verify(
        self,
        application: Application,
        *,
        caller: CallerIdentity | None = None,
        timeout: float | None = None,
    ) -> VerificationResult:
        """Verify one application.

        Raises ``InvalidApplication`` (before any department is called) for bad input,
        ``AccessDenied`` (audited, before any department or cache is consulted) when the
        caller's rights or the catalogue forbid it, and ``AuditUnavailable`` if the audit
        record cannot be made durable. A department that fails or does not answer in time
        costs its facts (UNKNOWN), never the request.
        """
        return (await self.decide(application, caller=caller, timeout=timeout)).public()

    async def decide(
        self,
        application: Application,
        *,
        caller: CallerIdentity | None = None,
        timeout: float | None = None,
    ) -> PlainResult:
        """``verify``, answering with the engine's plain result (``verifier.model._plain``)
        rather than the public models: for edges that encode the result themselves (the gRPC
        service builds its response straight from it) and pay for no model they discard."""
        item = self.items.find(application.service_item)
        request_id = uuid.uuid4().hex
        verify = VerifyInput(request_id, caller or EMBEDDED_CALLER, application, item, timeout)
        return await self._stages.verify(verify)

    def decide_many(
        self,
        applications: Iterable[Application] | AsyncIterable[Application],
        *,
        caller: CallerIdentity | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float | None = None,
    ) -> AsyncIterator[BulkOutcome[PlainResult]]:
        """Verify a caseload: each application's outcome (its plain result, or the
        ``InvalidApplication`` / ``AccessDenied`` it alone got), in input order, each once
        its audit record is durable. The departments are read in batches of
        ``batch_size`` (one ``fetch_many`` per department per batch, ``timeout`` per
        batch); the input is read lazily (``verifier.engine._bulk``)."""
        run = BulkRun(self, caller or EMBEDDED_CALLER, batch_size, timeout)
        return run.outcomes(applications)

    async def verify_many(
        self,
        applications: Iterable[Application] | AsyncIterable[Application],
        *,
        caller: CallerIdentity | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float | None = None,
    ) -> AsyncIterator[BulkOutcome[VerificationResult]]:
        """``decide_many`` with each result as the public models ``verify`` returns."""
        outcomes = self.decide_many(
            applications, caller=caller, batch_size=batch_size, timeout=timeout
        )
        async for outcome in outcomes:
            result = outcome.result.public() if outcome.result is not None else None
            yield BulkOutcome(outcome.index, outcome.application, result, outcome.error)

    async def _verify(self, input: VerifyInput) -> PlainResult:
        """The innermost ``verify``: validate, authorise, fetch, decide, audit."""
        begun = time.perf_counter()
        loop = asyncio.get_running_loop()
        budget = self.default_timeout if input.timeout is None else input.timeout
        reserve = audit_reserve(budget)
        department_deadline = loop.time() + budget - reserve

        application = input.application
        if input.item is None:
            raise UnknownServiceItem(application.service_item)
        item = input.item
        started = VerificationStarted(input.request_id, input.caller, application)
        violations = item.validate_application(application)
        if violations:
            raise InvalidApplication(violations)
        refusals = await self._stages.authorise(AuthoriseInput(item, application, started.caller))
        if refusals:
            await self._refuse(started, item.version, refusals)
        reference_date = application.reference_date or self._today()
        compiled = self._compiled.get(item, reference_date)
        # The register facts ride in the department calls: a "no" needs them (_register).
        checks = register_checks(compiled.bind(application), application, self.catalogue)
        # Fetching comes only after validation and authorisation: no stage (a cache) may
        # answer a caller who may not see the facts.
        ledger = CallLedger()
        fetch = FetchInput(
            checks.bound, reference_date, compiled.rule_version, department_deadline, ledger
        )
        try:
            fetched = await self._stages.fetch(fetch)
        except asyncio.CancelledError:
            if ledger.asked:
                record = cancelled_record_for(
                    started.request_id,
                    application,
                    item.version,
                    reference_date,
                    started.caller,
                    ledger.calls(),
                    self._pseudonymiser,
                    self._clock(),
                    round((time.perf_counter() - begun) * 1000, 3),
                    trace_id=current_trace_id(),
                )
                await self._trail.append_despite_cancellation(record)
            raise
        facts = checks.rejudge(fetched.facts, self.catalogue)
        result = self._result(
            started.request_id, compiled, application, facts, fetched.calls, begun
        )
        audited = await self._audit(
            result, compiled, application, started.caller, current_trace_id()
        )
        await self._stages.audited(
            AuditedInput(audited.caller_system, audited.subject_pseudonyms, audited.time, False)
        )
        return result

    async def _fetch(self, input: FetchInput) -> FetchOutput:
        """The innermost ``fetch``: plan, ask the departments, judge their answers."""
        stages, rule_version, deadline = self._stages, input.rule_version, input.deadline

        def call(
            plan: DepartmentPlan, seen: Callable[[CallState], None]
        ) -> Coroutine[Any, Any, DepartmentOutcome]:
            return stages.department(DepartmentInput(plan, rule_version, deadline, seen))

        outcomes = await call_departments(
            plan_departments(input.facts, input.reference_date),
            self.adapters,
            deadline,
            call,
            self._resilience.answers_inline,
            input.ledger,
        )
        facts, calls = self._judge(outcomes, rule_version)
        return FetchOutput(facts, calls)

    async def _department(self, input: DepartmentInput) -> DepartmentOutcome:
        """The innermost ``department``: the call through the resilience pipeline, judged."""
        plan = input.plan
        outcome = await guarded_call(
            self._resilience, self.adapters[plan.department], plan, input.deadline, input.seen
        )
        return judged(outcome, self._clock(), input.rule_version)

    async def _refuse(
        self,
        started: VerificationStarted,
        item_version: str,
        refusals: list[Refusal],
    ) -> None:
        """Audit the refusal, then raise it: every refusal leaves a record, like every
        disclosure (no audit, no answer — not even a "no")."""
        record = refusal_record_for(
            started.request_id,
            started.application,
            item_version,
            started.caller,
            refusals,
            self._pseudonymiser,
            self._clock(),
            trace_id=current_trace_id(),
        )
        await self._trail.append(record)
        await self._stages.audited(AuditedInput(record.caller_system, (), record.time, True))
        raise AccessDenied(refusals)

    def _judge(
        self, outcomes: Sequence[DepartmentOutcome], rule_version: str
    ) -> tuple[list[PlainFact], list[PlainCall]]:
        """The facts and the calls as finally judged (a malformed answer fails its call):
        those the ``department`` stage judged as they are, the others (not asked, or given up
        on by the fan-out's backstop, or read in a batch) judged now."""
        retrieved_at = self._clock()
        facts: list[PlainFact] = []
        calls: list[PlainCall] = []
        for outcome in outcomes:
            final = judged(outcome, retrieved_at, rule_version)
            facts.extend(final.facts or ())
            calls.append(final.call())
        return facts, calls

    def _result(
        self,
        request_id: str,
        compiled: CompiledItem,
        application: Application,
        facts: list[PlainFact],
        calls: list[PlainCall],
        started: float,
    ) -> PlainResult:
        order = compiled.order
        last = len(order)
        facts.sort(key=lambda fact: order.get(fact.name, last))
        values = {fact.name: fact.value for fact in facts}
        decision = compiled.rule.evaluate(
            values, {subject.role for subject in application.subjects}
        )
        item = compiled.item
        return PlainResult(
            request_id,
            item.id,
            item.version,
            compiled.reference_date,
            tuple(facts),
            decision,
            self._documents_replaced(facts, compiled),
            tuple(calls),
            round((time.perf_counter() - started) * 1000, 3),
        )

    def _documents_replaced(
        self, facts: list[PlainFact], compiled: CompiledItem
    ) -> tuple[str, ...]:
        documents: dict[str, None] = {}
        for fact in facts:
            if fact.status is not FactStatus.KNOWN:
                continue
            document = compiled.documents.get(fact.fact)
            if document is None:  # a register fact the engine added
                document = self.catalogue.facts[fact.fact].replaces_document
            if document:
                documents[document] = None
        return tuple(documents)

    async def _audit(
        self,
        result: PlainResult,
        compiled: CompiledItem,
        application: Application,
        caller: CallerIdentity,
        trace_id: str | None,
    ) -> EncodedRecord:
        # Straight to the log's JSON: no AuditRecord model is built on the way.
        record = encode_verification(
            result,
            application,
            caller,
            self.catalogue,
            self._pseudonymiser,
            self._clock(),
            trace_id=trace_id,
            thresholds=compiled.rule.thresholds,
        )
        await self._trail.append_encoded(record)
        return record


class _EngineStages(Stages):
    """The innermost link: the catalogue's access rules, the departments, nothing more."""

    def __init__(self, engine: Verifier) -> None:
        self._engine = engine

    async def verify(self, input: VerifyInput) -> PlainResult:
        return await self._engine._verify(input)

    async def authorise(self, input: AuthoriseInput) -> list[Refusal]:
        return catalogue_refusals(input.item, input.application, self._engine.catalogue)

    async def fetch(self, input: FetchInput) -> FetchOutput:
        return await self._engine._fetch(input)

    async def department(self, input: DepartmentInput) -> DepartmentOutcome:
        return await self._engine._department(input)

    async def audited(self, input: AuditedInput) -> None:
        return None
