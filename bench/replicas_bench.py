"""One, two and three ``verifier serve`` replicas behind gRPC's client-side ``round_robin``,
sharing the local Redis fact cache and the PostgreSQL audit store; and one replica writing
audit files, the baseline for what the PostgreSQL store costs. Same client, same run.

    python bench/replicas_bench.py [--duration 20] [--warmup 2] [--concurrency 32]
        [--replicas 1,2,3] [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--redis-url redis://127.0.0.1:6379/13] [--smoke]

Every replica is started at once before the first row (real processes on 127.0.0.1, each
on a port the OS chose, each answering one sanity call per sample before the load) and
stopped after the last; the rows, one after another, load some of them (the others idle):

- files x1:    one replica, ``audit.backend: files`` (hash-chained, fsync'd files);
- postgres xN: the first N of the PostgreSQL replicas, ``audit.backend: postgres`` into a
               schema of this run's own (dropped at the end), one chain per replica.

Every replica uses the Redis cache (``cache.backend: redis``) under a key prefix of this
run's own (its keys deleted at the end), so the rows differ only in the audit store and the
number of replicas. The load client is ``_load_client``'s (the one ``load_bench`` uses):
spawned processes whose channels name every replica (``ipv4:a,b,c``) with the service
configuration ``round_robin``, so each call goes to the next replica.

Per row: requests/s, p50 / p99 latency, the replicas' CPU (utime+stime over the window)
and requests/s per core used (calls per CPU-second of the replicas). Ratios are against the
one-replica PostgreSQL row (and, for it, the file row) of the same run. The box has 2 cores,
shared by the client, the replicas, PostgreSQL, Redis and anyone else: three replicas
oversubscribe it, and absolute numbers on a shared machine mean little; compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import _load_client as lc

# verifier, load_bench and the stores are imported in main(): the spawned client processes
# import this module again and need none of them.

ROUND_ROBIN = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
DEADLINE_SECONDS = 10.0
CORES = os.cpu_count() or 1
BASELINE = "postgres x1"


@dataclass(frozen=True)
class Row:
    label: str
    replicas: int
    result: lc.LoadResult

    @property
    def per_core(self) -> float:
        """Requests per second per core the replicas used: calls per replica CPU-second."""
        seconds = self.result.server.seconds
        return self.result.calls / seconds if seconds else float("nan")


@dataclass(frozen=True)
class Shared:
    """What every replica of the run shares: the city, the cache, the audit store's place."""

    data_dir: Path
    scratch: Path
    postgres_url: str
    schema: str
    redis_url: str
    prefix: str
    pseudonym_key: str

    def env(self, backend: str, name: str) -> dict[str, str]:
        """One replica's environment: the shared cache and either audit store."""
        env = {
            "VERIFIER_CACHE__BACKEND": "redis",
            "VERIFIER_CACHE__REDIS_URL": self.redis_url,
            "VERIFIER_CACHE__REDIS_KEY_PREFIX": self.prefix,
            # One pseudonym key for every replica, given, not a key file each creates.
            "VERIFIER_AUDIT__PSEUDONYM_KEY": self.pseudonym_key,
            "VERIFIER_AUDIT__WITNESS__PATH": str(self.scratch / "witness" / "witness.jsonl"),
        }
        if backend == "files":
            return {**env, **lc.audit_settings(self.scratch / f"audit-{name}")[1]}
        return {
            **env,
            "VERIFIER_AUDIT__BACKEND": "postgres",
            "VERIFIER_AUDIT__URL": self.postgres_url,
            "VERIFIER_AUDIT__POSTGRES_SCHEMA": self.schema,
            "VERIFIER_AUDIT__REPLICA_ID": name,
            "VERIFIER_AUDIT__SIGNING_KEY_FILE": str(self.scratch / "keys" / "signing-key.pem"),
        }


def replica_group(shared: Shared, backend: str, index: int) -> lc.ServerGroup:
    name = f"{backend}-replica-{index}"
    port = lc.free_port()
    argv = [sys.executable, "-m", "verifier.cli", "serve", "--port", str(port),
            "--data-dir", str(shared.data_dir)]  # fmt: skip
    return lc.ServerGroup(name, argv, port, env=shared.env(backend, name), log_dir=shared.scratch)


def measure(
    args: argparse.Namespace, label: str, groups: list[lc.ServerGroup], requests: list[bytes]
) -> Row:
    """Load over ``groups`` (the replicas of this row) with round_robin; their CPU only."""
    result = lc.run_python_load(
        "ipv4:" + ",".join(group.address for group in groups),
        requests,
        concurrency=args.concurrency,
        client_processes=args.client_processes,
        channels_per_process=1,  # one round_robin channel reaches every replica
        warmup=args.warmup,
        duration=args.duration,
        deadline=DEADLINE_SECONDS,
        server_pids=[pid for group in groups for pid in group.pids],
        service_config=ROUND_ROBIN,
    )
    if result.errors:
        raise RuntimeError(f"{label}: calls failed under load: {result.errors}")
    return Row(label, len(groups), result)


def run_rows(
    args: argparse.Namespace,
    shared: Shared,
    counts: list[int],
    requests: list[bytes],
    samples: list[dict[str, object]],
) -> list[Row]:
    """Start every replica together, check each, then load the file replica alone and the
    first N PostgreSQL replicas for each N (the others stay idle: no calls reach them)."""
    from load_bench import Target, sanity_check

    files = replica_group(shared, "files", 1)
    postgres = [replica_group(shared, "postgres", index) for index in range(1, max(counts) + 1)]
    with lc.running([files, *postgres], at_once=True):  # the store's migrations take a lock
        for group in (files, *postgres):
            answers = sanity_check(Target(f"verify {group.label}", group), requests, samples)
            print(f"  {group.label}: pid {group.pids[0]} on {group.address}; {answers}")
        rows = [measure(args, "files x1", [files], requests)]
        rows += [measure(args, f"postgres x{n}", postgres[:n], requests) for n in counts]
    return rows


HEADER = (
    f"{'row':<12} {'replicas':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'replica CPU':>16} {'req/s/core':>10} {'machine':>7} {'cores':>9}"
)


def row_text(row: Row) -> str:
    from _common import percentile

    server, result = row.result.server, row.result
    each = "+".join(f"{100 * seconds / server.wall:.0f}" for seconds in server.per_pid)
    cpu = f"{100 * server.seconds / server.wall:.0f}% [{each}]"
    cores = "over" if row.replicas > CORES else f"{row.replicas}/{CORES}"
    return (
        f"{row.label:<12} {row.replicas:>8} {result.rate:8.0f} "
        f"{1000 * percentile(result.latencies, 0.5):7.2f} "
        f"{1000 * percentile(result.latencies, 0.99):7.2f} {cpu:>16} {row.per_core:10.0f} "
        f"{100 * server.machine_fraction:6.0f}% {cores:>9}"
    )


def print_ratios(rows: list[Row]) -> None:
    from _common import percentile, print_ratio

    by = {row.label: row for row in rows}
    base = by[BASELINE]
    files = by["files x1"]
    print_ratio(
        "postgres x1 req/s", base.result.rate, "files x1 req/s: one replica, audit files",
        files.result.rate,
    )  # fmt: skip
    print_ratio("postgres x1 req/s/core", base.per_core, "files x1 req/s/core", files.per_core)
    for row in rows:
        if row.label in (BASELINE, "files x1"):
            continue
        print_ratio(f"{row.label} req/s", row.result.rate, f"{BASELINE} req/s", base.result.rate)
        print_ratio(f"{row.label} req/s/core", row.per_core, f"{BASELINE} req/s/core",
                    base.per_core)  # fmt: skip
        print_ratio(
            f"{row.label} p99 latency", percentile(row.result.latencies, 0.99),
            f"{BASELINE} p99 latency", percentile(base.result.latencies, 0.99),
        )  # fmt: skip


def forget_cache(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def main() -> int:
    # Imported here: the spawned client processes import this module again and need neither.
    import _common
    from audit_store_bench import drop_schema

    from verifier.audit import generate_signing_key_files

    made = _common.parser(__doc__)
    made.add_argument("--duration", type=float, default=20.0, help="measured seconds per row")
    made.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    made.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    made.add_argument("--client-processes", type=int, default=1)
    made.add_argument("--replicas", default="1,2,3", help="PostgreSQL rows: replica counts")
    made.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    made.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    smoke = {"duration": 0.5, "warmup": 0.3, "concurrency": 4, "replicas": "1,2"}
    args = _common.parse_args(made, smoke)
    counts = [int(count) for count in args.replicas.split(",")]
    if not (0 < args.duration <= 120 and 0 <= args.warmup <= 30):
        made.error("duration 0-120 s, warm-up 0-30 s")
    if not (1 <= args.concurrency <= 512 and 1 <= args.client_processes <= 4):
        made.error("concurrency 1-512, client processes 1-4")
    if 1 not in counts or not all(1 <= count <= 4 for count in counts):
        made.error("replicas: counts 1-4, including 1 (the baseline)")
    print(
        f"{CORES} cores: the client, the replicas, PostgreSQL and Redis share them"
        + (f"; {max(counts)} replicas oversubscribe them" if max(counts) > CORES else "")
    )
    schema = f"replicas_bench_{uuid.uuid4().hex[:8]}"
    prefix = f"replicas-bench:{uuid.uuid4().hex[:8]}:"
    with _common.demo_city(args) as (data_dir, scratch):
        samples = _common.load_samples(data_dir)
        requests = _common.serialized_requests(samples)
        generate_signing_key_files(scratch / "keys")
        shared = Shared(
            data_dir, scratch, args.postgres_url, schema, args.redis_url, prefix,
            os.urandom(32).hex(),
        )  # fmt: skip
        print(
            f"concurrency {args.concurrency} from {args.client_processes} client process(es), "
            f"round_robin; {args.duration:g} s measured after {args.warmup:g} s warm-up per "
            f"row; PostgreSQL schema {schema}, Redis {args.redis_url} prefix {prefix}"
        )
        try:
            rows = run_rows(args, shared, counts, requests, samples)
        finally:
            drop_schema(args.postgres_url, schema)
            forget_cache(args.redis_url, prefix)
    print()
    print(HEADER)
    for row in rows:
        print(row_text(row))
    print(
        "replica CPU: % of one core summed over the replicas [each]; req/s/core: calls per "
        "replica CPU-second;\nmachine: busy share of all cores over the window; cores: "
        "replicas / cores (over: more replicas than cores)"
    )
    print()
    print_ratios(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
