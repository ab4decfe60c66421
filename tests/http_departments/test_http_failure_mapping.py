"""Translation at the edge: every httpx exception and HTTP status becomes our error.

Every exception class httpx exports is raised through ``httpx.MockTransport``, before the
response and mid-body; a new httpx class fails the first test until it is classified here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from http_support import housing_query, mock_adapter

from verifier import DepartmentAnswerInvalid, DepartmentError, DepartmentUnavailable

SUBJECT = "440305198709139015"
MARKER = "CANARY-EDGE-7f3a"
"""Put in foreign messages and bodies: it must never reach one of our messages."""

U, E, BAD = DepartmentUnavailable, DepartmentError, DepartmentAnswerInvalid
EXPECTED: dict[type[Exception], tuple[type[DepartmentError], bool]] = {
    httpx.HTTPError: (E, False),
    httpx.RequestError: (E, False),
    httpx.TransportError: (E, False),
    httpx.TimeoutException: (U, True),
    httpx.ConnectTimeout: (U, True),
    httpx.ReadTimeout: (U, True),
    httpx.WriteTimeout: (U, True),
    httpx.PoolTimeout: (U, True),
    httpx.NetworkError: (U, True),
    httpx.ConnectError: (U, True),
    httpx.ReadError: (U, True),
    httpx.WriteError: (U, True),
    httpx.CloseError: (U, True),
    httpx.ProtocolError: (E, False),
    httpx.LocalProtocolError: (E, False),
    httpx.RemoteProtocolError: (U, True),
    httpx.ProxyError: (U, True),
    httpx.UnsupportedProtocol: (E, False),
    httpx.DecodingError: (BAD, False),
    httpx.TooManyRedirects: (E, False),
    httpx.HTTPStatusError: (U, True),  # made with a 503 response below
    httpx.InvalidURL: (E, False),
    httpx.CookieConflict: (E, False),
    httpx.StreamError: (E, False),
    httpx.StreamConsumed: (E, False),
    httpx.StreamClosed: (E, False),
    httpx.ResponseNotRead: (E, False),
    httpx.RequestNotRead: (E, False),
}  # fmt: skip


BY_NAME = sorted(EXPECTED, key=lambda kind: kind.__name__)


def httpx_exception_classes() -> set[type[BaseException]]:
    found = (getattr(httpx, name) for name in dir(httpx))
    return {obj for obj in found if isinstance(obj, type) and issubclass(obj, BaseException)}


def instantiate(kind: type[Exception], request: httpx.Request) -> Exception:
    attempts: list[dict[str, Any]] = [
        {"request": request, "response": httpx.Response(503, request=request)},
        {"request": request},
        {},
    ]
    for kwargs in attempts:
        try:
            return kind(f"{MARKER} {request.url}?id={SUBJECT}", **kwargs)
        except TypeError:
            continue
    return kind()


class BrokenBody(httpx.AsyncByteStream):
    """Half an answer, then ``failure`` (as a connection dying mid-body would raise)."""

    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"department": "housing", "subj'
        raise self.failure


def test_every_httpx_exception_class_is_classified() -> None:
    assert httpx_exception_classes() == set(EXPECTED)


def assert_ours(error: DepartmentError, kind: type[Exception]) -> None:
    expected_type, retryable = EXPECTED[kind]
    assert type(error) is expected_type, kind
    assert error.retryable is retryable, kind
    assert error.__cause__ is None
    assert error.__context__ is None
    assert MARKER not in str(error)
    assert SUBJECT not in str(error)
    assert "department.test" not in str(error)
    assert str(error).startswith("housing: ")


@pytest.mark.parametrize("kind", BY_NAME, ids=[kind.__name__ for kind in BY_NAME])
async def test_an_exception_before_the_response_is_mapped(kind: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise instantiate(kind, request)

    adapter = mock_adapter(handler)
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch(housing_query(SUBJECT))
    finally:
        await adapter.aclose()
    assert_ours(raised.value, kind)


@pytest.mark.parametrize("kind", BY_NAME, ids=[kind.__name__ for kind in BY_NAME])
async def test_an_exception_mid_body_is_mapped(kind: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        failure = instantiate(kind, request)
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=BrokenBody(failure))

    adapter = mock_adapter(handler)
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch(housing_query(SUBJECT))
    finally:
        await adapter.aclose()
    assert_ours(raised.value, kind)


STATUSES = {
    408: (U, True), 429: (U, True), 500: (U, True), 502: (U, True), 503: (U, True),
    504: (U, True), 400: (E, False), 401: (E, False), 403: (E, False), 404: (E, False),
    409: (E, False), 422: (E, False), 301: (E, False), 307: (E, False), 201: (BAD, False),
    204: (BAD, False),
}  # fmt: skip


@pytest.mark.parametrize("status", list(STATUSES))
async def test_each_status_is_the_right_error(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": MARKER}, headers={"location": "/elsewhere"})

    adapter = mock_adapter(handler)
    try:
        with pytest.raises(DepartmentError) as raised:
            await adapter.fetch(housing_query(SUBJECT))
    finally:
        await adapter.aclose()
    kind, retryable = STATUSES[status]
    assert type(raised.value) is kind
    assert raised.value.retryable is retryable
    assert f"HTTP {status}" in str(raised.value)
    assert MARKER not in str(raised.value)
