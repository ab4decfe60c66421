"""Micro-benchmark: one department ``fetch`` against a raw sqlite3 read of the same rows.

Generates a demo city (10,000 people unless told otherwise) in a temporary directory, then
for each department times, in the same run:

- ``fetch``: one application's query through the adapter (read + derive + answer), awaited
  inside a running event loop as the engine does;
- ``raw``: plain ``sqlite3`` in the calling thread reading the same rows (no derivation);
- ``fetch_many``: batches of 500 applications, per application.

Every subject is read once before timing, so both paths are measured on warm page caches.

Prints median and p99 in microseconds. Compare ratios within one run, never absolute times
across runs (docs/architecture.md, "What things cost": ±20 % noise on this machine).

    python bench/adapters_bench.py [--people 10000] [--calls 5000] [--data-dir DIR] [--smoke]
"""

from __future__ import annotations

import asyncio
import importlib
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from _common import demo_city, parse_args, parser, print_ratio

from verifier.adapter import DepartmentAdapter, DepartmentQuery, FactRequest

REFERENCE = date(2026, 8, 31)

# What one application asks each department (as the two demo items do), and raw SQL that
# reads the same rows the adapter reads for it.
QUERIES: dict[str, tuple[list[tuple[str, dict[str, str | int]]], list[str]]] = {
    "household": (
        [
            ("local_household_registration", {}),
            ("household_registered_in_district", {"district": "440305"}),
        ],
        [
            "SELECT r.resident_id, r.record_status, g.district_code, g.registered_since, "
            "g.registered_until FROM residents r LEFT JOIN registrations g "
            "ON g.resident_id = r.resident_id WHERE r.resident_id IN (?)",
            "SELECT guardian_id, child_id, recorded_since FROM guardianships "
            "WHERE guardian_id IN (?) AND child_id IN (?)",
        ],
    ),
    "social_insurance": (
        [
            ("social_insurance_continuous_months", {}),
            ("social_insurance_months_in_window", {"window_months": 36}),
            ("social_insurance_enrolled", {}),
        ],
        [
            "SELECT resident_id, status, status_since, enrolled_since FROM insured_persons "
            "WHERE resident_id IN (?)",
            "SELECT resident_id, id, status, effective_from FROM insurance_status_history "
            "WHERE resident_id IN (?)",
            "SELECT resident_id, first_month, last_month FROM contribution_spans "
            "WHERE resident_id IN (?)",
        ],
    ),
    "housing": (
        [
            ("owns_no_home_in_city", {}),
            ("homes_owned_in_city", {}),
            ("registered_rental_months_in_district", {"district": "440306"}),
        ],
        [
            "SELECT owner_id, house_code, registered_on, released_on FROM ownerships "
            "WHERE owner_id IN (?)",
            "SELECT tenant_id, district_code, start_date, end_date FROM rentals "
            "WHERE tenant_id IN (?)",
        ],
    ),
    "tax": (
        [("income_tax_months_in_window", {"window_months": 36}), ("has_overdue_tax", {})],
        [
            "SELECT resident_id, first_month, last_month FROM income_tax_spans "
            "WHERE resident_id IN (?)",
            "SELECT resident_id, due_date, settled_on FROM tax_arrears WHERE resident_id IN (?)",
        ],
    ),
}


def query(department: str, subject: str) -> DepartmentQuery:
    facts, _ = QUERIES[department]
    requests = tuple(
        FactRequest(str(i), fact, {"subject": subject}, parameters)
        for i, (fact, parameters) in enumerate(facts)
    )
    return DepartmentQuery(department, REFERENCE, requests)


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1e6, p99 * 1e6


async def time_fetch(adapter: DepartmentAdapter, queries: list[DepartmentQuery]) -> list[float]:
    timings = []
    for q in queries:
        started = time.perf_counter()
        await adapter.fetch(q)
        timings.append(time.perf_counter() - started)
    return timings


async def time_fetch_many(adapter: DepartmentAdapter, queries: list[DepartmentQuery]) -> float:
    started = time.perf_counter()
    for start in range(0, len(queries), 500):
        await adapter.fetch_many(queries[start : start + 500])
    return (time.perf_counter() - started) / len(queries) * 1e6


def time_raw(path: Path, statements: list[str], subjects: list[str]) -> list[float]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    timings = []
    read: Callable[[str], None] = lambda subject: [  # noqa: E731 - a tight closure on purpose
        connection.execute(sql, (subject,) * sql.count("?")).fetchall() for sql in statements
    ]
    for subject in subjects:
        started = time.perf_counter()
        read(subject)
        timings.append(time.perf_counter() - started)
    connection.close()
    return timings


async def bench(data_dir: Path, calls: int) -> None:
    connection = sqlite3.connect(data_dir / "household.db")
    everyone = [row[0] for row in connection.execute("SELECT resident_id FROM residents")]
    connection.close()
    subjects = random.Random(1).choices(everyone, k=calls)
    print(f"{'department':<18}{'fetch µs (median / p99)':>26}{'raw sqlite3 µs':>22}"
          f"{'ratio':>8}{'fetch_many µs/app':>20}")  # fmt: skip
    ratios = []
    for department, (_, statements) in QUERIES.items():
        module = importlib.import_module(f"adapters.{department}")
        adapter: DepartmentAdapter = module.create_adapter(
            {"url": f"sqlite:///{data_dir / f'{department}.db'}"}
        )
        queries = [query(department, subject) for subject in subjects]
        # Warm both paths over every subject first: the comparison is of warm page caches
        # (the steady state), not of which path happened to read a page from disk first.
        time_raw(data_dir / f"{department}.db", statements, subjects)
        await time_fetch(adapter, queries)
        fetch_median, fetch_p99 = summary(await time_fetch(adapter, queries))
        raw_median, raw_p99 = summary(time_raw(data_dir / f"{department}.db", statements, subjects))
        per_app = await time_fetch_many(adapter, queries)
        await adapter.aclose()
        print(
            f"{department:<18}{fetch_median:>13.1f} / {fetch_p99:<10.1f}"
            f"{raw_median:>10.1f} / {raw_p99:<9.1f}{fetch_median / raw_median:>7.1f}x"
            f"{per_app:>18.1f}"
        )
        ratios.append((department, fetch_median, raw_median))
    print()
    for department, fetch_median, raw_median in ratios:
        print_ratio(f"{department} fetch median", fetch_median, "raw sqlite3 median", raw_median)


def main() -> None:
    made = parser(__doc__.split("\n\n")[0])
    made.add_argument("--calls", type=int, default=5_000)
    args = parse_args(made, smoke={"calls": 100})
    with demo_city(args) as (data_dir, _):
        asyncio.run(bench(data_dir, args.calls))


if __name__ == "__main__":
    main()
