"""The wire contract at the adapter, through ``httpx.MockTransport``: every answer judged
against it, the request shaped by it, nothing from the wire in a message."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from http_support import answer_json, housing_query, mock_adapter

from adapters.http import HttpDepartmentAdapter, settings_from
from verifier import DepartmentAnswerInvalid, DepartmentError, DepartmentUnavailable
from verifier.adapter import DepartmentQuery, FactRequest, Unknown
from verifier.model import UnknownReason

SUBJECT = "440305198709139015"
MARKER = "CANARY-EDGE-7f3a"
"""Put in foreign messages and bodies: it must never reach one of our messages."""


def respond(body: Any, **headers: str) -> httpx.MockTransport:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers.setdefault("content-type", "application/json")
    return httpx.MockTransport(
        lambda request: httpx.Response(200, content=content, headers=headers)
    )


QUERY = DepartmentQuery(
    "housing",
    datetime(2026, 8, 31).date(),
    (
        FactRequest("homes", "homes_owned_in_city", {"subject": SUBJECT}),
        FactRequest(
            "rent",
            "registered_rental_months_in_district",
            {"subject": SUBJECT},
            {"district": "440305"},
        ),
    ),
)
OTHER = "440305201803079009"
INVALID_ANSWERS: dict[str, Any] = {
    "another department": answer_json(QUERY, department="household"),
    "another subject": answer_json(QUERY, subjects=[OTHER]),
    "an extra subject": answer_json(QUERY, subjects=[SUBJECT, OTHER]),
    "no subjects": answer_json(QUERY, subjects=[]),
    "a missing key": answer_json(QUERY, facts={"homes": 1}),
    "an extra key": answer_json(QUERY, facts={"homes": 1, "rent": 2, MARKER: 3}),
    "a string value": answer_json(QUERY, facts={"homes": "1", "rent": 2}),
    "a float value": answer_json(QUERY, facts={"homes": 1.5, "rent": 2}),
    "a null value": answer_json(QUERY, facts={"homes": None, "rent": 2}),
    "a huge integer": answer_json(QUERY, facts={"homes": 2**60, "rent": 2}),
    "a record instead of a fact": answer_json(QUERY, facts={"homes": {"owner": MARKER}, "rent": 2}),
    "an unknown reason code": answer_json(QUERY, facts={"homes": {"unknown": MARKER}, "rent": 2}),
    "an extra field": answer_json(QUERY, owner_name=MARKER),
    "a missing field": {k: v for k, v in answer_json(QUERY).items() if k != "subjects"},
    "a naive source time": answer_json(QUERY, source_as_of="2026-08-30T22:00:00"),
    "a JSON array": [answer_json(QUERY)],
    "not JSON": f"<html>{MARKER}</html>".encode(),
}


@pytest.mark.parametrize("case", list(INVALID_ANSWERS))
async def test_an_answer_off_the_contract_is_invalid(case: str) -> None:
    settings = settings_from({"department": "housing", "url": "http://department.test"})
    adapter = HttpDepartmentAdapter(settings, transport=respond(INVALID_ANSWERS[case]))
    try:
        with pytest.raises(DepartmentAnswerInvalid) as raised:
            await adapter.fetch(QUERY)
    finally:
        await adapter.aclose()
    assert MARKER not in str(raised.value)
    assert SUBJECT not in str(raised.value)
    assert raised.value.__context__ is None
    assert not raised.value.retryable


async def test_a_valid_answer_becomes_the_facts() -> None:
    body = answer_json(QUERY, facts={"homes": 2, "rent": {"unknown": "RECORD_PENDING"}})
    adapter = HttpDepartmentAdapter(
        settings_from({"department": "housing", "url": "http://department.test"}),
        transport=respond(body),
    )
    try:
        answer = await adapter.fetch(QUERY)
    finally:
        await adapter.aclose()
    assert answer.facts == {"homes": 2, "rent": Unknown(UnknownReason.RECORD_PENDING)}
    assert answer.source_as_of == datetime(2026, 8, 30, 14, tzinfo=UTC)
    assert answer.source_as_of is not None
    assert answer.source_as_of.tzinfo is UTC


@pytest.mark.parametrize(
    "transport",
    [
        respond(answer_json(QUERY), **{"content-type": "text/html"}),
        httpx.MockTransport(lambda request: httpx.Response(200, content=b"{}")),
    ],
    ids=["text/html", "no content type"],
)
async def test_an_answer_that_is_not_json_is_invalid(transport: httpx.MockTransport) -> None:
    settings = settings_from({"department": "housing", "url": "http://department.test"})
    adapter = HttpDepartmentAdapter(settings, transport=transport)
    try:
        with pytest.raises(DepartmentAnswerInvalid, match="not JSON"):
            await adapter.fetch(QUERY)
    finally:
        await adapter.aclose()


class Endless(httpx.AsyncByteStream):
    """A chunked body that never ends: the cap, not the sender, must stop the read."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.sent += 4096
            yield b" " * 4096


async def test_an_oversized_answer_is_cut_off() -> None:
    endless = Endless()
    big = b" " * (300 * 1024)
    bomb = gzip.compress(b" " * (4 * 1024 * 1024))
    json_type = {"content-type": "application/json"}
    transports = {
        "declared": respond(big),
        "chunked": httpx.MockTransport(
            lambda request: httpx.Response(200, headers=json_type, stream=endless)
        ),
        "compressed": respond(bomb, **{"content-encoding": "gzip"}),
    }
    for name, transport in transports.items():
        settings = settings_from({"department": "housing", "url": "http://department.test"})
        adapter = HttpDepartmentAdapter(settings, transport=transport)
        try:
            with pytest.raises(DepartmentAnswerInvalid, match="exceeds 262144 bytes"):
                await adapter.fetch(QUERY)
        finally:
            await adapter.aclose()
        assert len(bomb) < 256 * 1024, name
    assert endless.sent <= 256 * 1024 + 4096


async def test_the_request_follows_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []
    monkeypatch.setenv("HOUSING_API_KEY", "key-from-env")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer_json(QUERY))

    def add_trace(headers: dict[str, str]) -> None:
        headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    settings = settings_from(
        {
            "department": "housing",
            "url": "https://gateway.test/api/housing",
            "headers": {"x-caller": "verifier"},
            "headers_from_env": {"x-api-key": "HOUSING_API_KEY"},
        }
    )
    adapter = HttpDepartmentAdapter(
        settings, transport=httpx.MockTransport(handler), header_hook=add_trace
    )
    try:
        await adapter.fetch(QUERY)
    finally:
        await adapter.aclose()
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://gateway.test/api/housing/v1/departments/housing/facts"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-caller"] == "verifier"
    assert request.headers["x-api-key"] == "key-from-env"
    assert request.headers["traceparent"].startswith("00-0af7")
    assert json.loads(request.content) == {
        "reference_date": "2026-08-31",
        "requests": [
            {"key": "homes", "fact": "homes_owned_in_city", "subjects": {"subject": SUBJECT},
             "parameters": {}},
            {"key": "rent", "fact": "registered_rental_months_in_district",
             "subjects": {"subject": SUBJECT}, "parameters": {"district": "440305"}},
        ],
    }  # fmt: skip


async def test_a_query_the_wire_cannot_carry_fails_before_the_network() -> None:
    calls: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    adapter = mock_adapter(record)
    query = DepartmentQuery(
        "housing",
        QUERY.reference_date,
        (FactRequest("x", "homes_owned_in_city", {"subject": SUBJECT}, {"flag": True}),),
    )
    try:
        with pytest.raises(DepartmentError, match="cannot be expressed") as raised:
            await adapter.fetch(query)
    finally:
        await adapter.aclose()
    assert not raised.value.retryable
    assert raised.value.__context__ is None
    assert calls == []


async def test_a_fact_outside_the_configured_facts_fails_before_the_network() -> None:
    settings = settings_from(
        {"department": "housing", "url": "http://department.test", "facts": ["homes_owned_in_city"]}
    )
    adapter = HttpDepartmentAdapter(settings, transport=respond(answer_json(QUERY)))
    try:
        assert adapter.supported_facts() == {"homes_owned_in_city"}
        with pytest.raises(DepartmentError, match="not configured") as raised:
            await adapter.fetch(QUERY)
    finally:
        await adapter.aclose()
    assert not raised.value.retryable


async def test_a_silent_department_is_cancellable_and_times_out() -> None:
    async def silent(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("never answers")

    adapter = mock_adapter(silent)
    try:
        task = asyncio.ensure_future(adapter.fetch(housing_query(SUBJECT)))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # cancellation is not turned into a department error
        settings = settings_from(
            {"department": "housing", "url": "http://department.test", "timeout_seconds": 0.05}
        )
        impatient = HttpDepartmentAdapter(settings, transport=httpx.MockTransport(silent))
        try:
            with pytest.raises(DepartmentUnavailable, match=r"no answer within 0\.05 s") as raised:
                await impatient.fetch(housing_query(SUBJECT))
        finally:
            await impatient.aclose()
        assert raised.value.retryable
        assert raised.value.__context__ is None
    finally:
        await adapter.aclose()


async def test_the_client_lives_from_start_to_aclose() -> None:
    adapter = mock_adapter(lambda request: httpx.Response(200, json=answer_json(QUERY)))
    await adapter.fetch(QUERY)  # lazily started
    await adapter.aclose()
    await adapter.aclose()  # twice is harmless
    with pytest.raises(DepartmentError, match="closed") as raised:
        await adapter.fetch(QUERY)
    assert not raised.value.retryable
    started = mock_adapter(lambda request: httpx.Response(200, json=answer_json(QUERY)))
    await started.start()
    await started.start()
    assert (await started.fetch(QUERY)).facts == {"homes": 0, "rent": 0}
    await started.aclose()
