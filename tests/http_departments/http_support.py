"""Shared by the HTTP department tests: sample queries, adapters on both paths."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

import httpx

from adapters.demo_city import DemoCityManifest, DemoSample
from adapters.http import HttpDepartmentAdapter, settings_from
from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest
from verifier.model import parse_resident_id

REFERENCE = date(2026, 8, 31)


def sample_queries(sample: DemoSample) -> dict[str, DepartmentQuery]:
    """Per department, the query for the facts the sample was planted to produce."""
    requests: dict[str, list[FactRequest]] = {}
    for index, fact in enumerate(sample.facts):
        # The application may spell an ID with a lower-case x; the engine normalises it.
        subjects = {
            slot: parse_resident_id(sample.subject_id(role), today=REFERENCE)
            for slot, role in fact.subjects.items()
        }
        request = FactRequest(f"{fact.fact}#{index}", fact.fact, subjects, dict(fact.parameters))
        requests.setdefault(fact.department, []).append(request)
    reference = date.fromisoformat(sample.application["reference_date"])
    return {
        department: DepartmentQuery(department, reference, tuple(found))
        for department, found in requests.items()
    }


def all_queries(city: DemoCityManifest) -> list[tuple[str, DepartmentQuery]]:
    """(sample name, query) for every sample and every department it asks."""
    return [
        (sample.name, query) for sample in city.samples for query in sample_queries(sample).values()
    ]


def housing_query(subject: str, key: str = "homes") -> DepartmentQuery:
    return DepartmentQuery(
        "housing", REFERENCE, (FactRequest(key, "homes_owned_in_city", {"subject": subject}),)
    )


def http_adapter(department: str, url: str, **settings: Any) -> HttpDepartmentAdapter:
    return HttpDepartmentAdapter(settings_from({"department": department, "url": url, **settings}))


def mock_adapter(
    handler: Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]],
    department: str = "housing",
    **options: Any,
) -> HttpDepartmentAdapter:
    """An adapter whose network is ``handler`` (``httpx.MockTransport``)."""
    settings = settings_from({"department": department, "url": "http://department.test"})
    return HttpDepartmentAdapter(settings, transport=httpx.MockTransport(handler), **options)


def sql_adapter(city: DemoCityManifest, department: str) -> DepartmentAdapter:
    module = importlib.import_module(f"adapters.{department}")
    adapter: DepartmentAdapter = module.create_adapter({"url": city.urls[department]})
    return adapter


def answer_json(query: DepartmentQuery, **overrides: Any) -> dict[str, Any]:
    """A valid wire answer to ``query`` (every fact 0), with fields replaced by ``overrides``."""
    body: dict[str, Any] = {
        "department": query.department,
        "source_as_of": "2026-08-30T22:00:00+08:00",
        "subjects": sorted(query.subject_ids()),
        "facts": {request.key: 0 for request in query.requests},
    }
    body.update(overrides)
    return body
