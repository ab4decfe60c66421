"""A department reached through its HTTP JSON API (the wire contract is in ``_wire``).

One ``httpx.AsyncClient`` per adapter: HTTP/1.1 with keep-alive pooling, TLS verified, no
redirects followed, and the environment ignored (``trust_env=False``: a proxy variable or
``SSL_CERT_FILE`` must not silently change where, or how trusted, department traffic goes).

Built to be wrapped by retry, hedging, circuit-breaker and bulkhead layers:

- every failure is a ``DepartmentError`` whose ``retryable`` says whether repeating may help
  (the table is in ``_failures``), nothing foreign escapes;
- a fetch is cancellable at any await: the response is read inside ``async with`` blocks,
  so a cancelled fetch closes its connection (it is not returned to the pool half-read)
  and leaves no task behind;
- ``timeout_seconds`` caps the whole exchange (a department dripping bytes counts too).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import cast

import httpx
from pydantic import ValidationError

from adapters.http._answer import decode_answer
from adapters.http._failures import FOREIGN_FAILURES, department_error, status_error
from adapters.http._settings import (
    HttpDepartmentSettings,
    request_headers,
    settings_from,
    tls_context,
)
from adapters.http._wire import JSON_CONTENT_TYPE, facts_path, request_from_query
from verifier._errors import DepartmentAnswerInvalid, DepartmentError, DepartmentUnavailable
from verifier.adapter import (
    DepartmentAdapter,
    DepartmentAnswer,
    DepartmentQuery,
    inject_trace_headers,
)

HeaderHook = Callable[[dict[str, str]], None]
"""Called with each request's headers (a fresh dict) to add e.g. trace context; what it
raises is not a department failure and propagates unchanged."""

DEFAULT_MAX_ANSWER_BYTES = 256 * 1024
"""An answer is a few hundred bytes of status facts; far more is not a trustworthy answer."""
ERROR_BODY_DRAIN_BYTES = 16 * 1024
"""A short error body is read (and dropped) so its connection can go back to the pool."""
KEEPALIVE_EXPIRY_SECONDS = 5.0
"""Idle connections are dropped before a server's usual keep-alive timeout would race us."""


class HttpDepartmentAdapter(DepartmentAdapter):
    """One department over HTTP; ``transport`` replaces the network (``httpx.MockTransport``).

    ``header_hook`` edits each request's headers; by default it adds the current W3C trace
    context, so the department's own tracing continues the verification's trace.
    """

    def __init__(
        self,
        settings: HttpDepartmentSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        header_hook: HeaderHook | None = inject_trace_headers,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self.department = settings.department
        self.settings = settings
        self.header_hook = header_hook
        self.max_answer_bytes = max_answer_bytes
        # A missing header variable fails wiring (ConfigurationError); the CA bundle and client
        # certificate are files, read at start() so that constructing an adapter (every
        # command checks the configuration that way) does no I/O.
        self._headers = {
            "accept": JSON_CONTENT_TYPE,
            "content-type": JSON_CONTENT_TYPE,
            "user-agent": "onestop-verifier-http-adapter",
            **request_headers(settings),
        }
        self._transport = transport
        self._path = facts_path(self.department)
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def supported_facts(self) -> frozenset[str]:
        return self.settings.facts or frozenset()

    async def start(self) -> None:
        self._http()

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        self._check_facts(query)
        content = self._encoded(query)
        headers = dict(self._headers)
        if self.header_hook is not None:
            self.header_hook(headers)
        client = self._http()
        error: DepartmentError
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                body = await self._exchange(client, content, headers)
        except TimeoutError:  # before FOREIGN_FAILURES: TimeoutError is an OSError
            error = DepartmentUnavailable(
                f"{self.department}: no answer within {self.settings.timeout_seconds:g} s"
            )
        except FOREIGN_FAILURES as failure:
            error = department_error(self.department, failure)
        else:
            return decode_answer(self.department, query, body)
        # Raised here, outside the handlers, so the foreign exception is not chained to ours.
        raise error

    async def fetch_many(self, queries: Sequence[DepartmentQuery]) -> list[DepartmentAnswer]:
        """Up to ``max_connections`` queries in flight; the first failure cancels the rest.

        Bounded so a large batch does not queue past the pool timeout; answers in query order.
        """
        if not queries:
            return []
        answers: list[DepartmentAnswer | None] = [None] * len(queries)
        pending = iter(enumerate(queries))

        async def worker() -> None:
            for index, query in pending:  # one shared iterator: each query is taken once
                answers[index] = await self.fetch(query)

        width = min(self.settings.max_connections, len(queries))
        workers = [asyncio.ensure_future(worker()) for _ in range(width)]
        try:
            await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        for task in workers:
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                raise failure
        return [answer for answer in answers if answer is not None]

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            if self._closed:
                raise DepartmentError(f"{self.department}: the HTTP adapter is closed")
            self._client = httpx.AsyncClient(
                base_url=self.settings.url,
                timeout=httpx.Timeout(self.settings.timeout_seconds),
                limits=httpx.Limits(
                    max_connections=self.settings.max_connections,
                    max_keepalive_connections=self.settings.keepalive,
                    keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
                ),
                verify=tls_context(self.settings),
                transport=self._transport,
                trust_env=False,
                follow_redirects=False,
            )
        return self._client

    async def _exchange(
        self, client: httpx.AsyncClient, content: bytes, headers: Mapping[str, str]
    ) -> bytes:
        async with client.stream("POST", self._path, content=content, headers=headers) as response:
            if response.status_code != 200:
                await _drain(response)
                raise status_error(self.department, response.status_code)
            media_type = response.headers.get("content-type", "").partition(";")[0]
            if media_type.strip().lower() != JSON_CONTENT_TYPE:
                raise DepartmentAnswerInvalid(f"{self.department}: the answer is not JSON")
            return await self._read_capped(response)

    async def _read_capped(self, response: httpx.Response) -> bytes:
        limit = self.max_answer_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise DepartmentAnswerInvalid(f"{self.department}: the answer exceeds {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        # Decoded bytes are counted, so a compressed bomb stops at the cap too.
        async with _chunks(response) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > limit:
                    raise DepartmentAnswerInvalid(
                        f"{self.department}: the answer exceeds {limit} bytes"
                    )
                chunks.append(chunk)
        return b"".join(chunks)

    def _encoded(self, query: DepartmentQuery) -> bytes:
        error: DepartmentError
        try:
            return request_from_query(query).model_dump_json().encode()
        except ValidationError:
            # A parameter the wire cannot carry (a bool, a huge int): a caller's bug, and the
            # values stay out of the message.
            error = DepartmentError(
                f"{self.department}: the query cannot be expressed in the wire contract"
            )
        raise error

    def _check_facts(self, query: DepartmentQuery) -> None:
        facts = self.settings.facts
        if facts is None:
            return
        for request in query.requests:
            if request.fact not in facts:
                raise DepartmentError(
                    f"{self.department}: fact {request.fact!r} is not configured for this "
                    f"department (departments.{self.department}.facts)"
                )


def _chunks(response: httpx.Response) -> aclosing[AsyncGenerator[bytes, None]]:
    """The decoded body, closed explicitly when we stop early (not left to the GC's hook)."""
    # httpx declares an AsyncIterator; it is an async generator, which is what has aclose().
    return aclosing(cast(AsyncGenerator[bytes, None], response.aiter_bytes()))


async def _drain(response: httpx.Response) -> None:
    size = 0
    try:
        async with _chunks(response) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > ERROR_BODY_DRAIN_BYTES:
                    return  # too long to keep the connection for: it is closed instead
    except FOREIGN_FAILURES:
        return  # the status already says what happened; a cut error body changes nothing


def create_adapter(settings: Mapping[str, object]) -> DepartmentAdapter:
    """The ``verifier.adapters`` entry point ``http``; the keys are in ``_settings``."""
    return HttpDepartmentAdapter(settings_from(settings))
