"""Bulk re-verification: a caseload streamed through the engine in batches.

Each application goes through what ``Verifier.decide`` does — validation, authorisation
(a refusal audited), binding through the compiled item, the register checks, judging, the
re-judging of a "nothing held", the compiled rule, one audit record durable before its
outcome is given — but the department reads are batched: the bound facts of a whole batch
are grouped per department and each department gets ONE ``fetch_many`` call per batch,
through the department's circuit breaker, bulkhead and retries, under one deadline per
batch. A failed batch call makes that department's facts UNKNOWN for every application of
the batch, with the reasons a failed single call gives.

What differs from the single path, and why:

- the ``authorise`` and ``audited`` stages (``_interceptors``: caller rights, high-risk
  alerts, an embedder's own) run per application as on the single path, but not ``fetch``:
  its interceptors see one verification's facts, and a batch read is many verifications'.
  So no fact cache either: a re-check exists to see what changed since, and a caseload
  would evict the service hall's working set from it;
- no hedging and no coalescing of batch calls (a batch is never identical to another, and
  racing a second batch read doubles the load a re-check puts on a department); the
  batch calls share the breaker, bulkhead, retry budget of single calls;
- no ``verify`` span per application (one per application would nest in one task); the
  department metrics are recorded per application as for single calls.

Memory stays bounded whatever the caseload size: the input is read lazily, a batch at a
time, with at most ``max_in_flight`` batches being verified; outcomes come out in input
order, each either its result or the error of that application alone.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
import uuid
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from verifier._errors import AccessDenied, InvalidApplication
from verifier.adapter import DepartmentAnswer
from verifier.audit import cancelled_record_for
from verifier.engine._bulk_calls import BatchAnswer, BatchFetch, for_plan
from verifier.engine._compiled import CompiledItem
from verifier.engine._fanout import DepartmentOutcome
from verifier.engine._interceptors import AuditedInput, AuthoriseInput, VerificationStarted
from verifier.engine._planner import DepartmentPlan, plan_departments
from verifier.engine._register import RegisterChecks, register_checks
from verifier.engine._resilience import DepartmentGuard
from verifier.engine._resilience_call import CallState
from verifier.engine._resilience_policy import HedgingPolicy
from verifier.model import Application, CallerIdentity, CallOutcome, UnknownReason
from verifier.model._plain import PlainCall, PlainResult

if TYPE_CHECKING:
    from verifier.engine._verifier import Verifier

R = TypeVar("R")

DEFAULT_BATCH_SIZE = 500
"""Applications per batch: one department read per batch, one group of audit appends."""
MAX_IN_FLIGHT = 3
"""Batches verified at once: one reading its departments while the next is bound and the
previous one's records are made durable."""


@dataclass(frozen=True, slots=True)
class BulkOutcome(Generic[R]):
    """One application's outcome in a bulk run: its result, or the error it alone got."""

    index: int
    """The application's position in the input (0-based)."""
    application: Application
    result: R | None = None
    error: InvalidApplication | AccessDenied | None = None
    """Why there is no result: bad input (reached no department), or refused (audited)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class _Prepared:
    """A valid, authorised application of a batch, bound and planned."""

    index: int
    started: VerificationStarted
    compiled: CompiledItem
    checks: RegisterChecks
    plans: list[DepartmentPlan]


class BulkRun:
    """One caseload run of ``verifier`` for one caller (``Verifier.decide_many``)."""

    def __init__(
        self,
        verifier: Verifier,
        caller: CallerIdentity,
        batch_size: int,
        timeout: float | None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        if batch_size < 1 or max_in_flight < 1:
            raise ValueError("batch_size and max_in_flight must be at least 1")
        self._verifier = verifier
        self._caller = caller
        self._batch_size = batch_size
        self._timeout = verifier.default_timeout if timeout is None else timeout
        self._max_in_flight = max_in_flight
        self._guards: dict[str, DepartmentGuard] = {}

    async def outcomes(
        self, applications: Iterable[Application] | AsyncIterable[Application]
    ) -> AsyncIterator[BulkOutcome[PlainResult]]:
        pending: deque[asyncio.Task[list[BulkOutcome[PlainResult]]]] = deque()
        first = 0
        try:
            async for batch in _batches(applications, self._batch_size):
                pending.append(asyncio.ensure_future(self._batch(batch, first)))
                first += len(batch)
                while len(pending) >= self._max_in_flight:
                    for outcome in await pending.popleft():
                        yield outcome
            while pending:
                for outcome in await pending.popleft():
                    yield outcome
        finally:
            # The consumer stopped early (or failed): nothing may go on running unseen.
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _batch(
        self, applications: list[Application], first: int
    ) -> list[BulkOutcome[PlainResult]]:
        begun = time.perf_counter()
        loop = asyncio.get_running_loop()
        # Imported here: _verifier imports this module (its verify_many is built on it).
        from verifier.engine._verifier import audit_reserve

        reserve = audit_reserve(self._timeout)
        deadline = loop.time() + self._timeout - reserve
        outcomes: list[BulkOutcome[PlainResult] | None] = [None] * len(applications)
        prepared = await self._prepare(applications, first, outcomes)
        by_department: dict[str, list[tuple[int, int, DepartmentPlan]]] = {}
        for position, entry in enumerate(prepared):
            for plan_index, plan in enumerate(entry.plans):
                by_department.setdefault(plan.department, []).append((position, plan_index, plan))
        try:
            answered = await asyncio.gather(
                *(
                    self._department(department, plans, deadline)
                    for department, plans in by_department.items()
                )
            )
        except asyncio.CancelledError:
            await self._record_cancelled(prepared, by_department, begun)
            raise
        per_application: list[dict[int, DepartmentOutcome]] = [{} for _ in prepared]
        for department_outcomes in answered:
            for position, plan_index, outcome in department_outcomes:
                per_application[position][plan_index] = outcome
        results = [
            self._decided(entry, per_application[position], begun)
            for position, entry in enumerate(prepared)
        ]
        await self._audit(results, prepared)
        for entry, result in zip(prepared, results, strict=True):
            outcomes[entry.index - first] = BulkOutcome(
                entry.index, entry.started.application, result
            )
        return [outcome for outcome in outcomes if outcome is not None]

    async def _prepare(
        self,
        applications: list[Application],
        first: int,
        outcomes: list[BulkOutcome[PlainResult] | None],
    ) -> list[_Prepared]:
        """Validate, authorise, bind and plan each application; the bad and the refused get
        their outcome now (the refused once their refusal is audited)."""
        verifier = self._verifier
        prepared: list[_Prepared] = []
        refusals = []
        for offset, application in enumerate(applications):
            index = first + offset
            started = VerificationStarted(uuid.uuid4().hex, self._caller, application)
            try:
                item = verifier.items.get(application.service_item)
                violations = item.validate_application(application)
                if violations:
                    raise InvalidApplication(violations)
                refused = await verifier._stages.authorise(
                    AuthoriseInput(item, application, self._caller)
                )
                if refused:
                    refusals.append((index, verifier._refuse(started, item.version, refused)))
                    continue
                reference_date = application.reference_date or verifier._today()
                compiled = verifier._compiled.get(item, reference_date)
                checks = register_checks(
                    compiled.bind(application), application, verifier.catalogue
                )
            except InvalidApplication as error:
                outcomes[offset] = BulkOutcome(index, application, error=error)
                continue
            plans = plan_departments(checks.bound, reference_date)
            prepared.append(_Prepared(index, started, compiled, checks, plans))
        # Written together, so that the records of a run of refusals share their syncs.
        audited = await asyncio.gather(
            *(refusal for _, refusal in refusals), return_exceptions=True
        )
        for (index, _), refused_with in zip(refusals, audited, strict=True):
            if isinstance(refused_with, AccessDenied):  # audited, then raised (``_refuse``)
                outcomes[index - first] = BulkOutcome(
                    index, applications[index - first], error=refused_with
                )
            elif isinstance(refused_with, BaseException):  # the refusal was not audited
                raise refused_with
        return prepared

    async def _department(
        self, department: str, plans: list[tuple[int, int, DepartmentPlan]], deadline: float
    ) -> list[tuple[int, int, DepartmentOutcome]]:
        """One ``fetch_many`` call for every plan of the batch to ``department``: each
        plan's outcome as (application position, plan index, outcome)."""
        adapter = self._verifier.adapters.get(department)
        started = time.perf_counter()
        shared: DepartmentOutcome | None = None
        answers: list[DepartmentAnswer] = []
        if adapter is None:
            shared = DepartmentOutcome(plans[0][2], CallOutcome.NO_ADAPTER, 0.0, attempts=0)
        else:
            guard = self._guard(department)
            fetch = BatchFetch(adapter, [plan.query for _, _, plan in plans])
            end = deadline - guard.policy.deadline_margin_ms / 1000
            try:
                # The guard times out a call that suspends; this is the backstop.
                async with asyncio.timeout_at(deadline):
                    report = await guard.run(fetch, plans[0][2].query, CallState(end))
            except TimeoutError:
                shared = DepartmentOutcome(
                    plans[0][2], CallOutcome.TIMEOUT, (time.perf_counter() - started) * 1000
                )
            else:
                duration_ms = (time.perf_counter() - started) * 1000
                if isinstance(report.answer, BatchAnswer):
                    answers = report.answer.answers
                shared = DepartmentOutcome(
                    plans[0][2],
                    report.outcome,
                    duration_ms,
                    unknown_reason=(
                        UnknownReason.DEPARTMENT_UNAVAILABLE if report.unavailable else None
                    ),
                    attempts=report.attempts,
                    error_type=report.error_type,
                    ended_ns=time.time_ns(),
                )
        return [
            (position, plan_index, for_plan(shared, plan, answers[offset] if answers else None))
            for offset, (position, plan_index, plan) in enumerate(plans)
        ]

    def _guard(self, department: str) -> DepartmentGuard:
        """The department's guard as batch calls use it: the same breaker, bulkhead, retry
        budget and latency record as single calls, without hedging (see the module)."""
        guard = self._guards.get(department)
        if guard is None:
            guard = copy.copy(self._verifier._resilience.guards[department])
            guard.policy = guard.policy.model_copy(update={"hedging": HedgingPolicy()})
            self._guards[department] = guard
        return guard

    def _decided(
        self, entry: _Prepared, outcomes: dict[int, DepartmentOutcome], begun: float
    ) -> PlainResult:
        verifier = self._verifier
        ordered = [outcomes[index] for index in range(len(entry.plans))]
        facts, calls = verifier._judge(ordered, entry.compiled.rule_version)
        facts = entry.checks.rejudge(facts, verifier.catalogue)
        application = entry.started.application
        return verifier._result(
            entry.started.request_id, entry.compiled, application, facts, calls, begun
        )

    async def _audit(self, results: list[PlainResult], prepared: list[_Prepared]) -> None:
        """One record per application, appended together (they share the log's syncs);
        nothing is answered until every record of the batch is durable."""
        verifier = self._verifier
        records = await asyncio.gather(
            *(
                verifier._audit(
                    result, entry.compiled, entry.started.application, self._caller, None
                )
                for result, entry in zip(results, prepared, strict=True)
            )
        )
        for record in records:
            await verifier._stages.audited(
                AuditedInput(record.caller_system, record.subject_pseudonyms, record.time, False)
            )

    async def _record_cancelled(
        self,
        prepared: list[_Prepared],
        by_department: dict[str, list[tuple[int, int, DepartmentPlan]]],
        begun: float,
    ) -> None:
        """The run was cancelled while the batch's departments were being read: every
        application whose data was asked for leaves a record of the reads it caused."""
        verifier = self._verifier
        elapsed_ms = round((time.perf_counter() - begun) * 1000, 3)
        asked = {department for department in by_department if department in verifier.adapters}
        for entry in prepared:
            calls = [
                PlainCall(
                    plan.department,
                    CallOutcome.CANCELLED,
                    elapsed_ms,
                    tuple(fact.name for fact in plan.facts),
                    1 if plan.department in asked else 0,
                )
                for plan in entry.plans
            ]
            if not any(call.attempts for call in calls):
                continue
            record = cancelled_record_for(
                entry.started.request_id,
                entry.started.application,
                entry.compiled.item.version,
                entry.compiled.reference_date,
                self._caller,
                calls,
                verifier.pseudonymiser,
                verifier._clock(),
                elapsed_ms,
            )
            await verifier._trail.append_despite_cancellation(record)


async def _batches(
    applications: Iterable[Application] | AsyncIterable[Application], size: int
) -> AsyncIterator[list[Application]]:
    """The applications a batch at a time, read only as batches are wanted."""
    if isinstance(applications, AsyncIterable):
        batch: list[Application] = []
        async for application in applications:
            batch.append(application)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    iterator = iter(applications)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
