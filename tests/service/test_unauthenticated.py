"""Unauthenticated calls counted per peer host and minute, into a real audit log.

The clock is the test's: each minute's end is placed a moment of real time ahead, so the
boundary timer is exercised without waiting a minute (and nothing here is timed).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_support import until
from support import TEST_PSEUDONYM_KEY

from verifier.audit import (
    ChainedAuditLog,
    Pseudonymiser,
    load_or_create_signing_key,
    read_audit_entries,
)
from verifier.service._unauthenticated import (
    MAX_DECLARED_SYSTEMS,
    UnauthenticatedAttempts,
    peer_host,
)


class SteppedClock:
    """Wall time of the test's choosing, advancing with real time from where it is set."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, at: datetime) -> None:
        self._at, self._since = at, time.monotonic()

    def __call__(self) -> datetime:
        return self._at + timedelta(seconds=time.monotonic() - self._since)


@pytest.fixture
def audit_log(tmp_path: Path) -> ChainedAuditLog:
    return ChainedAuditLog(tmp_path, load_or_create_signing_key(tmp_path), fsync=False)


def records(log: ChainedAuditLog) -> list[dict[str, Any]]:
    return [dict(e.body) for e in read_audit_entries(log.directory) if e.type == "record"]


MINUTE = datetime(2026, 8, 31, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:10.0.0.7:51234", "10.0.0.7"),
        ("ipv6:[::1]:51234", "::1"),
        ("ipv6:%5B2001:db8::5%5D:443", "2001:db8::5"),
        ("unix:/run/verifier.sock", "unix:/run/verifier.sock"),
        ("", "unknown"),
    ],
)
def test_the_peer_host_drops_the_port(peer: str, host: str) -> None:
    assert peer_host(peer) == host


async def test_one_record_per_host_per_minute_with_counts_per_reason(
    audit_log: ChainedAuditLog,
) -> None:
    clock = SteppedClock(MINUTE + timedelta(seconds=10))
    attempts = UnauthenticatedAttempts(audit_log, Pseudonymiser(TEST_PSEUDONYM_KEY), clock=clock)
    for port in range(5):
        attempts.note(f"ipv4:10.0.0.7:{40000 + port}", "unknown_bearer_token")
    attempts.note("ipv4:10.0.0.7:40009", "no_bearer_token")
    attempts.note("ipv4:10.0.0.8:40000", "no_bearer_token")
    assert records(audit_log) == []  # the minute is not over

    # The minute ends a moment from now: the timer writes it without another call.
    clock.set(MINUTE + timedelta(seconds=59.95))
    await until(lambda: len(records(audit_log)) == 2)
    by_host = {r["peer_host"]: r for r in records(audit_log)}
    assert by_host["10.0.0.7"]["reasons"] == {"no_bearer_token": 1, "unknown_bearer_token": 5}
    assert by_host["10.0.0.7"]["attempts"] == 6
    assert by_host["10.0.0.8"]["attempts"] == 1
    assert {r["time"] for r in by_host.values()} == {"2026-08-31T01:30:00Z"}
    assert {r["kind"] for r in by_host.values()} == {"unauthenticated"}
    await attempts.aclose()
    await audit_log.aclose()


async def test_an_attempt_in_a_later_minute_closes_the_earlier_one(
    audit_log: ChainedAuditLog,
) -> None:
    clock = SteppedClock(MINUTE)
    attempts = UnauthenticatedAttempts(audit_log, Pseudonymiser(TEST_PSEUDONYM_KEY), clock=clock)
    attempts.note("ipv4:10.0.0.7:1", "no_bearer_token")
    clock.set(MINUTE + timedelta(minutes=3))
    attempts.note("ipv4:10.0.0.7:1", "no_bearer_token")
    await until(lambda: len(records(audit_log)) == 1)
    assert records(audit_log)[0]["time"] == "2026-08-31T01:30:00Z"
    await attempts.aclose()  # graceful shutdown writes the minute in progress
    assert [r["time"] for r in records(audit_log)] == [
        "2026-08-31T01:30:00Z",
        "2026-08-31T01:33:00Z",
    ]
    await audit_log.aclose()


async def test_hosts_beyond_the_bound_share_one_overflow_record(
    audit_log: ChainedAuditLog,
) -> None:
    attempts = UnauthenticatedAttempts(
        audit_log, Pseudonymiser(TEST_PSEUDONYM_KEY), clock=SteppedClock(MINUTE), max_hosts=4
    )
    for host in range(1000):  # a scan from many addresses
        attempts.note(f"ipv4:10.1.{host // 256}.{host % 256}:5000", "not_from_this_machine")
    assert len(attempts._hosts) == 4  # what a minute holds, whatever the traffic
    await attempts.aclose()
    written = records(audit_log)
    assert len(written) == 5
    [overflow] = [r for r in written if r["peer_host"] is None]
    assert overflow["attempts"] == 996
    assert sum(r["attempts"] for r in written) == 1000
    await audit_log.aclose()


async def test_declared_names_are_kept_as_a_few_keyed_tags_never_as_text(
    audit_log: ChainedAuditLog,
) -> None:
    pseudonymiser = Pseudonymiser(TEST_PSEUDONYM_KEY)
    attempts = UnauthenticatedAttempts(audit_log, pseudonymiser, clock=SteppedClock(MINUTE))
    names = [f"estate-agency-{n}" for n in range(20)]
    for name in [*names, names[0]]:
        attempts.note("ipv4:127.0.0.1:5000", "caller_not_registered", name)
    await attempts.aclose()
    [record] = records(audit_log)
    assert record["attempts"] == 21
    assert record["declared_systems"] == [
        pseudonymiser.name_tag(name) for name in names[:MAX_DECLARED_SYSTEMS]
    ]
    text = b"".join(path.read_bytes() for path in audit_log.directory.iterdir())
    assert b"estate-agency" not in text
    await audit_log.aclose()
