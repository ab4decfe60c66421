"""Headers every console response carries, and the development mode's loopback guard.

The pages run no script at all, so the policy allows none: ``default-src 'none'`` with the
console's own stylesheet and images, forms posting back to the console only, and no
framing (clickjacking). Every page may hold personal data (a masked ID, a pseudonym, what
was read about whom), so none is stored by a browser or a proxy: ``no-store``. The
stylesheet alone may be cached.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
STATIC_PREFIX = "/static/"


class SecurityHeaders:
    """Adds the headers above to every response; ``https``: HSTS as well."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self._app = app
        self._https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"cache-control"
                ]
                headers.extend(_HEADERS)
                headers.append(
                    (b"cache-control", b"private, max-age=3600" if static else b"no-store")
                )
                if self._https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self._app(scope, receive, send_with_headers)


def is_loopback_peer(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class LoopbackOnly:
    """Development mode: a request from any other machine is refused (403), whatever
    address the console was bound to."""

    def __init__(self, app: ASGIApp, *, message: bytes) -> None:
        self._app = app
        self._message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if not is_loopback_peer(client[0] if client else None):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await send({"type": "http.response.body", "body": self._message})
                return
        await self._app(scope, receive, send)
