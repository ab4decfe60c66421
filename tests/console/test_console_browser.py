"""The console in a real browser: Playwright driving Debian's Chromium against ``verifier
console`` serving a real audit log.

Playwright's own browser download is not reachable here, so the test launches the system's
Chromium (``/usr/bin/chromium``, installed by ``.ci/run`` with apt; another binary with
``VERIFIER_TEST_CHROMIUM``). Without it the tests skip, saying why; with
``VERIFIER_REQUIRE_SERVICES=1`` (CI) they fail instead.

Every page a test loads is kept and scanned at the end of the module: no canary planted in
the departments' raw data and no full ID number may appear on any of them. With
``VERIFIER_TEST_CONSOLE_SCREENSHOTS=DIR`` the flows also save the screenshots of
docs/console.md into DIR.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import AUDITOR, AUDITOR_PASSWORD, FAILURES_PER_ACCOUNT, ConsoleLog
from support import service_unavailable, services_required

from verifier.console._security import CONTENT_SECURITY_POLICY
from verifier.model import mask_identifier

if services_required():  # CI: a missing Playwright is an error, never a skip
    import playwright.sync_api as playwright_sync
else:
    playwright_sync = pytest.importorskip("playwright.sync_api")
Browser = playwright_sync.Browser
Page = playwright_sync.Page
expect = playwright_sync.expect

CHROMIUM = Path(os.environ.get("VERIFIER_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = os.environ.get("VERIFIER_TEST_CONSOLE_SCREENSHOTS")
PAGES_SEEN: list[tuple[str, str]] = []
"""(URL, HTML) of every page loaded, for the canary scan."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        service_unavailable(
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set VERIFIER_TEST_CHROMIUM)"
        )
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def seen(page: Page) -> None:
    """Keep the page as it stands now (its expectations met) for the canary scan."""
    page.wait_for_load_state()
    PAGES_SEEN.append((page.url, page.content()))


def shot(page: Page, name: str) -> None:
    """The page is kept for the scan, and its screenshot taken when asked for."""
    seen(page)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def sign_in(page: Page, url: str, password: str = AUDITOR_PASSWORD, account: str = AUDITOR) -> None:
    page.goto(f"{url}/login")
    seen(page)
    page.get_by_label("Account").fill(account)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    seen(page)


def test_sign_in_then_search_by_citizen_id(
    page: Page, console_url: str, console_log: ConsoleLog
) -> None:
    page.goto(console_url)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    shot(page, "sign-in")
    sign_in(page, console_url)
    expect(page).to_have_url(re.compile(r"/search$"))
    expect(page.get_by_text(f"Signed in as {AUDITOR}")).to_be_visible()
    guardian = console_log.ids_by_role[("resident-0", "guardian")]
    page.get_by_label("Citizen ID").fill(guardian)
    page.locator("#search").click()
    expect(page.locator("#result-count")).to_contain_text("matching request")
    assert guardian not in page.url, "the ID never sits in the address bar"
    rows = page.locator("#requests tbody tr")
    expected = console_log.requests_about(guardian)
    expect(rows).to_have_count(expected)
    expect(rows.first).to_contain_text(mask_identifier(guardian))  # only ever masked
    shot(page, "search")


def test_a_trace_shows_facts_calls_and_documents(
    page: Page, console_url: str, console_log: ConsoleLog
) -> None:
    sign_in(page, console_url)
    result = next(r for name, r in console_log.results if name.startswith("resident-"))
    page.goto(f"{console_url}/search?item=school_place&decision={result.decision.outcome}")
    page.locator(f"a[href='/requests/{result.request_id}']").click()
    expect(page.locator("#outcome")).to_have_text(str(result.decision.outcome))
    facts = page.locator("#facts tbody tr")
    expect(facts).to_have_count(len(result.facts))
    for fact in result.facts:
        expect(page.locator("#facts")).to_contain_text(fact.name)
    expect(page.locator("#calls tbody tr")).to_have_count(len(result.department_calls))
    expect(page.locator("#summary")).to_contain_text(result.request_id)
    # Why: the rule's labelled clauses as the decision trace kept them, with their outcomes.
    expect(page.locator("#rule-version")).to_have_text(f"school_place@{result.item_version}")
    clauses = page.locator("#clause-tree li")
    expect(clauses).to_have_count(len(result.decision.explanation))
    for index, clause in enumerate(result.decision.explanation):
        expect(clauses.nth(index)).to_contain_text(clause.label)
        expect(clauses.nth(index).locator(".truth")).to_have_text(str(clause.outcome))
    if any(f.known for f in result.facts):
        expect(page.locator("#documents li").first).to_be_visible()
    shot(page, "trace")


def test_refusals_alerts_and_chain_status(
    page: Page, console_url: str, console_log: ConsoleLog
) -> None:
    sign_in(page, console_url)
    page.goto(f"{console_url}/alerts")
    expect(page.locator("#alerts tbody tr").first).to_contain_text("distinct_subjects_per_hour")
    expect(page.locator("#requests tbody tr")).to_have_count(len(console_log.refused_request_ids))
    expect(page.locator("#requests")).to_contain_text("no_legal_basis")
    shot(page, "alerts")
    page.locator(f"a[href='/requests/{console_log.refused_request_ids[0]}']").click()
    expect(page.locator("#refusals")).to_contain_text("no_legal_basis")
    seen(page)
    page.goto(f"{console_url}/chain")
    expect(page.locator("#state-1")).to_have_text("INTACT")
    expect(page.get_by_text("witness.jsonl")).to_be_visible()
    shot(page, "chain")


def test_the_dashboard_draws_its_charts(
    page: Page, console_url: str, console_log: ConsoleLog
) -> None:
    sign_in(page, console_url)
    page.goto(f"{console_url}/dashboard")
    expect(page.locator("#tiles .tile").first).to_contain_text(str(len(console_log.results)))
    for chart in ("facts", "unknown_rate", "p50", "p95", "decisions", "documents", "refusals"):
        expect(page.locator(f"#chart-{chart} svg")).to_be_visible()
    # One bar per department that provided facts; lines over the day's hours.
    departments = {f.provenance.department for _, r in console_log.results for f in r.facts}
    expect(page.locator("#chart-facts svg text.row")).to_have_count(len(departments))
    assert page.locator("#chart-p95 svg polyline").count() >= 1
    shot(page, "dashboard")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("数据共享绩效")
    shot(page, "dashboard-zh")


def test_a_citizens_printable_statement(
    page: Page, console_url: str, console_log: ConsoleLog
) -> None:
    sign_in(page, console_url)
    page.goto(f"{console_url}/statement")
    child = console_log.ids_by_role[("resident-0", "child")]
    page.get_by_label("Citizen ID").fill(child)
    page.locator("#make-statement").click()
    expect(page.locator("#statement-subject")).to_have_text(mask_identifier(child))
    accesses = console_log.requests_about(child)
    expect(page.locator("#statement article.access")).to_have_count(accesses)
    # The child's statement lists what was read about the child, never the guardian's facts.
    expect(page.locator("#statement")).not_to_contain_text("guardian_social_insurance")
    page.emulate_media(media="print")
    expect(page.locator("#statement-form")).to_be_hidden()
    shot(page, "statement")


def test_security_headers_and_cookies(page: Page, console_url: str) -> None:
    response = page.goto(f"{console_url}/login")
    assert response is not None
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none'
    assert headers["cache-control"] == "no-store"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    sign_in(page, console_url)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["verifier_console"]
    assert session["httpOnly"]
    assert session["secure"]
    assert session["sameSite"] == "Strict"
    personal = page.goto(f"{console_url}/statement")
    assert personal is not None
    assert personal.headers["cache-control"] == "no-store"
    style = page.goto(f"{console_url}/static/console.css")
    assert style is not None
    assert style.status == 200  # every asset is the console's own


def test_a_refused_sign_in_then_the_rate_limit(page: Page, console_url: str) -> None:
    sign_in(page, console_url, password="wrong")
    expect(page.locator("#problem")).to_have_text("Wrong account or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(f"{console_url}/search")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # still signed out
    for _ in range(FAILURES_PER_ACCOUNT - 1):
        sign_in(page, console_url, password="still wrong", account="rate-limited")
    sign_in(page, console_url, password="still wrong", account="rate-limited")
    sign_in(page, console_url, password=AUDITOR_PASSWORD, account="rate-limited")
    expect(page.locator("#problem")).to_contain_text("Too many failed sign-ins")
    shot(page, "sign-in-refused")


def test_no_canary_and_no_full_id_on_any_page(browser: Browser, console_log: ConsoleLog) -> None:
    """Runs last in this module: every page the tests above loaded (skipped with them when
    there is no browser)."""
    assert len(PAGES_SEEN) >= 15, [url for url, _ in PAGES_SEEN]
    for url, html in PAGES_SEEN:
        leaked = [canary for canary in console_log.canaries if canary in html]
        assert not leaked, f"{len(leaked)} canaries on {url}, e.g. {leaked[0]!r}"
        ids = [subject for subject in console_log.subject_ids if subject in html]
        assert not ids, f"a full ID number on {url}"
