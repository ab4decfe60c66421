"""The adapter seam: what a department integrator implements, and a mock for tests."""

from verifier.adapter._mock import MockAdapter
from verifier.adapter._seam import (
    DepartmentAdapter,
    DepartmentAnswer,
    DepartmentQuery,
    FactRequest,
    ParameterValue,
    Unknown,
)
from verifier.adapter._tracing import inject_trace_headers

__all__ = [
    "DepartmentAdapter",
    "DepartmentAnswer",
    "DepartmentQuery",
    "FactRequest",
    "MockAdapter",
    "ParameterValue",
    "Unknown",
    "inject_trace_headers",
]
