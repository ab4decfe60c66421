"""The console over HTTP, below the browser: sign-in, CSRF, the rate limit, read-only routes,
bad input named by field, and the ID never in a URL. Against ``verifier console`` running
in its own process on a real port."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import itsdangerous
import pytest
import yaml
from console_support import (
    AUDITOR,
    AUDITOR_PASSWORD,
    PSEUDONYMS,
    ROOT,
    ConsoleLog,
    start_console,
    stop_console,
)

import verifier
from verifier._errors import ConfigurationError
from verifier.console import hash_password, password_matches

PAGES = ("/search", "/alerts", "/chain", "/dashboard", "/statement", "/requests/x")


class Browserless:
    """An HTTP client that keeps the console's cookies itself: they are ``Secure``, which
    a cookie jar would withhold from a plain-HTTP loopback URL (browsers treat loopback as
    a secure context; Python's jar does not)."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        header = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.client.request(
            method, path, headers={"cookie": header} if header else {}, **kwargs
        )  # type: ignore[arg-type]
        for line in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return response

    def csrf(self, path: str = "/login") -> str:
        page = self.request("GET", path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text[:500]
        return found.group(1)

    def sign_in(self, password: str = AUDITOR_PASSWORD, account: str = AUDITOR) -> httpx.Response:
        token = self.csrf()
        return self.request(
            "POST",
            "/login",
            data={"csrf": token, "account": account, "password": password, "next": "/search"},
        )


@pytest.fixture
def client(console_url: str) -> Iterator[Browserless]:
    made = Browserless(console_url)
    try:
        yield made
    finally:
        made.client.close()


def test_every_page_needs_a_sign_in(client: Browserless) -> None:
    for path in PAGES:
        response = client.request("GET", path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_sign_in_without_the_forms_csrf_token_is_refused(client: Browserless) -> None:
    client.csrf()
    response = client.request(
        "POST", "/login", data={"csrf": "forged", "account": AUDITOR, "password": AUDITOR_PASSWORD}
    )
    assert response.status_code == 403
    assert client.request("GET", "/search").status_code == 303  # not signed in


def test_sign_in_redirects_only_within_the_console(client: Browserless) -> None:
    token = client.csrf()
    response = client.request(
        "POST", "/login",
        data={"csrf": token, "account": AUDITOR, "password": AUDITOR_PASSWORD,
              "next": "//elsewhere.example/x"},
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/search"


def test_signing_out_ends_the_session(client: Browserless) -> None:
    assert client.sign_in().status_code == 303
    assert client.request("GET", "/search").status_code == 200
    token = client.csrf("/search")
    assert client.request("POST", "/logout", data={"csrf": token}).status_code == 303
    assert client.request("GET", "/search").status_code == 303


def test_no_route_writes(client: Browserless) -> None:
    client.sign_in()
    for path in PAGES:
        for method in ("PUT", "PATCH", "DELETE"):
            assert client.request(method, path).status_code == 405, (method, path)
    for path in ("/alerts", "/chain", "/dashboard", "/requests/x"):
        assert client.request("POST", path).status_code == 405, path


def test_a_citizen_id_is_hashed_and_never_put_in_a_url(
    client: Browserless, console_log: ConsoleLog
) -> None:
    client.sign_in()
    subject = console_log.ids_by_role[("resident-1", "guardian")]
    token = client.csrf("/search")
    response = client.request(
        "POST", "/search", data={"csrf": token, "subject": subject, "item": "school_place"}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert subject not in location
    assert PSEUDONYMS.pseudonym(subject) in location
    page = client.request("GET", location)
    assert page.status_code == 200
    assert subject not in page.text
    rows = page.text.count("<tr>") - 1  # the header row
    assert rows == console_log.requests_about(subject)


def test_a_bad_id_and_bad_dates_are_named_by_field(client: Browserless) -> None:
    client.sign_in()
    token = client.csrf("/search")
    typed = "110101199003071234"  # a wrong check character
    response = client.request("POST", "/search", data={"csrf": token, "subject": typed})
    page = client.request("GET", response.headers["location"])
    assert page.status_code == 400
    assert "subject: not a valid resident ID" in page.text
    assert typed not in page.text
    assert typed not in response.headers["location"]
    page = client.request("GET", "/dashboard?since=31-08-2026")
    assert page.status_code == 400
    assert "since: " in page.text
    page = client.request("GET", "/search?since=2026-09-01&until=2026-08-01")
    assert page.status_code == 400
    assert "until: until must be later than since" in page.text
    page = client.request("GET", "/search?decision=MAYBE")
    assert page.status_code == 400
    assert "decision: not one of" in page.text


def test_an_unknown_request_is_not_found(client: Browserless) -> None:
    client.sign_in()
    assert client.request("GET", "/requests/no-such-request").status_code == 404


def test_a_trace_of_each_refusal(client: Browserless, console_log: ConsoleLog) -> None:
    client.sign_in()
    for request_id in console_log.refused_request_ids:
        page = client.request("GET", f"/requests/{request_id}")
        assert page.status_code == 200
        assert "no_legal_basis" in page.text


def test_the_page_language_follows_the_switch(client: Browserless) -> None:
    client.sign_in()
    switched = client.request("GET", "/lang?to=zh&next=/dashboard")
    assert switched.status_code == 303
    assert switched.headers["location"] == "/dashboard"
    assert "数据共享绩效" in client.request("GET", "/dashboard").text
    client.request("GET", "/lang?to=en&next=https://elsewhere.example/")
    assert "Sharing performance" in client.request("GET", "/dashboard").text


def _config_with(tmp_path: Path, console: dict[str, object], **more: object) -> Path:
    path = tmp_path / "verifier.yaml"
    path.write_text(yaml.safe_dump({"console": console, **more}), encoding="utf-8")
    return path


def test_development_mode_serves_this_machine_without_a_sign_in(
    console_log: ConsoleLog, tmp_path: Path
) -> None:
    settings = yaml.safe_load(console_log.config_file.read_text(encoding="utf-8"))
    settings["console"] = {}
    config_file = tmp_path / "dev.yaml"
    config_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    process, url = start_console(config_file)
    try:
        page = httpx.get(f"{url}/chain", timeout=30)
        assert page.status_code == 200
        assert "Development mode" in page.text
        assert "INTACT" in page.text
    finally:
        stop_console(process)


def test_a_console_on_a_network_needs_tls_and_accounts(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a loopback address"):
        verifier.load_config(_config_with(tmp_path, {"address": "0.0.0.0:8450"}))


def test_an_auditor_account_is_not_a_calling_system(tmp_path: Path) -> None:
    account = {"password_hash": hash_password("x", n=2)}
    with pytest.raises(ConfigurationError, match="kept apart"):
        verifier.load_config(_config_with(tmp_path, {"accounts": {"embedded": account}}))


def test_a_password_in_the_clear_is_refused_as_a_hash(tmp_path: Path) -> None:
    config = _config_with(tmp_path, {"accounts": {"auditor": {"password_hash": "secret"}}})
    with pytest.raises(ConfigurationError, match="password_hash"):
        verifier.load_config(config)


def test_hash_password_command_reads_standard_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "verifier.cli", "console", "--hash-password"],
        input="a long passphrase\n", capture_output=True, text=True, cwd=ROOT, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    encoded = done.stdout.strip()
    assert "a long passphrase" not in encoded
    assert password_matches("a long passphrase", encoded)
    assert not password_matches("a long passphrase!", encoded)


STATEMENTS = 30
"""Subjects whose statements the sweep below makes (each reads the whole log)."""


def test_no_canary_and_no_full_id_on_any_page_of_the_log(
    client: Browserless, console_log: ConsoleLog
) -> None:
    """Every request's trace, every list and chart page in both languages, and the
    statements of many subjects: no raw department value, no full ID number."""
    client.sign_in()
    pages = {}
    for language in ("en", "zh"):
        client.request("GET", f"/lang?to={language}&next=/search")
        for path in ("/search?since=2000-01-01", "/alerts", "/chain", "/dashboard"):
            pages[f"{path} ({language})"] = client.request("GET", path).text
    every = pages["/search?since=2000-01-01 (en)"]
    request_ids = re.findall(r'href="/requests/([0-9a-f]+)"', every)
    assert len(request_ids) == len(console_log.results) + len(console_log.refused_request_ids)
    for request_id in request_ids:
        pages[f"/requests/{request_id}"] = client.request("GET", f"/requests/{request_id}").text
    for subject in sorted(console_log.subject_ids)[:STATEMENTS]:
        token = client.csrf("/statement")
        posted = client.request("POST", "/statement", data={"csrf": token, "subject": subject})
        statement = client.request("GET", posted.headers["location"])
        assert "statement-subject" in statement.text
        pages[posted.headers["location"]] = statement.text
    for where, html in pages.items():
        leaked = [canary for canary in console_log.canaries if canary in html]
        assert not leaked, f"{len(leaked)} canaries on {where}, e.g. {leaked[0]!r}"
        ids = [subject for subject in console_log.subject_ids if subject in html]
        assert not ids, f"a full ID number on {where}"


def _session_cookie(secret: str, session: dict[str, object]) -> str:
    """A session cookie as the console signs one (Starlette's SessionMiddleware)."""
    data = base64.b64encode(json.dumps(session).encode("utf-8"))
    return itsdangerous.TimestampSigner(secret).sign(data).decode("utf-8")


@pytest.mark.parametrize(
    ("case", "session"),
    [
        ("expired", {"account": AUDITOR, "since": time.time() - 31 * 60, "csrf": "x"}),
        ("removed account", {"account": "auditor-gone", "since": time.time(), "csrf": "x"}),
        ("no sign-in time", {"account": AUDITOR, "csrf": "x"}),
    ],
)
def test_a_session_past_its_time_or_for_no_account_is_signed_out(
    client: Browserless, console_log: ConsoleLog, case: str, session: dict[str, object]
) -> None:
    secret = console_log.config.console.session_secret
    assert secret is not None
    client.cookies["verifier_console"] = _session_cookie(secret.get_secret_value(), session)
    assert client.request("GET", "/search").status_code == 303, case
    fresh = dict(session, account=AUDITOR, since=time.time())
    client.cookies["verifier_console"] = _session_cookie(secret.get_secret_value(), fresh)
    assert client.request("GET", "/search").status_code == 200  # the same secret, in time
    forged = _session_cookie("another secret of the same length as....", fresh)
    client.cookies["verifier_console"] = forged
    assert client.request("GET", "/search").status_code == 303
