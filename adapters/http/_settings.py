"""The HTTP adapter's settings: checked once at wiring, each problem named by its key.

Keys under ``departments.<department>`` (``adapter`` and ``department`` are the wiring's own):

- ``url`` (required): the department API's base URL, ``http://`` or ``https://``, optionally
  with a path prefix; no credentials, query or fragment (put API keys in ``headers``).
- ``timeout_seconds`` (5): the cap on one request, connection included; the engine's
  deadline usually cancels earlier.
- ``max_connections`` (20) / ``max_keepalive`` (10, or ``max_connections`` if fewer): the
  connection pool's bounds: connections open at once, and idle ones kept for reuse.
- ``ca_bundle``: a PEM file of the CAs to trust for this department (https only); without
  it, the operating system's trust store. Verification is always on for https.
- ``client_cert`` / ``client_key``: PEM files for mutual TLS (the key may sit in the cert
  file, then ``client_key`` is omitted).
- ``headers``: static headers sent with every request; ``headers_from_env``: header name →
  environment variable holding its value (so an API key stays out of the file).
- ``facts``: the catalogue facts this department's API derives. The wiring checks that an
  adapter covers its department's facts, and the adapter cannot see the catalogue, so list
  them here (``verifier simulate`` prints a ready snippet); without it ``supported_facts()``
  is empty and the wiring refuses the department.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from verifier._errors import ConfigurationError

DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_MAX_CONNECTIONS = 20
DEFAULT_MAX_KEEPALIVE = 10


class HttpDepartmentSettings(BaseModel):
    """One department reached over HTTP; see the module docstring for each key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: StrictStr
    url: StrictStr
    adapter: StrictStr | None = None
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=600)
    max_connections: int = Field(default=DEFAULT_MAX_CONNECTIONS, ge=1, le=10_000)
    max_keepalive: int | None = Field(default=None, ge=0, le=10_000)
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    headers: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    headers_from_env: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    facts: frozenset[StrictStr] | None = None

    @property
    def keepalive(self) -> int:
        """Idle connections kept: ``max_keepalive``, else 10 or ``max_connections`` if fewer."""
        if self.max_keepalive is not None:
            return self.max_keepalive
        return min(DEFAULT_MAX_KEEPALIVE, self.max_connections)

    @property
    def uses_tls(self) -> bool:
        return urlsplit(self.url).scheme == "https"


def settings_from(settings: Mapping[str, object]) -> HttpDepartmentSettings:
    """Validated settings from the wiring's mapping, or a ConfigurationError naming the key."""
    department = settings.get("department")
    if not isinstance(department, str) or not department:
        raise ConfigurationError("departments.<department>.department: required (set by wiring)")
    prefix = f"departments.{department}"
    try:
        parsed = HttpDepartmentSettings.model_validate(dict(settings))
    except ValidationError as failure:
        raise ConfigurationError(_describe(prefix, failure)) from None
    _check_url(prefix, parsed.url)
    if parsed.keepalive > parsed.max_connections:
        raise ConfigurationError(f"{prefix}.max_keepalive: must not exceed max_connections")
    if not parsed.uses_tls:
        for key in ("ca_bundle", "client_cert", "client_key"):
            if getattr(parsed, key) is not None:
                raise ConfigurationError(f"{prefix}.{key}: only used with an https url")
    if parsed.client_key is not None and parsed.client_cert is None:
        raise ConfigurationError(f"{prefix}.client_key: needs client_cert")
    return parsed


def request_headers(settings: HttpDepartmentSettings) -> dict[str, str]:
    """The static headers of every request, environment values resolved now (at wiring)."""
    prefix = f"departments.{settings.department}"
    headers = dict(settings.headers)
    for name, variable in settings.headers_from_env.items():
        value = os.environ.get(variable)
        if value is None:
            raise ConfigurationError(
                f"{prefix}.headers_from_env.{name}: environment variable {variable} is not set"
            )
        headers[name] = value
    for name, value in headers.items():
        # Values are never echoed: they are usually secrets.
        if not (name.isascii() and name.isprintable() and name and " " not in name):
            raise ConfigurationError(f"{prefix}.headers: {name!r} is not a valid header name")
        if not (value.isascii() and value.isprintable()):
            raise ConfigurationError(f"{prefix}.headers.{name}: not a valid header value")
    return headers


def tls_context(settings: HttpDepartmentSettings) -> ssl.SSLContext:
    """The TLS context for the department: verification on, the configured trust."""
    if not settings.uses_tls:
        # Never used (the base URL is http and redirects are not followed). A context that
        # trusts nothing fails closed should it ever be, and loads no CA bundle for nothing.
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    prefix = f"departments.{settings.department}"
    cafile = str(settings.ca_bundle) if settings.ca_bundle is not None else None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ValueError) as failure:  # ssl.SSLError is an OSError
        raise ConfigurationError(
            f"{prefix}.ca_bundle: cannot be loaded ({type(failure).__name__})"
        ) from None
    if settings.client_cert is not None:
        key = str(settings.client_key) if settings.client_key is not None else None
        try:
            context.load_cert_chain(str(settings.client_cert), key)
        except (OSError, ValueError) as failure:
            raise ConfigurationError(
                f"{prefix}.client_cert: cannot be loaded with its key ({type(failure).__name__})"
            ) from None
    return context


def _check_url(prefix: str, url: str) -> None:
    # The URL is never quoted back: a mistaken one may carry credentials.
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{prefix}.url: must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ConfigurationError(f"{prefix}.url: must not carry credentials (use headers)")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{prefix}.url: must not have a query or fragment")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigurationError(f"{prefix}.url: the port is not a number 0-65535") from None


def _describe(prefix: str, failure: ValidationError) -> str:
    problems = []
    for error in failure.errors(include_url=False, include_input=False, include_context=False):
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(HttpDepartmentSettings.model_fields))
            problems.append(f"{prefix}.{key}: unknown setting (known: {known})")
        else:
            problems.append(f"{prefix}.{key}: {error['msg']}")
    return "; ".join(problems)
