"""Telemetry as an interceptor: the ``verify`` span around a whole verification, a
``department`` span around each call, current while it runs (``EngineTelemetry`` makes
them and counts what they saw)."""

from __future__ import annotations

import contextlib

from opentelemetry import trace
from opentelemetry.trace import Span

from verifier._errors import AccessDenied
from verifier.engine._fanout import DepartmentOutcome
from verifier.engine._interceptors import DepartmentInput, Interceptor, Stages, VerifyInput
from verifier.engine._telemetry import EngineTelemetry
from verifier.model._plain import PlainResult


class Telemetry(Interceptor):
    """The verification's spans and metrics (``EngineTelemetry``) as an interceptor: the
    ``verify`` span around the whole verification, a ``department`` span around each call."""

    def __init__(self, telemetry: EngineTelemetry) -> None:
        self.telemetry = telemetry

    def intercept(self, next: Stages) -> Stages:
        return _Telemetry(next, self.telemetry)


class _Telemetry(Stages):
    def __init__(self, next: Stages, telemetry: EngineTelemetry) -> None:
        super().__init__(next)
        self._telemetry = telemetry

    async def verify(self, input: VerifyInput) -> PlainResult:
        with self._telemetry.verification(input) as span:
            try:
                result = await self.next.verify(input)
            except AccessDenied as denied:
                span.refused([refusal.rule for refusal in denied.refusals])
                raise
            span.decided(result)  # the result comes only once audited: decided then
            return result

    async def department(self, input: DepartmentInput) -> DepartmentOutcome:
        telemetry = self._telemetry
        span = telemetry.department_span(input.plan)
        try:
            with _current(span):
                outcome = await self.next.department(input)
        except BaseException:  # cancelled, or closed unanswered by the fan-out's backstop
            telemetry.department_abandoned(span)
            raise
        telemetry.department_finished(span, outcome)
        return outcome


def _current(span: Span) -> contextlib.AbstractContextManager[object]:
    """Make ``span`` current for the call, unless there is no trace to continue (the cheap,
    common case without telemetry)."""
    if not span.get_span_context().is_valid:
        return contextlib.nullcontext()
    # No exception events or automatic status: the engine records the outcome itself.
    return trace.use_span(span, record_exception=False, set_status_on_exception=False)
