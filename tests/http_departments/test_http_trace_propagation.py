"""The HTTP adapter carries the verification's trace to the department (W3C trace context)."""

from __future__ import annotations

from datetime import date

import httpx
from opentelemetry.sdk.trace import TracerProvider

from adapters.http import HttpDepartmentAdapter, settings_from
from verifier.adapter import DepartmentQuery, FactRequest

SUBJECT = "11010519491231002X"


async def test_requests_made_inside_a_span_carry_its_traceparent() -> None:
    seen: list[httpx.Headers] = []

    def department(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(
            200,
            json={"department": "tax", "source_as_of": None, "subjects": [SUBJECT],
                  "facts": {"overdue": False}},
        )  # fmt: skip

    settings = settings_from(
        {"department": "tax", "url": "http://127.0.0.1:9", "facts": ["has_overdue_tax"]}
    )
    adapter = HttpDepartmentAdapter(settings, transport=httpx.MockTransport(department))
    query = DepartmentQuery(
        "tax", date(2026, 8, 31), (FactRequest("overdue", "has_overdue_tax", {"subject": SUBJECT}),)
    )
    tracer = TracerProvider().get_tracer("test")
    try:
        await adapter.fetch(query)  # outside any span: nothing to propagate
        with tracer.start_as_current_span("department tax") as span:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    assert "traceparent" not in seen[0]
    trace_id = format(span.get_span_context().trace_id, "032x")
    span_id = format(span.get_span_context().span_id, "016x")
    assert seen[1]["traceparent"].split("-")[1:3] == [trace_id, span_id]
    assert "baggage" not in seen[1]
