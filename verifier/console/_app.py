"""The console's web application: read-only pages over the audit log for auditors.

Every route is a GET that reads, except signing in and out (POST, with a CSRF token) and
the two forms that take a citizen's ID (POST, so that the ID never sits in an address bar,
a browser history or an access log: they answer with a redirect to the page for the
subject's pseudonym). Nothing writes to the log, to the departments or to the
configuration.
"""

from __future__ import annotations

import secrets
import threading
import time
from argparse import ArgumentTypeError
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from verifier._errors import ConfigurationError
from verifier.audit import Pseudonymiser
from verifier.catalogue import Catalogue, load_catalogue
from verifier.cli._audit_source import Period, RecordFilter, RequestKind, moment, parse_subject
from verifier.cli._audit_stores import AuditSource, file_source
from verifier.config import VerifierConfig, pseudonymiser_for, witness_for
from verifier.console import _data, _views
from verifier.console._auth import (
    LoginLimits,
    LoginThrottle,
    check_sign_in,
    csrf_matches,
    new_csrf_token,
)
from verifier.console._labels import Language, label, language_of
from verifier.console._security import LoopbackOnly, SecurityHeaders
from verifier.model import DecisionOutcome
from verifier.rules import ItemRegistry, load_service_items

SESSION_COOKIE = "verifier_console"
LANGUAGE_COOKIE = "verifier_console_lang"
DEVELOPMENT_ACCOUNT = "development"
MAX_FORM_BYTES = 8192
"""A sign-in or search form is a few hundred bytes; a bigger body is refused unread."""


@dataclass(frozen=True)
class ConsoleContext:
    """What every page reads: the configuration, the log and its keys, the throttle."""

    config: VerifierConfig
    source: AuditSource
    reading: threading.Lock
    """One page reads the trail at a time: a PostgreSQL store is one connection."""
    catalogue: Catalogue
    items: ItemRegistry
    pseudonymiser: Pseudonymiser
    throttle: LoginThrottle
    throttle_lock: threading.Lock
    templates: Environment

    @property
    def development(self) -> bool:
        return self.config.console.development


class FieldError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def create_app(
    config: VerifierConfig,
    *,
    source: AuditSource | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The console over ``source`` (default: the configured audit directory's files; an
    open PostgreSQL store stays the caller's to close). ``clock``
    drives the sign-in rate limit (tests pass their own)."""
    settings = config.console
    templates = Environment(
        loader=PackageLoader("verifier.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalogue = load_catalogue(config.catalogue)
    context = ConsoleContext(
        config=config,
        source=source or file_source(config.audit_directory()),
        reading=threading.Lock(),
        catalogue=catalogue,
        items=load_service_items(catalogue, config.items_dir, config.parameters_dir),
        pseudonymiser=pseudonymiser_for(config, create=False),
        throttle=LoginThrottle(
            LoginLimits(
                per_account=settings.login_failures_per_account,
                per_address=settings.login_failures_per_address,
                window_seconds=settings.login_window_minutes * 60,
            ),
            clock=clock,
        ),
        throttle_lock=threading.Lock(),
        templates=templates,
    )
    secret = (
        settings.session_secret.get_secret_value()
        if settings.session_secret is not None
        else secrets.token_urlsafe(48)
    )
    middleware = [
        Middleware(SecurityHeaders, https=settings.tls is not None),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            max_age=settings.session_minutes * 60,
            same_site="strict",
            https_only=True,
        ),
    ]
    if settings.development:
        middleware.insert(1, Middleware(LoopbackOnly, message=label("forbidden", "en").encode()))
    pages = Pages(context)
    routes = [
        Route("/", pages.home),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/lang", pages.switch_language),
        Route("/search", pages.search, methods=["GET"]),
        Route("/search", pages.search_subject, methods=["POST"]),
        Route("/requests/{request_id}", pages.trace),
        Route("/alerts", pages.alerts),
        Route("/chain", pages.chain),
        Route("/dashboard", pages.dashboard),
        Route("/statement", pages.statement, methods=["GET"]),
        Route("/statement", pages.statement_subject, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("verifier.console", "static")]), name="static"),
    ]
    return Starlette(routes=routes, middleware=middleware)


Choice = TypeVar("Choice", bound=StrEnum)


class Pages:
    def __init__(self, context: ConsoleContext) -> None:
        self._context = context

    # --- signing in and out -------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        if self._context.development or self._account(request):
            return RedirectResponse("/search", status_code=303)
        return self._login_page(request, None, 200)

    def _login_page(self, request: Request, problem: str | None, status: int) -> Response:
        return self._render(
            request, "login.html", {"problem": problem, "next": _local_path(request)}, status
        )

    async def login(self, request: Request) -> Response:
        if self._context.development:
            return RedirectResponse("/search", status_code=303)
        language = self._language(request)
        form = await _form(request)
        if not csrf_matches(request.session.get("csrf"), form.get("csrf")):
            return self._login_page(request, label("sign_in.expired", language), 403)
        account = form.get("account", "").strip()[:100]
        address = request.client.host if request.client else "unknown"
        with self._context.throttle_lock:
            wait = self._context.throttle.retry_after(account, address)
        if wait > 0:
            seconds = int(wait) + 1
            response = self._login_page(
                request, label("sign_in.throttled", language, seconds=seconds), 429
            )
            response.headers["retry-after"] = str(seconds)
            return response
        accounts = {
            name: entry.password_hash
            for name, entry in self._context.config.console.accounts.items()
        }
        password = form.get("password", "")
        signed_in = await run_in_threadpool(check_sign_in, accounts, account, password)
        with self._context.throttle_lock:
            if signed_in:
                self._context.throttle.succeeded(account)
            else:
                self._context.throttle.failed(account, address)
        if not signed_in:
            return self._login_page(request, label("sign_in.refused", language), 401)
        request.session.clear()
        request.session.update({"account": account, "since": time.time(), "csrf": new_csrf_token()})
        return RedirectResponse(_local_path(request, form.get("next")), status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await _form(request)
        if csrf_matches(request.session.get("csrf"), form.get("csrf")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    async def switch_language(self, request: Request) -> Response:
        to = request.query_params.get("to")
        response = RedirectResponse(_local_path(request), status_code=303)
        if to in ("en", "zh"):
            response.set_cookie(
                LANGUAGE_COOKIE, to, max_age=365 * 86400, secure=True, httponly=True,
                samesite="strict",
            )  # fmt: skip
        return response

    # --- pages ----------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/search", status_code=303)

    async def search(self, request: Request) -> Response:
        return await self._page(request, self._search_page)

    async def search_subject(self, request: Request) -> Response:
        return await self._subject_form(request, "/search")

    async def statement_subject(self, request: Request) -> Response:
        return await self._subject_form(request, "/statement")

    async def trace(self, request: Request) -> Response:
        return await self._page(request, self._trace_page)

    async def alerts(self, request: Request) -> Response:
        return await self._page(request, self._alerts_page)

    async def chain(self, request: Request) -> Response:
        return await self._page(request, self._chain_page)

    async def dashboard(self, request: Request) -> Response:
        return await self._page(request, self._dashboard_page)

    async def statement(self, request: Request) -> Response:
        return await self._page(request, self._statement_page)

    async def _subject_form(self, request: Request, target: str) -> Response:
        """A citizen's ID, posted: hashed here, and the page for its pseudonym shown by a
        redirect (the other fields carried along as the query)."""
        account = self._account(request)
        if account is None:
            return _to_login(request)
        form = await _form(request)
        if not csrf_matches(request.session.get("csrf"), form.get("csrf")):
            return PlainTextResponse("the form expired: reload the page", status_code=403)
        query = {
            key: form[key]
            for key in ("caller", "item", "decision", "kind", "since", "until")
            if form.get(key)
        }
        text = form.get("subject", "").strip()
        if text:
            try:
                query["subject"] = self._context.pseudonymiser.pseudonym(parse_subject(text))
            except ValueError as exc:
                query["subject_error"] = str(exc)[:300]
        return RedirectResponse(f"{target}?{urlencode(query)}", status_code=303)

    async def _page(
        self, request: Request, build: Callable[[Request], tuple[str, dict[str, Any], int]]
    ) -> Response:
        account = self._account(request)
        if account is None:
            return _to_login(request)
        # Pages read the log from disk or the database: off the event loop, one at a time.
        template, values, status = await run_in_threadpool(self._locked, build, request)
        return self._render(request, template, values, status)

    def _locked(
        self, build: Callable[[Request], tuple[str, dict[str, Any], int]], request: Request
    ) -> tuple[str, dict[str, Any], int]:
        with self._context.reading:
            return build(request)

    def _search_page(self, request: Request) -> tuple[str, dict[str, Any], int]:
        query = request.query_params
        errors: list[FieldError] = []
        criteria = _criteria(query, errors)
        values: dict[str, Any] = {
            "query": query,
            "errors": errors,
            "decisions": [d.value for d in DecisionOutcome],
            "kinds": [k.value for k in RequestKind],
            "search": None,
            "key_note": None,
        }
        searched = any(query.get(key) for key in (*_CRITERIA, "subject"))
        if criteria is not None and searched and not errors:
            found = _data.search(self._context.source, criteria, self._max_rows)
            values["search"] = found
            values["key_note"] = (
                _data.key_note(self._context.pseudonymiser, found.keys, found.total)
                if criteria.pseudonym
                else None
            )
        return "search.html", values, 400 if errors else 200

    def _trace_page(self, request: Request) -> tuple[str, dict[str, Any], int]:
        request_id = request.path_params["request_id"]
        found = _data.find_request(self._context.source, request_id)
        values: dict[str, Any] = {"request_id": request_id, "found": found, "documents": []}
        if found is None:
            return "trace.html", values, 404
        values["where"] = found.located.where(self._context.source.root)
        values["documents"] = _views.documents_of(found.record, self._context.catalogue)
        values["clauses"] = _views.clause_tree(found.record)
        return "trace.html", values, 200

    def _alerts_page(self, request: Request) -> tuple[str, dict[str, Any], int]:
        errors: list[FieldError] = []
        period = _period(request.query_params, errors)
        found = _data.incidents(self._context.source, period, self._max_rows)
        return (
            "alerts.html",
            {"found": found, "errors": errors, "query": request.query_params},
            (400 if errors else 200),
        )

    def _chain_page(self, request: Request) -> tuple[str, dict[str, Any], int]:
        witness = None
        witness_error = None
        try:
            witness = witness_for(self._context.config)
        except Exception as exc:  # a misconfigured witness is shown, not a crash
            witness_error = str(exc)
        try:
            statuses = _data.chain_status(self._context.source, witness)
        finally:
            if witness is not None:
                witness.close()
        values = {
            "statuses": statuses,
            "witness": repr(witness) if witness is not None else None,
            "witness_error": witness_error,
            "source": self._context.source.description,
        }
        return "chain.html", values, 200

    def _dashboard_page(self, request: Request) -> tuple[str, dict[str, Any], int]:
        errors: list[FieldError] = []
        period = _period(request.query_params, errors)
        report, timeline = _data.dashboard(self._context.source, self._context.catalogue, period)
        language = self._language(request)
        charts = _views.dashboard_charts(report, timeline, language)
        values = {
            "errors": errors,
            "query": request.query_params,
            "figures": report.as_json(),
            "charts": charts,
            "bucket": timeline.span()[0],
        }
        return "dashboard.html", values, 400 if errors else 200

    def _statement_page(self, request: Request) -> tuple[str, dict[str, Any], int]:
        query = request.query_params
        errors: list[FieldError] = []
        period = _period(query, errors)
        if query.get("subject_error"):
            errors.append(FieldError("subject", query["subject_error"]))
        pseudonym = query.get("subject")
        values: dict[str, Any] = {
            "query": query,
            "errors": errors,
            "statement": None,
            "period": period,
            "key_note": None,
            "generated": datetime.now(UTC),
        }
        if pseudonym and not errors:
            found = _data.statement(self._context.source, pseudonym, period, self._context.items)
            values["statement"] = found
            values["key_note"] = _data.key_note(
                self._context.pseudonymiser, found.keys, len(found.accesses)
            )
        return "statement.html", values, 400 if errors else 200

    # --- helpers --------------------------------------------------------------------------

    @property
    def _max_rows(self) -> int:
        return self._context.config.console.max_rows

    def _account(self, request: Request) -> str | None:
        if self._context.development:
            return DEVELOPMENT_ACCOUNT
        account = request.session.get("account")
        since = request.session.get("since")
        if not isinstance(account, str) or not isinstance(since, int | float):
            return None
        lifetime = self._context.config.console.session_minutes * 60
        if time.time() - since > lifetime or account not in self._context.config.console.accounts:
            request.session.clear()  # expired, or the account was removed since
            return None
        return account

    def _language(self, request: Request) -> Language:
        return language_of(
            request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
        )

    def _render(
        self, request: Request, template: str, values: Mapping[str, Any], status: int
    ) -> Response:
        language = self._language(request)
        if "csrf" not in request.session:
            request.session["csrf"] = new_csrf_token()
        page = self._context.templates.get_template(template).render(
            **values,
            t=lambda key, **kw: label(key, language, **kw),
            language=language,
            other_language="en" if language == "zh" else "zh",
            here=_here(request),
            csrf=request.session["csrf"],
            account=self._account(request),
            development=self._context.development,
            view=_views,
        )
        return HTMLResponse(page, status_code=status)


_CRITERIA = ("caller", "item", "decision", "kind", "since", "until")


def _criteria(query: Mapping[str, str], errors: list[FieldError]) -> RecordFilter | None:
    period = _period(query, errors)
    if query.get("subject_error"):
        errors.append(FieldError("subject", query["subject_error"]))
    decision = _choice(query, "decision", DecisionOutcome, str.upper, errors)
    kind = _choice(query, "kind", RequestKind, str.lower, errors)
    if errors:
        return None
    return RecordFilter(
        period=period,
        pseudonym=query.get("subject") or None,
        caller=query.get("caller") or None,
        item=query.get("item") or None,
        decision=decision,
        kind=kind,
    )


def _choice(
    query: Mapping[str, str],
    name: str,
    choices: type[Choice],
    normalise: Callable[[str], str],
    errors: list[FieldError],
) -> Choice | None:
    """The query's ``name`` as one of ``choices`` (None if not given; an error if not one)."""
    text = query.get(name)
    if not text:
        return None
    try:
        return choices(normalise(text))
    except ValueError:
        errors.append(FieldError(name, f"not one of {', '.join(choices)}"))
        return None


def _period(query: Mapping[str, str], errors: list[FieldError]) -> Period:
    parsed: dict[str, tuple[datetime, bool] | None] = {}
    for name in ("since", "until"):
        text = (query.get(name) or "").strip()
        parsed[name] = None
        if text:
            try:
                parsed[name] = moment(text)
            except ArgumentTypeError as exc:
                errors.append(FieldError(name, str(exc)))
    try:
        return Period.between(parsed["since"], parsed["until"])
    except ConfigurationError as exc:
        errors.append(FieldError("until", str(exc).replace("--", "")))
        return Period()


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, at most ``MAX_FORM_BYTES``: each
    field's first value."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}


def _local_path(request: Request, given: str | None = None) -> str:
    """``next`` as a path on this console (never another site: ``//x`` or ``https:…``)."""
    target = given if given is not None else request.query_params.get("next", "/search")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/search"
    return target


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def _to_login(request: Request) -> Response:
    return RedirectResponse(f"/login?{urlencode({'next': _here(request)})}", status_code=303)
