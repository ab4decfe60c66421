"""What the tamper-evident audit log costs per record, against plain JSON Lines.

    python bench/audit_bench.py [--records 4000] [--rounds 3] [--dir DIR] [--smoke]

Records are the engine's own: the demo city's sample applications verified once, their
audit records captured. Two measurements in one run:

- encoding, µs per record (CPU only): the plain log's line (``model_dump_json``), the
  chained log's body (canonical JSON: sorted keys), chaining it (entry JSON + SHA-256), and
  a checkpoint signature (Ed25519, paid once per ``checkpoint_every`` records); and the
  body from the verification itself, as the engine pays for it: through the
  ``AuditRecord`` model (``audit_record_for`` + canonical JSON, the old path) against
  ``encode_verification`` (no model, the same bytes);
- fsync'd ``append`` latency and throughput at concurrency 1 and 64: ChainedAuditLog
  against the same group-commit writer with no chain (the design it replaced), both
  syncing with the same call, in alternating rounds (latencies pooled, throughput the
  median round).

``--dir`` puts the logs on the disk to measure (default: a temporary directory). Timings
drift on a shared machine: compare the rows of one run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from _common import demo_city, parse_args, parser, percentile, print_ratio, sample_applications
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import verifier
from verifier.audit import (
    AlertRecord,
    AuditRecord,
    AuditSink,
    ChainedAuditLog,
    audit_record_for,
    encode_verification,
)
from verifier.audit._format import GENESIS, canonical_json, chain_line, entry_json
from verifier.model import EMBEDDED_CALLER

_datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)
TIME = "2026-08-31T09:30:00.000000Z"


class PlainJsonLines(AuditSink):
    """The baseline: one JSON line per record, group commit in one writer thread, no chain."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._executor = ThreadPoolExecutor(max_workers=1)
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, record: AuditRecord | AlertRecord) -> None:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((record.model_dump_json().encode() + b"\n", future))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._drain())
        await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            await loop.run_in_executor(self._executor, self._write, b"".join(b for b, _ in batch))
            for _, future in batch:
                future.set_result(None)
        self._writer = None

    def _write(self, data: bytes) -> None:
        os.write(self._fd, data)
        _datasync(self._fd)

    async def aclose(self) -> None:
        self._executor.shutdown()
        os.close(self._fd)


class Capture(AuditSink):
    def __init__(self) -> None:
        self.records: list[AuditRecord | AlertRecord] = []

    async def append(self, record: AuditRecord | AlertRecord) -> None:
        self.records.append(record)


@dataclass
class EngineRecords:
    records: list[AuditRecord | AlertRecord]
    verifications: list[dict[str, object]]
    """Each verification's ``audit_record_for`` arguments, as the engine gave them."""


async def engine_records(data_dir: Path, scratch: Path) -> EngineRecords:
    config = verifier.load_config(data_dir=data_dir, audit={"directory": scratch / "unused"})
    capture = Capture()
    verifications: list[dict[str, object]] = []
    async with verifier.build_verifier(config) as engine:
        await engine.audit.aclose()
        engine.audit = capture
        for application in sample_applications(data_dir):
            result = await engine.verify(application)
            record = capture.records[-1]
            assert isinstance(record, AuditRecord)
            verifications.append(
                {
                    "result": result,
                    "application": application,
                    "caller": EMBEDDED_CALLER,
                    "catalogue": engine.catalogue,
                    "pseudonymiser": engine.pseudonymiser,
                    "time": record.time,
                    "trace_id": record.trace_id,
                    "thresholds": record.trace.thresholds if record.trace else None,
                }
            )
    return EngineRecords(capture.records, verifications)


def microseconds(work: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        work()
    return (time.perf_counter() - started) / repeat * 1e6


def encoding_costs(captured: EngineRecords) -> dict[str, float]:
    records, verifications = captured.records, captured.verifications
    key = Ed25519PrivateKey.generate()
    bodies = [canonical_json(r.model_dump(mode="json")) for r in records]
    rounds = max(1, 2000 // len(records))

    def chain() -> None:
        prev = GENESIS
        for seq, body in enumerate(bodies, 1):
            _, prev = chain_line(prev, entry_json(seq, prev, "record", TIME, body))

    def per_record(work: Callable[[], object]) -> float:
        return microseconds(work, rounds) / len(records)

    return {
        "plain line (model_dump_json)": per_record(lambda: [r.model_dump_json() for r in records]),
        "chained body (canonical JSON)": per_record(
            lambda: [canonical_json(r.model_dump(mode="json")) for r in records]
        ),
        "chaining (entry JSON + SHA-256 + line)": per_record(chain),
        "checkpoint signature (once per checkpoint)": microseconds(
            lambda: key.sign(b"x" * 120), 500
        ),
        THROUGH_MODEL: per_record(
            lambda: [
                canonical_json(audit_record_for(**v).model_dump(mode="json"))  # type: ignore[arg-type]
                for v in verifications
            ]
        ),
        ENCODED: per_record(
            lambda: [encode_verification(**v) for v in verifications]  # type: ignore[arg-type]
        ),
    }


THROUGH_MODEL = "verification → body via AuditRecord"
ENCODED = "verification → body, encode_verification"


def line_sizes(records: list[AuditRecord | AlertRecord]) -> tuple[float, float]:
    plain = [len(r.model_dump_json()) + 1 for r in records]
    chained = [
        len(chain_line(GENESIS, entry_json(1, GENESIS, "record", TIME, body))[0])
        for body in (canonical_json(r.model_dump(mode="json")) for r in records)
    ]
    return statistics.mean(plain), statistics.mean(chained)


async def append_latency(
    sink: AuditSink, records: list[AuditRecord | AlertRecord], total: int, concurrency: int
) -> tuple[list[float], float]:
    latencies: list[float] = []

    async def worker(offset: int) -> None:
        for index in range(offset, total, concurrency):
            started = time.perf_counter()
            await sink.append(records[index % len(records)])
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    await sink.aclose()
    return latencies, total / elapsed


async def latency_rows(
    records: list[AuditRecord | AlertRecord], total: int, base: Path, rounds: int
) -> list[tuple[str, int, list[float], float]]:
    """Both sinks, ``rounds`` times each in alternating order (the disk's state drifts)."""
    key = Ed25519PrivateKey.generate()
    labels = (PLAIN, CHAINED)
    rows = []
    for concurrency in (1, 64):
        count = total if concurrency > 1 else total // 4  # one at a time is slow: fewer
        latencies: dict[str, list[float]] = {label: [] for label in labels}
        throughputs: dict[str, list[float]] = {label: [] for label in labels}
        for round_number in range(rounds):
            for label in labels if round_number % 2 == 0 else labels[::-1]:
                directory = base / f"{label[:5]}-{concurrency}-{round_number}"
                directory.mkdir()
                sink: AuditSink = (
                    ChainedAuditLog(directory, key)
                    if label == CHAINED
                    else PlainJsonLines(directory / "audit.jsonl")
                )
                measured, throughput = await append_latency(sink, records, count, concurrency)
                latencies[label] += measured
                throughputs[label].append(throughput)
        rows += [
            (label, concurrency, latencies[label], statistics.median(throughputs[label]))
            for label in labels
        ]
    return rows


PLAIN, CHAINED = "plain JSON Lines (no chain)", "ChainedAuditLog"


def main() -> None:
    made = parser(__doc__)
    made.set_defaults(people=1000)  # the city only supplies the engine's audit records
    made.add_argument("--records", type=int, default=4000)
    made.add_argument("--rounds", type=int, default=3)
    made.add_argument("--dir", type=Path, default=None, help="where to write the logs")
    args = parse_args(made, smoke={"records": 200, "rounds": 1})
    with demo_city(args) as (data_dir, _), tempfile.TemporaryDirectory(dir=args.dir) as logs:
        captured = asyncio.run(engine_records(data_dir, Path(logs)))
        records = captured.records
        costs = encoding_costs(captured)
        rows = asyncio.run(latency_rows(records, args.records, Path(logs), args.rounds))
    plain, chained = line_sizes(records)
    print(
        f"{len(records)} engine audit records: "
        f"lines of ~{plain:.0f} bytes plain, ~{chained:.0f} chained\n"
    )
    print(f"{'encoding, CPU':42} {'µs':>8}")
    for label, value in costs.items():
        print(f"{label:42} {value:8.1f}")
    print(f"\n{'fsync-ed append':30} {'conc.':>5} {'p50 ms':>8} {'p99 ms':>8} {'records/s':>10}")
    for label, concurrency, latencies, throughput in rows:
        print(
            f"{label:30} {concurrency:5} {statistics.median(latencies):8.2f} "
            f"{percentile(latencies, 0.99):8.2f} {throughput:10.0f}"
        )
    print()
    encodings = list(costs.items())
    print_ratio(encodings[1][0], encodings[1][1], encodings[0][0], encodings[0][1])
    print_ratio(ENCODED, costs[ENCODED], THROUGH_MODEL, costs[THROUGH_MODEL])
    by_key = {(label, concurrency): (lat, rate) for label, concurrency, lat, rate in rows}
    for concurrency in sorted({concurrency for _, concurrency, _, _ in rows}):
        chained_lat, chained_rate = by_key[(CHAINED, concurrency)]
        plain_lat, plain_rate = by_key[(PLAIN, concurrency)]
        print_ratio(
            f"{CHAINED} append p50, concurrency {concurrency}",
            statistics.median(chained_lat),
            f"{PLAIN} p50",
            statistics.median(plain_lat),
        )
        print_ratio(
            f"{CHAINED} records/s, concurrency {concurrency}",
            chained_rate,
            f"{PLAIN} records/s",
            plain_rate,
        )


if __name__ == "__main__":
    main()
