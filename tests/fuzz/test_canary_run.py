"""A 10^4-request run over the demo city: no canary and no full ID leaves, on any channel.

The demo city plants CANARY strings in every raw department table. Through the real engine
(SQLite departments, cache and resilience as configured by default, in process) go every
sample application, real residents read from the raw household register for both items,
some invalid requests and some that access control refuses (audited as refusals), while
the tax department fails one call in ten. Every response, every error, every log record
(DEBUG), every span and the audit log read back are then scanned: no canary may appear
anywhere, and no full subject ID outside the requests.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fuzz_support import CANARY_REQUESTS
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support import FIRST_HOME_ACCESS, SCHOOL_PLACE_ACCESS

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import AccessDenied, DepartmentUnavailable, InvalidApplication, parse_application
from verifier.adapter import DepartmentAnswer, DepartmentQuery
from verifier.audit import read_audit_entries
from verifier.telemetry import configure_telemetry

REQUESTS = CANARY_REQUESTS
FAILURE_RATE = 0.1
ID_SHAPED = re.compile(r"[0-9]{17}[0-9X]")


def residents(city: Path) -> list[tuple[str, str]]:
    """(guardian, child) pairs read straight from the raw register — test-side only."""
    with sqlite3.connect(city / "household.db") as connection:
        rows = connection.execute("SELECT guardian_id, child_id FROM guardianships").fetchall()
    return [(str(guardian), str(child)) for guardian, child in rows]


def requests(city: DemoCityManifest, count: int) -> list[dict[str, Any]]:
    """Samples first, then residents for both items, one in twenty malformed and one in
    forty refused by access control."""
    assert city.data_dir is not None
    pairs = residents(city.data_dir)
    chosen = random.Random(10_000)
    found: list[dict[str, Any]] = [dict(sample.application) for sample in city.samples]
    while len(found) < count:
        guardian, child = chosen.choice(pairs)
        roll = chosen.random()
        if roll < 0.025:
            found.append(  # refused at parsing: a check character changed
                {
                    "service_item": "school_place",
                    "subjects": [{"role": "guardian", "id": guardian[:-1] + "Y"}],
                    "parameters": {"district": "440305"},
                }
            )
        elif roll < 0.05:
            found.append(  # refused by the item: an unknown parameter, no child
                {
                    "service_item": "school_place",
                    "subjects": [{"role": "guardian", "id": guardian}],
                    "parameters": {"district": "440305", "colour": "red"},
                }
            )
        elif roll < 0.075:
            found.append(  # refused by access control: property facts without consent
                {
                    "service_item": "first_home_purchase",
                    "subjects": [{"role": "buyer", "id": guardian}],
                    "reference_date": "2026-08-31",
                    **{k: v for k, v in FIRST_HOME_ACCESS.items() if k != "consent_reference"},
                }
            )
        elif roll < 0.55:
            found.append(
                {
                    "service_item": "school_place",
                    "subjects": [
                        {"role": "guardian", "id": guardian},
                        {"role": "child", "id": child},
                    ],
                    "parameters": {"district": chosen.choice(["440305", "440304"])},
                    "reference_date": "2026-08-31",
                    **SCHOOL_PLACE_ACCESS,
                    "operator": "clerk-0042",
                }
            )
        else:
            found.append(
                {
                    "service_item": "first_home_purchase",
                    "subjects": [{"role": "buyer", "id": guardian}],
                    "reference_date": "2026-08-31",
                    **FIRST_HOME_ACCESS,
                }
            )
    return found[:count]


class Flaky:
    """Makes an adapter raise DepartmentUnavailable on about one call in ten."""

    def __init__(self, adapter: Any, seed: int) -> None:
        self.failures = 0
        self._original = adapter.fetch
        self._dice = random.Random(seed)
        adapter.fetch = self.fetch

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        if self._dice.random() < FAILURE_RATE:
            self.failures += 1
            raise DepartmentUnavailable("tax: simulated outage")
        answer: DepartmentAnswer = await self._original(query)
        return answer


def leaks(text: str, canaries: re.Pattern[str], ids: set[str]) -> tuple[list[str], list[str]]:
    found_canaries = sorted(set(canaries.findall(text)))
    found_ids = sorted({match for match in ID_SHAPED.findall(text) if match in ids})
    return found_canaries, found_ids


async def test_no_canary_or_id_leaves_the_canary_run(
    demo_city: DemoCityManifest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert demo_city.data_dir is not None
    assert demo_city.canaries
    exporter = InMemorySpanExporter()
    metrics = InMemoryMetricReader()
    telemetry = configure_telemetry(
        span_processor=SimpleSpanProcessor(exporter), metric_reader=metrics
    )
    audit_dir = tmp_path / "audit"
    config = verifier.load_config(
        data_dir=demo_city.data_dir, audit={"directory": audit_dir, "fsync": False}
    )
    outputs: list[str] = []
    ids: set[str] = set()
    answered = refused = denied = 0
    async with verifier.build_verifier(config, telemetry=telemetry) as engine:
        tax = Flaky(engine.adapters["tax"], seed=7)
        for data in requests(demo_city, REQUESTS):
            ids.update(subject["id"] for subject in data["subjects"])
            try:
                result = await engine.verify(parse_application(data))
            except InvalidApplication as error:
                refused += 1
                outputs.append(str(error))
                outputs.append(repr(error.violations))
            except AccessDenied as error:
                denied += 1
                outputs.append(str(error))
                outputs.append(repr(error.refusals))
            else:
                answered += 1
                outputs.append(result.model_dump_json())
        spans = "\n".join(span.to_json() for span in exporter.get_finished_spans())
        metric_data = metrics.get_metrics_data()
        assert metric_data is not None
        spans += metric_data.to_json()

    assert answered + refused + denied == REQUESTS
    assert refused > REQUESTS // 40, "the run includes invalid requests"
    assert denied > REQUESTS // 80, "the run includes requests access control refuses"
    assert tax.failures > 0, "the tax department failed part of the time"
    audit = "".join(f.read_text(encoding="utf-8") for f in sorted(audit_dir.glob("audit-*.jsonl")))
    entries = list(read_audit_entries(audit_dir))
    assert sum(entry.type == "record" for entry in entries) == answered + denied
    audit_entries = "\n".join(json.dumps(entry.body, ensure_ascii=False) for entry in entries)
    canaries = re.compile("|".join(map(re.escape, sorted(demo_city.canaries, key=len)[::-1])))
    some_id = min(ids)
    assert leaks(f"x{demo_city.canaries[0]}-{some_id}.", canaries, ids) == (
        [demo_city.canaries[0]],
        [some_id],
    ), "the scan finds what it looks for"
    channels = {
        "responses and errors": "\n".join(outputs),
        "log records": caplog.text + "\n".join(record.getMessage() for record in caplog.records),
        "spans and metrics": spans,
        "the audit log": audit + audit_entries,
    }
    for channel, text in channels.items():
        found_canaries, found_ids = leaks(text, canaries, ids)
        assert not found_canaries, f"{len(found_canaries)} canaries in {channel}"
        assert "CANARY" not in text, channel
        assert not found_ids, f"{len(found_ids)} full subject IDs in {channel}"
