"""The auditor commands over a log holding counts of unauthenticated calls."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from verifier.audit import ChainedAuditLog, UnauthenticatedRecord, load_or_create_signing_key
from verifier.cli import main

MINUTE = datetime(2026, 8, 31, 1, 30, tzinfo=UTC)


def write_log(directory: Path) -> None:
    async def append() -> None:
        log = ChainedAuditLog(directory, load_or_create_signing_key(directory), fsync=False)
        for host, reasons in (
            ("10.0.0.7", {"unknown_bearer_token": 40, "no_bearer_token": 2}),
            (None, {"not_from_this_machine": 500}),
        ):
            await log.append(
                UnauthenticatedRecord(
                    time=MINUTE, peer_host=host, attempts=sum(reasons.values()), reasons=reasons
                )
            )
        await log.aclose()

    asyncio.run(append())


def test_report_verify_and_query_read_unauthenticated_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_log(tmp_path)
    assert main(["audit", "report", "--audit-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["unauthenticated_calls"] == 542
    assert report["unauthenticated_by_reason"] == {
        "no_bearer_token": 2,
        "not_from_this_machine": 500,
        "unknown_bearer_token": 40,
    }
    assert report["unauthenticated_by_host"] == {"(other hosts)": 500, "10.0.0.7": 42}
    assert main(["audit", "report", "--audit-dir", str(tmp_path)]) == 0
    assert "542 unauthenticated call(s)" in capsys.readouterr().out
    assert main(["audit", "verify", "--audit-dir", str(tmp_path)]) == 0
    assert "INTACT" in capsys.readouterr().out
    # Not requests: query lists none, show finds none.
    assert main(["audit", "query", "--audit-dir", str(tmp_path)]) == 0
    assert "no verification or refused request matched" in capsys.readouterr().out
    assert main(["audit", "show", "--audit-dir", str(tmp_path), "no-such-request"]) == 1
