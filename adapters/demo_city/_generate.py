"""Generate the demo city: planted samples first, then the random population, then metadata."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from adapters.demo_city._caseload_size import resize_caseloads
from adapters.demo_city._caseloads import Caseloads
from adapters.demo_city._manifest import DemoCityManifest
from adapters.demo_city._model import CanaryMint, IdMint
from adapters.demo_city._population import Population
from adapters.demo_city._rows import Emitter
from adapters.demo_city._samples import plant_samples
from adapters.demo_city._what_if import write_what_if_files
from adapters.demo_city._writer import DEPARTMENTS, SqlAlchemyCityWriter, SqliteCityWriter

DEFAULT_PEOPLE = 10_000
DEFAULT_SEED = 20260831
DEFAULT_REFERENCE_DATE = date(2026, 8, 31)
Progress = Callable[[str], None]

# When each department's nightly load finished on the reference date, in UTC (local time is
# UTC+8): the register is near real time, the tax bureau loads monthly.
_REFRESH = {
    "household": ("全国人口信息管理系统（深圳）", timedelta(hours=15, minutes=50), 1),
    "social_insurance": ("社会保险信息系统", timedelta(hours=14), 1),
    "housing": ("不动产登记信息平台", timedelta(hours=13, minutes=30), 1),
    "tax": ("金税三期个人所得税系统", timedelta(hours=12), 30),
    "vehicle_registration": ("公安交通管理综合应用平台", timedelta(hours=15), 1),
    "market_regulation": ("商事主体登记管理系统", timedelta(hours=14, minutes=30), 1),
    "civil_affairs": ("全国殡葬管理信息系统", timedelta(hours=13), 1),
    "courts": ("全国法院失信被执行人名单信息公布与查询平台", timedelta(hours=14, minutes=10), 1),
}
_CANARY_TAGS = {
    "household": "HH",
    "social_insurance": "SI",
    "housing": "HS",
    "tax": "TAX",
    "vehicle_registration": "VR",
    "market_regulation": "MR",
    "civil_affairs": "CA",
    "courts": "CT",
}


class _Writer(Protocol):
    counts: dict[str, dict[str, int]]

    def open(self) -> None: ...
    def add(self, department: str, table: str, row: tuple[Any, ...]) -> None: ...
    def finish(self, progress: Progress) -> None: ...
    def abort(self) -> None: ...


def generate_demo_city(
    data_dir: Path,
    *,
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    reference_date: date = DEFAULT_REFERENCE_DATE,
    progress: Progress | None = None,
    caseload_rows: int | None = None,
) -> DemoCityManifest:
    """Write ``household.db``, ``social_insurance.db``, ``housing.db``, ``tax.db`` (SQLite),
    ``samples.json``, ``canaries.json`` and the what-if parameter files (``_what_if``) into
    ``data_dir``, replacing older ones.

    The same seed, size and reference date give the same city, byte for byte in content.
    ``caseload_rows``: make each caseload file exactly that many rows (``_caseload_size``).
    """
    data_dir = Path(data_dir)
    writer = SqliteCityWriter(data_dir)
    urls = {d: f"sqlite:///{writer.path(d).resolve().as_posix()}" for d in DEPARTMENTS}
    manifest = _generate(
        writer, urls, people, seed, reference_date, progress, data_dir, caseload_rows
    )
    _write_json(data_dir / "samples.json", manifest.samples_json())
    _write_json(data_dir / "caseloads.json", manifest.caseloads_json())
    write_what_if_files(data_dir)
    _write_json(
        data_dir / "canaries.json",
        {
            "reference_date": reference_date.isoformat(),
            "seed": seed,
            "people": people,
            "canaries": list(manifest.canaries),
        },
    )
    return manifest


def write_demo_city(
    urls: Mapping[str, str],
    *,
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    reference_date: date = DEFAULT_REFERENCE_DATE,
    progress: Progress | None = None,
) -> DemoCityManifest:
    """Write the same city into any databases (SQLAlchemy URLs by department), creating
    (and first dropping) the departments' tables there."""
    writer = SqlAlchemyCityWriter(urls)
    return _generate(writer, dict(urls), people, seed, reference_date, progress, None)


def _generate(
    writer: _Writer,
    urls: dict[str, str],
    people: int,
    seed: int,
    reference_date: date,
    progress: Progress | None,
    data_dir: Path | None,
    caseload_rows: int | None = None,
) -> DemoCityManifest:
    report = progress or (lambda message: None)
    started = time.perf_counter()
    ids = IdMint()
    canaries = CanaryMint(seed)
    households, samples = plant_samples(seed, reference_date, ids)
    emitter = Emitter(writer.add, canaries, seed, reference_date)
    caseloads = Caseloads(data_dir, seed, reference_date)
    writer.open()
    caseloads.open()
    try:
        for household in households:
            emitter.household(household)
        # The population has its own random stream: the samples do not shift it, nor it them.
        population = Population(random.Random(seed), ids, reference_date)
        _populate(emitter, caseloads, population, max(0, people - emitter.people), report)
        _refresh_log(writer, canaries, reference_date)
        writer.finish(report)
        caseloads.finish()
        if caseload_rows is not None and data_dir is not None:
            resize_caseloads(data_dir, caseloads.counts, caseload_rows)
    except BaseException:
        writer.abort()
        caseloads.abort()
        raise
    report(f"{emitter.people:,} people written in {time.perf_counter() - started:.1f} s")
    return DemoCityManifest(
        urls=urls,
        people=emitter.people,
        seed=seed,
        reference_date=reference_date,
        samples=tuple(samples),
        canaries=tuple(canaries.minted),
        data_dir=data_dir,
        rows={d: dict(tables) for d, tables in writer.counts.items()},
        caseloads={item: counts.to_json() for item, counts in caseloads.counts.items()},
    )


def _populate(
    emitter: Emitter, caseloads: Caseloads, population: Population, people: int, report: Progress
) -> None:
    started = time.perf_counter()
    next_report = 100_000
    for household in population.households(people):
        caseloads.take(household)  # before writing: a recipient's records are made to fit
        emitter.household(household)
        if emitter.people >= next_report:
            report(f"{emitter.people:,} people ({time.perf_counter() - started:.0f} s)")
            next_report += 100_000


def _refresh_log(writer: _Writer, canaries: CanaryMint, reference_date: date) -> None:
    """A week (or quarter, for monthly loads) of load records, the newest on the reference
    date; derived from the reference date, never the wall clock."""
    midnight = datetime(reference_date.year, reference_date.month, reference_date.day)
    for department, (system, at, every_days) in _REFRESH.items():
        loaded = sum(writer.counts[department].values())
        for number in range(1, 8 if every_days == 1 else 4):
            age = timedelta(days=every_days * (7 - number if every_days == 1 else 3 - number))
            operator = "数据交换平台批处理"
            if number == 1:  # the oldest load was run by hand
                operator = canaries.text(_CANARY_TAGS[department])
            # The text SQLAlchemy itself stores in a SQLite DATETIME column.
            refreshed = (midnight + at - age).strftime("%Y-%m-%d %H:%M:%S.%f")
            writer.add(department, "refresh_log", (number, refreshed, loaded, system, operator))


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)
