"""The HTTP department wire contract, version 1: one POST per application, status facts back.

The department computes the status facts on its side (Foshan: "return status data, not
precise data"); nothing on this wire is a raw record::

    POST {base_url}/v1/departments/{department}/facts
    Content-Type: application/json

    {"reference_date": "2026-08-31",
     "requests": [{"key": "guardian_of#0", "fact": "guardian_of",
                   "subjects": {"guardian": "<id>", "child": "<id>"},
                   "parameters": {"district": "440305"}}]}

    200 OK
    Content-Type: application/json

    {"department": "household",
     "source_as_of": "2026-08-30T22:00:00+00:00",        (or null: the department does not say)
     "subjects": ["<id>", "<id>"],                        (every id the answer is about)
     "facts": {"guardian_of#0": true,                     (a boolean, a whole number,
               "months#1": 24,                             or an unknown with its reason code)
               "registered#2": {"unknown": "RECORD_PENDING"}}}

What the client trusts, and nothing more: ``department`` is the one asked; ``subjects`` is
exactly the set of ids asked about (an answer about anyone else is refused whole, never
turned into facts); ``facts`` has exactly the keys asked; values are strict JSON booleans or
integers within ±2^53, reasons are ``UnknownReason`` codes; ``source_as_of`` carries a
timezone. Unknown fields anywhere are refused (a department that starts sending more than
status data is noticed, not ignored).

Errors: 5xx, 429 and 408 mean "try again later"; any other 4xx means the request itself is
wrong (unknown department, fact or parameter) and is not worth repeating. Error bodies are
``{"error": "<short code>"}`` and are never read into messages.

The path carries the version: an incompatible change is ``/v2/…`` served beside ``/v1/…``.
The simulator (``adapters.simulator``) serves this contract from the real SQL adapters.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictStr

from verifier.adapter import DepartmentAnswer, DepartmentQuery, FactRequest, Unknown
from verifier.model import FactValue, UnknownReason

WIRE_VERSION = "v1"
JSON_CONTENT_TYPE = "application/json"
MAX_SAFE_INTEGER = 2**53
"""Fact integers are months and counts; anything beyond JSON's safe range is not a fact."""

WireInt = Annotated[int, Field(strict=True, ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]


def facts_path(department: str) -> str:
    """The path, relative to the department's base URL, that answers fact requests."""
    return f"{WIRE_VERSION}/departments/{quote(department, safe='')}/facts"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WireFactRequest(_Strict):
    """One fact to establish (``verifier.adapter.FactRequest`` on the wire)."""

    key: StrictStr
    fact: StrictStr
    subjects: dict[StrictStr, StrictStr]
    parameters: dict[StrictStr, StrictStr | WireInt] = Field(default_factory=dict)


class FactsRequest(_Strict):
    """The request body: every fact one application needs from the department."""

    reference_date: date
    requests: list[WireFactRequest]


class WireUnknown(_Strict):
    """The department holds the subject but cannot state the fact."""

    unknown: UnknownReason


class FactsAnswer(_Strict):
    """The 200 answer body."""

    department: StrictStr
    source_as_of: AwareDatetime | None
    subjects: list[StrictStr]
    facts: dict[StrictStr, StrictBool | WireInt | WireUnknown]


def request_from_query(query: DepartmentQuery) -> FactsRequest:
    return FactsRequest(
        reference_date=query.reference_date,
        requests=[
            WireFactRequest(
                key=request.key,
                fact=request.fact,
                subjects=dict(request.subjects),
                parameters=dict(request.parameters),
            )
            for request in query.requests
        ],
    )


def query_from_request(department: str, body: FactsRequest) -> DepartmentQuery:
    """The department side: the seam's query for a request body."""
    return DepartmentQuery(
        department=department,
        reference_date=body.reference_date,
        requests=tuple(
            FactRequest(request.key, request.fact, request.subjects, request.parameters)
            for request in body.requests
        ),
    )


def answer_body(department: str, query: DepartmentQuery, answer: DepartmentAnswer) -> FactsAnswer:
    """The department side: the wire answer for a seam answer about ``query``'s subjects."""
    facts: dict[str, bool | int | WireUnknown] = {}
    for key, value in answer.facts.items():
        facts[key] = WireUnknown(unknown=value.reason) if isinstance(value, Unknown) else value
    return FactsAnswer(
        department=department,
        source_as_of=answer.source_as_of,
        subjects=sorted(query.subject_ids()),
        facts=facts,
    )


def answer_values(body: FactsAnswer) -> dict[str, FactValue | Unknown]:
    """The seam's fact values for a validated wire answer."""
    return {
        key: Unknown(value.unknown) if isinstance(value, WireUnknown) else value
        for key, value in body.facts.items()
    }
