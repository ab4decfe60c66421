"""The audit stores against each other: the file store (``ChainedAuditLog``, fsync'd files)
and the PostgreSQL audit store (``PostgresAuditLog``, one transaction per batch), in one run.

    python bench/audit_store_bench.py [--records 4000] [--rounds 3] \
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--smoke]

Records are the engine's own (the demo city's samples verified once, their audit records
captured, as ``audit_bench`` does). Each store appends them at concurrency 1 and 64, in
alternating rounds: ``append`` latency (each returns once its record is durable: fsync'd, or
committed with ``synchronous_commit`` on), throughput (the median round), and records per
sync or commit (what group commit shares). The PostgreSQL store writes into a schema of its
own, dropped at the end. Timings drift on a shared machine: compare the rows of one run.
"""

from __future__ import annotations

import asyncio
import statistics
import uuid
from pathlib import Path

import psycopg
from _common import demo_city, parse_args, parser, percentile, print_ratio
from audit_bench import append_latency, engine_records
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg import sql

from verifier.audit import AlertRecord, AuditRecord, AuditSink, ChainedAuditLog, PostgresAuditLog
from verifier.audit._pg_schema import libpq_url

FILES, POSTGRES = "file store (ChainedAuditLog)", "PostgreSQL store (PostgresAuditLog)"
Row = tuple[str, int, list[float], float, float]
"""(store, concurrency, latencies in ms, records per second, records per sync or commit)."""


def open_store(label: str, base: Path, url: str, schema: str, name: str) -> AuditSink:
    key = Ed25519PrivateKey.generate()
    if label == FILES:
        return ChainedAuditLog(base / name, key)
    return PostgresAuditLog(url, key, replica_id=name, schema=schema)


def per_sync(sink: AuditSink) -> float:
    if isinstance(sink, ChainedAuditLog):
        return sink.records_written / max(1, sink.syncs)
    assert isinstance(sink, PostgresAuditLog)
    return sink.records_written / max(1, sink.commits)


async def store_rows(
    records: list[AuditRecord | AlertRecord], args: object, base: Path, schema: str
) -> list[Row]:
    total, rounds, url = args.records, args.rounds, args.postgres_url  # type: ignore[attr-defined]
    labels = (FILES, POSTGRES)
    rows: list[Row] = []
    for concurrency in (1, 64):
        count = total if concurrency > 1 else total // 4  # one at a time is slow: fewer
        latencies: dict[str, list[float]] = {label: [] for label in labels}
        throughputs: dict[str, list[float]] = {label: [] for label in labels}
        shared: dict[str, list[float]] = {label: [] for label in labels}
        for round_number in range(rounds):
            for label in labels if round_number % 2 == 0 else labels[::-1]:
                name = f"{'files' if label == FILES else 'pg'}-{concurrency}-{round_number}"
                sink = open_store(label, base, url, schema, name)
                measured, throughput = await append_latency(sink, records, count, concurrency)
                latencies[label] += measured
                throughputs[label].append(throughput)
                shared[label].append(per_sync(sink))
        rows += [
            (
                label,
                concurrency,
                latencies[label],
                statistics.median(throughputs[label]),
                statistics.median(shared[label]),
            )
            for label in labels
        ]
    return rows


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(libpq_url(url)[0], autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


def main() -> None:
    made = parser(__doc__)
    made.set_defaults(people=1000)  # the city only supplies the engine's audit records
    made.add_argument("--records", type=int, default=4000)
    made.add_argument("--rounds", type=int, default=3)
    made.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parse_args(made, smoke={"records": 200, "rounds": 1})
    schema = f"audit_bench_{uuid.uuid4().hex[:8]}"
    with demo_city(args) as (data_dir, scratch):
        captured = asyncio.run(engine_records(data_dir, scratch))
        try:
            rows = asyncio.run(store_rows(captured.records, args, scratch, schema))
        finally:
            drop_schema(args.postgres_url, schema)
    print(f"\n{'store':<38} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'rec/s':>8} {'rec/sync':>8}")
    for label, concurrency, latencies, throughput, shared in rows:
        print(
            f"{label:<38} {concurrency:>4} {percentile(latencies, 0.5):8.2f} "
            f"{percentile(latencies, 0.99):8.2f} {throughput:8.0f} {shared:8.1f}"
        )
    by = {(label, concurrency): throughput for label, concurrency, _, throughput, _ in rows}
    for concurrency in (1, 64):
        print_ratio(
            f"PostgreSQL store throughput, concurrency {concurrency}",
            by[POSTGRES, concurrency],
            f"the file store's, concurrency {concurrency}",
            by[FILES, concurrency],
        )


if __name__ == "__main__":
    main()
