"""Translate at the edge: every httpx failure and HTTP status becomes a ``DepartmentError``.

    httpx exception                              ours                     retryable
    TimeoutException (connect/read/write/pool)   DepartmentUnavailable    yes
    NetworkError (connect/read/write/close)      DepartmentUnavailable    yes
    RemoteProtocolError (reset or cut mid-body)  DepartmentUnavailable    yes
    ProxyError                                   DepartmentUnavailable    yes
    any of the above caused by a rejected        DepartmentUnavailable    no
      TLS certificate (theirs or ours)
    DecodingError (bad gzip, bad charset…)       DepartmentAnswerInvalid  no
    HTTPStatusError                              as its status, below
    everything else (LocalProtocolError,         DepartmentError          no
      UnsupportedProtocol, TooManyRedirects,
      InvalidURL, CookieConflict, StreamError…)

    HTTP status        5xx, 429, 408 → DepartmentUnavailable (yes); other 4xx and 3xx →
                       DepartmentError (no); any other non-200 → DepartmentAnswerInvalid (no)

A certificate that fails verification is a configuration error (wrong CA bundle, expired or
misissued certificate, client certificate refused), not a transient one: repeating the call
cannot fix it, so it is not retryable, though it is still "unavailable" to the engine. (A
server refusing *our* certificate under TLS 1.3 often just resets the connection after the
handshake, with no alert we can read: that looks like any reset and stays retryable.)

Messages carry the department and the exception's class name only: httpx's own messages
can quote URLs (with query strings) and its exceptions hold the request; the caller raises
our error outside its ``except`` block so the original is not even chained.
"""

from __future__ import annotations

import ssl

import httpx

from verifier._errors import DepartmentAnswerInvalid, DepartmentError, DepartmentUnavailable

FOREIGN_FAILURES: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.CookieConflict,
    httpx.StreamError,
    OSError,  # the transport maps socket errors, but a custom transport may not
)
"""What the adapter catches around every exchange; ``department_error`` maps each."""

_TRANSIENT: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
    OSError,
)


def department_error(department: str, failure: Exception) -> DepartmentError:
    """Our error for a foreign one (any of ``FOREIGN_FAILURES``)."""
    kind = type(failure).__name__
    if _certificate_rejected(failure):
        return DepartmentUnavailable(
            f"{department}: TLS certificate rejected ({kind}); check the CA bundle and "
            "client certificate settings",
            retryable=False,
        )
    if isinstance(failure, _TRANSIENT):
        return DepartmentUnavailable(f"{department}: HTTP department unavailable ({kind})")
    if isinstance(failure, httpx.DecodingError):
        return DepartmentAnswerInvalid(f"{department}: the answer could not be decoded ({kind})")
    if isinstance(failure, httpx.HTTPStatusError):
        return status_error(department, failure.response.status_code)
    return DepartmentError(f"{department}: HTTP request failed ({kind})")


def status_error(department: str, status: int) -> DepartmentError:
    """Our error for a non-200 status."""
    if status >= 500 or status in (408, 429):
        return DepartmentUnavailable(f"{department}: answered HTTP {status}")
    if 300 <= status < 500:
        # Redirects are not followed: a department that moved is a configuration change.
        return DepartmentError(f"{department}: refused the request (HTTP {status})")
    return DepartmentAnswerInvalid(f"{department}: unexpected HTTP {status}")


def _certificate_rejected(failure: BaseException) -> bool:
    """Whether a certificate check (ours of theirs, or theirs of ours) caused ``failure``."""
    seen: set[int] = set()
    current: BaseException | None = failure
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if isinstance(current, ssl.SSLError):
            # The peer's alerts: e.g. TLSV13_ALERT_CERTIFICATE_REQUIRED, TLSV1_ALERT_UNKNOWN_CA.
            reason = str(current.reason or "")
            if "CERTIFICATE" in reason or reason.endswith("UNKNOWN_CA"):
                return True
        current = current.__cause__ or current.__context__
    return False
