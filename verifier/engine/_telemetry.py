"""The engine's spans and metrics, through the OpenTelemetry API only.

The SDK (providers, samplers, exporters) is chosen at the edge — ``verifier.telemetry.
configure_telemetry`` — and handed in as ``TelemetryProviders``; without it the API's global
providers are used, which are no-ops unless the host application installed the SDK.

Spans::

    verify <item>                     verifier.service_item, verifier.item_version,
    │                                 verifier.decision, verifier.caller,
    │                                 verifier.subjects (pseudonyms), verifier.request_id
    └── department <name>  (one per department of the plan)
                                      verifier.department, verifier.facts (fact names),
                                      verifier.outcome, verifier.attempts, verifier.cache_hit

Metrics: ``verifier.verifications`` (item, decision), ``verifier.verification.duration``
(ms, item), ``verifier.department.duration`` (ms, department, outcome),
``verifier.facts.unknown`` (department, reason), ``verifier.cache.lookups`` (department,
result: hit / miss / stale), ``verifier.audit.commit.duration`` (ms, until the record is
durable: group commit's wait included), ``verifier.audit.backlog`` (records handed to the
sink and not yet durable), ``verifier.alerts`` and ``verifier.alerts.write_failures``
(rule). Circuit-breaker state is ``verifier.breaker.state`` (``_resilience``).

It plugs into the verification as the ``Telemetry`` interceptor (``_telemetry_stages``;
the verifier puts it outermost): the ``verify`` stage opens the verification's span, the
``department`` stage each call's span, current while the call runs.

Nothing here may carry a value from an application or a department: subjects appear only
as the Verifier's keyed pseudonyms, and a failure is described by its exception's type
name and a fixed text — an exception's message could quote a record.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, Status, StatusCode

from verifier.audit import AlertRecord
from verifier.engine._planner import DepartmentPlan
from verifier.model import CallOutcome
from verifier.model._plain import PlainResult

if TYPE_CHECKING:  # the stages import the resilience pipeline, which counts through here
    from verifier.engine._fanout import DepartmentOutcome
    from verifier.engine._interceptors import VerifyInput

INSTRUMENTATION_NAME = "verifier"
ERROR_TYPE = "error.type"  # the OpenTelemetry semantic convention's attribute
DECISION = "verifier.decision"
CACHE_RESULT = "verifier.cache.result"
# Department calls take milliseconds to seconds; a deadline is at most a minute.
DURATION_BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


class TelemetryProviders(Protocol):
    """Where a Verifier's spans and metrics go (``verifier.telemetry.TelemetryHandle``).

    ``None`` for a provider means the OpenTelemetry API's global one. The Verifier calls
    ``shutdown`` (flushing what is buffered) when it closes.
    """

    @property
    def tracer_provider(self) -> trace.TracerProvider | None: ...
    @property
    def meter_provider(self) -> metrics.MeterProvider | None: ...
    def shutdown(self) -> None: ...


class VerificationSpan:
    """One verification in flight: its span, and what its metrics will be labelled with."""

    __slots__ = ("labels", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.labels: dict[str, str] = {}
        """The metric attributes so far: item once resolved, then decision or error type."""

    def item_resolved(self, item_id: str, item_version: str) -> None:
        # Named only once known to exist: a caller's made-up item id must not become a
        # span name or a metric label (unbounded cardinality).
        self.labels["verifier.service_item"] = item_id
        if self.span.is_recording():
            self.span.update_name(f"verify {item_id}")
            self.span.set_attribute("verifier.service_item", item_id)
            self.span.set_attribute("verifier.item_version", item_version)

    def decided(self, result: PlainResult) -> None:
        self.labels[DECISION] = result.decision.outcome.value
        self.span.set_attribute(DECISION, result.decision.outcome.value)
        if self.span.is_recording():
            cached = sum(1 for fact in result.facts if fact.provenance.cached)
            self.span.set_attribute("verifier.cached_facts", cached)

    def refused(self, rules: Sequence[str]) -> None:
        """Access control refused the request: which rules (never the application's text)."""
        if self.span.is_recording():
            self.span.set_attribute("verifier.refusal_rules", list(dict.fromkeys(rules)))

    def failed(self, error: BaseException) -> None:
        self.labels.pop(DECISION, None)  # not answered after all
        self.labels[ERROR_TYPE] = type(error).__name__
        if self.span.is_recording():
            self.span.set_attribute(ERROR_TYPE, type(error).__name__)
            self.span.set_status(Status(StatusCode.ERROR, "verification failed"))


def current_trace_id() -> str | None:
    """The trace to find the current verification's spans in, if one is being recorded
    (the ``verify`` span is current while the verification runs).

    Not merely "sampled": with no SDK the API passes a caller's sampled context through
    unchanged, and that trace holds no span of ours.
    """
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    return format(span.get_span_context().trace_id, "032x")


class EngineTelemetry:
    def __init__(
        self, providers: TelemetryProviders | None, pseudonymise: Callable[[str], str]
    ) -> None:
        tracer_provider = providers.tracer_provider if providers is not None else None
        meter_provider = providers.meter_provider if providers is not None else None
        self._tracer = trace.get_tracer(INSTRUMENTATION_NAME, tracer_provider=tracer_provider)
        meter = metrics.get_meter(INSTRUMENTATION_NAME, meter_provider=meter_provider)
        self._pseudonymise = pseudonymise
        self._verifications = meter.create_counter(
            "verifier.verifications", "{verification}", "Verifications by item and decision"
        )
        self._verification_duration = meter.create_histogram(
            "verifier.verification.duration",
            "ms",
            "Time to answer a verification, audit included",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_MS,
        )
        self._department_duration = meter.create_histogram(
            "verifier.department.duration",
            "ms",
            "Time a department took to answer (or to fail)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_MS,
        )
        self._unknown_facts = meter.create_counter(
            "verifier.facts.unknown", "{fact}", "Facts left UNKNOWN, by department and reason"
        )
        self._cache_lookups = meter.create_counter(
            "verifier.cache.lookups",
            "{fact}",
            "Facts looked up in the fact cache, by department and result (hit, miss, stale)",
        )
        self._audit_commit = meter.create_histogram(
            "verifier.audit.commit.duration",
            "ms",
            "Time for an audit record to become durable (group commit's wait included)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_MS,
        )
        self._audit_backlog = meter.create_up_down_counter(
            "verifier.audit.backlog",
            "{record}",
            "Audit records handed to the sink and not yet durable",
        )
        self._alerts = meter.create_counter(
            "verifier.alerts", "{alert}", "High-risk behaviour alerts raised, by rule"
        )
        self._alert_write_failures = meter.create_counter(
            "verifier.alerts.write_failures", "{alert}", "Alerts the audit sink refused"
        )

    @contextlib.contextmanager
    def verification(self, started: VerifyInput) -> Iterator[VerificationSpan]:
        """The ``verify`` span around one verification, current while it runs."""
        begun = time.perf_counter()
        with self._tracer.start_as_current_span(
            "verify",
            attributes={
                "verifier.request_id": started.request_id,
                "verifier.caller": started.caller.system,
            },
            # Exception events and automatic statuses would quote the exception's message.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            observed = VerificationSpan(span)
            if started.item is not None:
                observed.item_resolved(started.item.id, started.item.version)
            if span.is_recording():
                subjects = started.application.subjects
                pseudonyms = [self._pseudonymise(subject.id) for subject in subjects]
                span.set_attribute("verifier.subjects", pseudonyms)
            try:
                yield observed
            except BaseException as error:  # cancellation included: it ends the span too
                observed.failed(error)
                raise
            finally:
                elapsed_ms = (time.perf_counter() - begun) * 1000
                labels = observed.labels
                self._verifications.add(1, labels)
                by_item = {key: value for key, value in labels.items() if key != DECISION}
                self._verification_duration.record(elapsed_ms, by_item)

    def department_span(self, plan: DepartmentPlan) -> Span:
        """A started (not current) span for one department call, child of the current one."""
        return self._tracer.start_span(
            f"department {plan.department}",
            attributes={
                "verifier.department": plan.department,
                "verifier.facts": [fact.name for fact in plan.facts],
                # Cached facts never reach a department call (they are counted on the
                # verification's span as verifier.cached_facts): a call is never a hit.
                "verifier.cache_hit": False,
            },
            record_exception=False,
            set_status_on_exception=False,
        )

    def department_finished(self, span: Span, outcome: DepartmentOutcome) -> None:
        """End a call's span (at the time the call ended) and count it, once judged."""
        department = outcome.plan.department
        if span.is_recording():
            span.set_attribute("verifier.outcome", outcome.outcome.value)
            span.set_attribute("verifier.attempts", outcome.attempts)
            if outcome.error_type is not None:
                span.set_attribute(ERROR_TYPE, outcome.error_type)
            if outcome.outcome is not CallOutcome.OK:
                span.set_status(
                    Status(StatusCode.ERROR, f"department call {outcome.outcome.value}")
                )
        span.end(end_time=outcome.ended_ns)
        self._department_duration.record(
            round(outcome.duration_ms, 3),
            {"verifier.department": department, "verifier.outcome": outcome.outcome.value},
        )
        for fact in outcome.facts or ():
            if fact.reason is not None:
                self._unknown_facts.add(
                    1, {"verifier.department": department, "verifier.reason": fact.reason.value}
                )

    def department_abandoned(self, span: Span) -> None:
        """End the span of a call the verification gave up on (its caller went away)."""
        if span.is_recording():
            span.set_status(Status(StatusCode.ERROR, "verification cancelled"))
        span.end()

    def cache_looked_up(self, department: str, result: str, facts: int = 1) -> None:
        """``facts`` of ``department`` were a cache ``hit``, a ``miss``, or served ``stale``."""
        self._cache_lookups.add(facts, {"verifier.department": department, CACHE_RESULT: result})

    @contextlib.contextmanager
    def audit_commit(self) -> Iterator[None]:
        """Around one record's write: the backlog while it waits, its time once it ends
        (labelled with the error type if it failed)."""
        self._audit_backlog.add(1)
        begun = time.perf_counter()
        labels: dict[str, str] = {}
        try:
            yield
        except BaseException as error:
            labels[ERROR_TYPE] = type(error).__name__
            raise
        finally:
            self._audit_backlog.add(-1)
            self._audit_commit.record((time.perf_counter() - begun) * 1000, labels)

    def alert_raised(self, alert: AlertRecord) -> None:
        self._alerts.add(1, {"verifier.rule": alert.rule})

    def alert_unwritten(self, alert: AlertRecord) -> None:
        self._alert_write_failures.add(1, {"verifier.rule": alert.rule})
