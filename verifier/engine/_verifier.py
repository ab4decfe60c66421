"""The verification engine: validate → plan → fan out → derive → evaluate → audit → answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from types import TracebackType
from zoneinfo import ZoneInfo

from verifier._errors import AuditUnavailable, CatalogueError, InvalidApplication
from verifier.adapter import DepartmentAdapter
from verifier.audit import AuditSink, Pseudonymiser, audit_record_for
from verifier.catalogue import Catalogue
from verifier.engine._facts import fact_results
from verifier.engine._fanout import call_departments
from verifier.engine._planner import plan_departments
from verifier.model import (
    EMBEDDED_CALLER,
    Application,
    CallerIdentity,
    DepartmentCall,
    FactResult,
    FactStatus,
    VerificationResult,
)
from verifier.rules import ItemRegistry, ServiceItem

DEFAULT_TIMEOUT_SECONDS = 2.0
# Part of every deadline is kept back from the departments for evaluating the rule and
# making the audit record durable, so the answer still goes out in time.
MIN_RESERVE_SECONDS = 0.01
MAX_RESERVE_SECONDS = 0.1
RESERVE_FRACTION = 0.15

# Reference dates default to the service hall's calendar day, not UTC's.
SERVICE_TIMEZONE = ZoneInfo("Asia/Shanghai")


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
    ) -> None:
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
        self.audit = audit
        self._pseudonymiser = pseudonymiser
        self.default_timeout = default_timeout
        self._clock = clock
        self._today = today

    async def start(self) -> None:
        await asyncio.gather(*(adapter.start() for adapter in self.adapters.values()))

    async def aclose(self) -> None:
        await asyncio.gather(
            *(adapter.aclose() for adapter in self.adapters.values()), return_exceptions=True
        )
        await self.audit.aclose()

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

        Raises ``InvalidApplication`` (before any department is called) for bad input and
        ``AuditUnavailable`` if the audit record cannot be made durable. A department that
        fails or does not answer in time costs its facts (UNKNOWN), never the request.
        """
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        budget = self.default_timeout if timeout is None else timeout
        reserve = min(MAX_RESERVE_SECONDS, max(MIN_RESERVE_SECONDS, budget * RESERVE_FRACTION))
        department_deadline = loop.time() + budget - reserve

        item = self.items.get(application.service_item)
        violations = item.validate_application(application)
        if violations:
            raise InvalidApplication(violations)
        reference_date = application.reference_date or self._today()
        bound = item.bind(application, self.catalogue, reference_date)
        plans = plan_departments(bound, reference_date)

        outcomes = await call_departments(plans, self.adapters, department_deadline)

        retrieved_at = self._clock()
        facts: list[FactResult] = []
        calls: list[DepartmentCall] = []
        for outcome in outcomes:
            results, call_outcome = fact_results(outcome, retrieved_at, item.rule_version)
            facts.extend(results)
            calls.append(
                DepartmentCall(
                    department=outcome.plan.department,
                    outcome=call_outcome,
                    duration_ms=round(outcome.duration_ms, 3),
                    facts=tuple(fact.name for fact in outcome.plan.facts),
                    attempts=outcome.attempts,
                )
            )
        result = self._result(item, application, reference_date, facts, calls, started)
        await self._audit(result, application, caller or EMBEDDED_CALLER)
        return result

    def _result(
        self,
        item: ServiceItem,
        application: Application,
        reference_date: date,
        facts: list[FactResult],
        calls: list[DepartmentCall],
        started: float,
    ) -> VerificationResult:
        facts.sort(key=_item_order(item))
        values = {fact.name: fact.value for fact in facts}
        decision = item.evaluate(
            values,
            roles_present={subject.role for subject in application.subjects},
            reference_date=reference_date,
        )
        return VerificationResult(
            request_id=uuid.uuid4().hex,
            service_item=item.id,
            item_version=item.version,
            reference_date=reference_date,
            facts=tuple(facts),
            decision=decision,
            documents_not_required=self._documents_replaced(facts),
            department_calls=tuple(calls),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _documents_replaced(self, facts: list[FactResult]) -> tuple[str, ...]:
        documents: dict[str, None] = {}
        for fact in facts:
            document = self.catalogue.facts[fact.fact].replaces_document
            if fact.status is FactStatus.KNOWN and document:
                documents[document] = None
        return tuple(documents)

    async def _audit(
        self, result: VerificationResult, application: Application, caller: CallerIdentity
    ) -> None:
        record = audit_record_for(
            result, application, caller, self.catalogue, self._pseudonymiser, self._clock()
        )
        try:
            await self.audit.append(record)
        except AuditUnavailable:
            raise
        except Exception as exc:  # any sink failure means no durable record: no answer
            raise AuditUnavailable(f"audit sink failed: {type(exc).__name__}") from None


def _item_order(item: ServiceItem) -> Callable[[FactResult], int]:
    order = {name: index for index, name in enumerate(item.facts)}
    return lambda fact: order.get(fact.name, len(order))
