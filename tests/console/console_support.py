"""A real audit log for the console's tests: real verifications of the demo city through
the configured engine (SQLite departments, the chained file log), spread over a working
day by the engine's clock, with refusals (no legal basis) and a high-risk alert."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from support import SCHOOL_PLACE_ACCESS, TEST_PSEUDONYM_KEY

import verifier
from adapters.demo_city import DemoCityManifest
from verifier.audit import AuditRecord, Pseudonymiser, RefusalRecord
from verifier.cli._audit_source import read_events
from verifier.cli._audit_stores import file_source
from verifier.cli._console import _bind
from verifier.console import create_app, hash_password

AUDITOR = "auditor-li"
AUDITOR_PASSWORD = "correct horse battery staple"
FAILURES_PER_ACCOUNT = 3
ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 8, 31, 0, 30, tzinfo=UTC)  # 08:30 in Shenzhen
STEP = timedelta(minutes=7)
PSEUDONYMS = Pseudonymiser(TEST_PSEUDONYM_KEY)
RESIDENTS = 40
"""Guardian/child pairs from the register verified beside the samples."""


@dataclass(frozen=True)
class ConsoleLog:
    config_file: Path
    config: verifier.VerifierConfig
    directory: Path
    results: tuple[tuple[str, verifier.VerificationResult], ...]
    refused_request_ids: tuple[str, ...]
    """The refusal records' request ids, from the log."""
    subject_ids: frozenset[str]
    """Every full ID verified: none may appear on any page."""
    canaries: tuple[str, ...]
    ids_by_role: dict[tuple[str, str], str]
    """(application name, role) → the subject's full ID."""

    def requests_about(self, subject: str) -> int:
        """Verifications and refusals in the log naming ``subject``."""
        pseudonym = PSEUDONYMS.pseudonym(subject)
        return sum(
            any(s.pseudonym == pseudonym for s in located.event.subjects)
            for located in read_events(file_source(self.directory))
            if isinstance(located.event, AuditRecord | RefusalRecord)
        )


def stepping_clock(start: datetime, step: timedelta) -> Any:
    ticks: Iterator[int] = itertools.count()
    return lambda: start + step * (next(ticks) // 8)  # ~8 clock reads per verification


def resident_applications(city: DemoCityManifest, count: int) -> list[dict[str, Any]]:
    assert city.data_dir is not None
    with sqlite3.connect(city.data_dir / "household.db") as connection:
        rows = connection.execute("SELECT guardian_id, child_id FROM guardianships").fetchall()
    return [
        {
            "service_item": "school_place",
            "subjects": [{"role": "guardian", "id": guardian}, {"role": "child", "id": child}],
            "parameters": {"district": "440305"},
            "reference_date": "2026-08-31",
            "operator": "窗口-07",
            **SCHOOL_PLACE_ACCESS,
        }
        for guardian, child in random.Random(15).sample(rows, min(count, len(rows)))
    ]


async def _verify_all(
    config: verifier.VerifierConfig, city: DemoCityManifest
) -> tuple[list[tuple[str, verifier.VerificationResult]], list[str], dict[tuple[str, str], str]]:
    results: list[tuple[str, verifier.VerificationResult]] = []
    refused: list[str] = []
    ids: dict[tuple[str, str], str] = {}
    applications = [(s.name, s.application) for s in city.samples]
    residents = resident_applications(city, RESIDENTS)
    applications += [(f"resident-{n}", a) for n, a in enumerate(residents)]
    async with verifier.build_verifier(config, clock=stepping_clock(START, STEP)) as engine:
        for name, data in applications:
            application = verifier.parse_application(data)
            ids.update({(name, s.role): s.id for s in application.subjects})
            results.append((name, await engine.verify(application)))
        # Refused by access control: a school-place request with no legal basis.
        for name, data in applications[-3:]:
            try:
                await engine.verify(verifier.parse_application({**data, "legal_basis": None}))
            except verifier.AccessDenied:
                refused.append(name)
    return results, refused, ids


def write_console_log(city: DemoCityManifest, root: Path) -> ConsoleLog:
    settings = {
        "data_dir": str(city.data_dir),
        "audit": {"directory": str(root / "audit"), "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
        "alerts": {"enabled": True, "distinct_subjects_per_hour": 5},
        "console": {
            "accounts": {AUDITOR: {"password_hash": hash_password(AUDITOR_PASSWORD)}},
            "session_secret": "s" * 40,
            "login_failures_per_account": FAILURES_PER_ACCOUNT,
        },
    }
    config_file = root / "verifier.yaml"
    config_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    config = verifier.load_config(config_file)
    results, refused, ids = asyncio.run(_verify_all(config, city))
    assert len(refused) == 3, "every request without a legal basis is refused"
    refusals = tuple(
        located.event.request_id
        for located in read_events(file_source(root / "audit"))
        if isinstance(located.event, RefusalRecord)
    )
    return ConsoleLog(
        config_file, config, root / "audit", tuple(results), refusals, frozenset(ids.values()),
        city.canaries, ids,
    )  # fmt: skip


def start_console(config_file: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """``verifier console`` on port 0; returns the process and its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "verifier.cli", "console", "--config", str(config_file),
         "--port", "0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline()
    if not first.startswith("verifier console listening on "):
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"the console did not start: {first!r} {err[-2000:]}")
    return process, first.removeprefix("verifier console listening on ").strip()


def stop_console(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@contextlib.contextmanager
def console_in_thread(config_file: Path) -> Iterator[str]:
    """The console app on a real port, served by uvicorn in a thread of this process (so
    coverage sees it); ``start_console`` runs the command itself, in its own process."""
    config = verifier.load_config(config_file)
    _, bound = _bind("127.0.0.1:0", None)
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [bound]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the console stopped before it started"
        assert time.monotonic() < deadline, "the console did not start in time"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        bound.close()
