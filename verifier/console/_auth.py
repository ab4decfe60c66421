"""Who may read the console: auditors' passwords (scrypt), the sign-in rate limit, and the
CSRF token of the forms.

scrypt is in the standard library (``hashlib.scrypt``, OpenSSL's), memory-hard, and needs
no package beside it; argon2id would be the other choice and brings a C extension for the
same protection at these parameters. Nothing here imports the web framework: it is tested
and used on its own (``verifier console --hash-password``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
_MAX_MEMORY = 64 << 20
_MAX_N = 2**20
"""A configured hash with a larger cost is refused: one sign-in must not take a minute."""


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``password`` with a fresh salt."""
    if not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)
    return "$".join(("scrypt", str(n), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)))


def password_matches(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` was made from (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        cost = (int(n), int(r), int(p))
        expected = base64.b64decode(digest, validate=True)
        salt_bytes = base64.b64decode(salt, validate=True)
    except ValueError:
        return False
    if scheme != "scrypt" or not 2 <= cost[0] <= _MAX_N or cost[1] > 32 or cost[2] > 4:
        return False
    actual = _scrypt(password, salt_bytes, *cost, length=len(expected))
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = _HASH_BYTES) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAX_MEMORY, dklen=length
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


_UNKNOWN_ACCOUNT = hash_password(secrets.token_urlsafe(16))
"""Checked against when the account does not exist, so that a wrong name costs the same
time as a wrong password and timing tells no one which auditors exist."""


def check_sign_in(accounts: Mapping[str, str], account: str, password: str) -> bool:
    """Whether ``account`` exists in ``accounts`` (name → hash) and ``password`` is its own."""
    encoded = accounts.get(account)
    matches = password_matches(password, encoded or _UNKNOWN_ACCOUNT)
    return encoded is not None and matches


@dataclass(frozen=True, slots=True)
class LoginLimits:
    per_account: int
    per_address: int
    window_seconds: float


class LoginThrottle:
    """Failed sign-ins per account name and per client address, within a sliding window.

    A name or an address past its limit is refused until its oldest failure in the window
    ages out, whatever the password: guessing is slowed for one account from many machines
    and for many accounts from one machine. Memory is bounded: at most ``max_keys`` names
    and addresses are followed, the least recently failed forgotten first.
    """

    def __init__(
        self,
        limits: LoginLimits,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def retry_after(self, account: str, address: str) -> float:
        """Seconds until a sign-in may be tried (0: now)."""
        now = self._clock()
        waits = [
            self._wait(("account", account), self._limits.per_account, now),
            self._wait(("address", address), self._limits.per_address, now),
        ]
        return max(waits)

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        for key in (("account", account), ("address", address)):
            failures = self._failures.pop(key, None) or deque()
            failures.append(now)
            self._failures[key] = failures
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        """A right password clears the account's count (not its address's)."""
        self._failures.pop(("account", account), None)

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> float:
        failures = self._failures.get(key)
        if failures is None:
            return 0.0
        window = self._limits.window_seconds
        while failures and failures[0] <= now - window:
            failures.popleft()
        if len(failures) < limit:
            return 0.0
        return failures[-limit] + window - now


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: object, given: object) -> bool:
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), given.encode())
    )
