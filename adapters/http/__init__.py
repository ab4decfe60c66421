"""Departments reached through an HTTP JSON API instead of their database (httpx, async).

Configure a department with ``adapter: http`` and its ``url`` (the other keys are in
``_settings``); the wire contract, ``POST {url}/v1/departments/{department}/facts``, is
drawn in ``_wire``; which failures are retryable, in ``_failures``. ``adapters.simulator``
serves the same contract for tests, benchmarks and demos.
"""

from adapters.http._adapter import (
    HeaderHook,
    HttpDepartmentAdapter,
    create_adapter,
)
from adapters.http._settings import HttpDepartmentSettings, settings_from
from adapters.http._wire import (
    FactsAnswer,
    FactsRequest,
    WireFactRequest,
    WireUnknown,
    answer_body,
    facts_path,
    query_from_request,
    request_from_query,
)

__all__ = [
    "FactsAnswer",
    "FactsRequest",
    "HeaderHook",
    "HttpDepartmentAdapter",
    "HttpDepartmentSettings",
    "WireFactRequest",
    "WireUnknown",
    "answer_body",
    "create_adapter",
    "facts_path",
    "query_from_request",
    "request_from_query",
    "settings_from",
]
