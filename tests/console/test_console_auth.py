"""Passwords, the sign-in rate limit and the development mode's guard, on their own."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from verifier.console import hash_password, password_matches
from verifier.console._auth import LoginLimits, LoginThrottle, check_sign_in, csrf_matches
from verifier.console._security import LoopbackOnly, is_loopback_peer


def test_a_hash_checks_its_own_password_only() -> None:
    encoded = hash_password("correct horse")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert password_matches("correct horse", encoded)
    assert not password_matches("correct horse ", encoded)
    assert hash_password("correct horse") != encoded  # a fresh salt each time


def test_a_malformed_or_too_costly_hash_matches_nothing() -> None:
    assert not password_matches("x", "scrypt$16384$8$1$notbase64!$AAAA")
    assert not password_matches("x", "bcrypt$1$2$3$AAAA$AAAA")
    assert not password_matches("x", "scrypt$4194304$8$1$AAAA$AAAA")  # a minute per try


def test_an_unknown_account_is_refused_like_a_wrong_password() -> None:
    accounts = {"li": hash_password("pw", n=2)}
    assert check_sign_in(accounts, "li", "pw")
    assert not check_sign_in(accounts, "li", "other")
    assert not check_sign_in(accounts, "wang", "pw")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_account_is_throttled_past_its_failures_until_the_window_passes() -> None:
    clock = Clock()
    throttle = LoginThrottle(LoginLimits(3, 100, 60.0), clock=clock)
    for _ in range(3):
        assert throttle.retry_after("li", "10.0.0.1") == 0
        throttle.failed("li", "10.0.0.1")
        clock.now += 1
    # Failed at 1000, 1001, 1002; now 1003: free once the first is a minute old.
    assert throttle.retry_after("li", "10.0.0.2") == 57.0  # from any address
    assert throttle.retry_after("wang", "10.0.0.1") == 0  # another account is not held up
    clock.now += 57
    assert throttle.retry_after("li", "10.0.0.1") == 0


def test_an_address_is_throttled_across_accounts() -> None:
    clock = Clock()
    throttle = LoginThrottle(LoginLimits(100, 4, 60.0), clock=clock)
    for number in range(4):
        throttle.failed(f"name-{number}", "10.0.0.9")
    assert throttle.retry_after("name-new", "10.0.0.9") == 60.0
    assert throttle.retry_after("name-new", "10.0.0.8") == 0


def test_a_right_password_clears_the_accounts_failures() -> None:
    throttle = LoginThrottle(LoginLimits(2, 100, 60.0), clock=Clock())
    throttle.failed("li", "a")
    throttle.succeeded("li")
    throttle.failed("li", "a")
    assert throttle.retry_after("li", "a") == 0


def test_the_throttle_follows_a_bounded_number_of_names() -> None:
    throttle = LoginThrottle(LoginLimits(1, 1, 60.0), clock=Clock(), max_keys=10)
    for number in range(100):
        throttle.failed(f"name-{number}", f"10.0.{number}.1")
    assert len(throttle._failures) == 10


def test_csrf_tokens_compare_exactly() -> None:
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd")
    assert not csrf_matches(None, None)
    assert not csrf_matches("", "")


async def test_development_mode_refuses_another_machine() -> None:
    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"page"})

    guard = LoopbackOnly(page, message=b"this machine only")

    async def status_for(host: str) -> int:
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        await guard({"type": "http", "client": (host, 5000), "path": "/"}, receive, send)
        return int(sent[0]["status"])

    assert await status_for("127.0.0.1") == 200
    assert await status_for("::1") == 200
    assert await status_for("192.168.1.20") == 403
    assert not is_loopback_peer(None)
