"""``verifier.spark`` on a real ``local[2]`` SparkSession: the same rows out as ``verifier
recheck``, bad rows rejected with their fields, one audit record per application in chains
that verify, and one Verifier per Python worker process.

Without Java (or pyspark) the module skips with the reason; under VERIFIER_REQUIRE_SERVICES=1
(CI) it fails instead. One session for the module; the demo city is the test session's.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TEST_PSEUDONYM_KEY, java_missing, service_unavailable

from adapters.demo_city import DemoCityManifest
from verifier.audit import read_audit_entries
from verifier.caseload import REJECT_COLUMNS, RESULT_COLUMNS

ITEM = "unemployment_insurance_recheck"
ARROW_BATCH = 40
"""Rows per Arrow batch: several batches per task, so one Verifier serves many."""
SPLIT_BYTES = 16 * 1024
"""The caseload file split into partitions of this size: more tasks than the two workers."""
BAD_ROWS = {
    3: ("subject_recipient", "wrong check character"),
    10: ("param_benefit_started", "last spring"),
    25: ("service_item", "social_assistance_recheck"),
}
"""Row number → the field made bad, and its bad value (the ID: its check character changed)."""


def spoiled(row: dict[str, str], column: str, value: str) -> dict[str, str]:
    if column == "subject_recipient":
        resident_id = row[column]
        value = resident_id[:-1] + ("1" if resident_id[-1] == "0" else "0")
    return {**row, column: value}


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    missing = java_missing()
    if missing:
        service_unavailable(missing)
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        service_unavailable(f"pyspark is not installed ({error}): pip install -e '.[dev]'")
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers import this checkout's verifier
    session = (
        SparkSession.builder.master("local[2]")
        .appName("verifier-spark-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
        .config("spark.sql.files.maxPartitionBytes", str(SPLIT_BYTES))
        .getOrCreate()
    )
    try:
        yield session
    finally:
        session.stop()
        if saved is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = saved


def config_file(city: DemoCityManifest, root: Path, name: str) -> Path:
    settings = {
        "data_dir": str(city.data_dir),
        "audit": {"directory": str(root / name), "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
    }
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def caseload(demo_city: DemoCityManifest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The item's caseload with a few rows made bad, one field each."""
    source = Path(demo_city.data_dir) / f"caseload_{ITEM}.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    for number, (column, value) in BAD_ROWS.items():
        rows[number - 1] = spoiled(rows[number - 1], column, value)
    path = tmp_path_factory.mktemp("caseload") / "caseload.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    assert path.stat().st_size > 2 * SPLIT_BYTES  # three partitions or more
    return path


def cli_recheck(
    config: Path, caseload: Path, root: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The single-process runner's results and rejects (``verifier recheck``)."""
    output, rejects = root / "results.csv", root / "rejects.csv"
    done = subprocess.run(
        [sys.executable, "-m", "verifier.cli", "recheck", "--config", str(config), "--item", ITEM,
         "--input", str(caseload), "--output", str(output), "--rejects", str(rejects)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr  # done, with rejects
    return read_csv(output), read_csv(rejects)


def read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def as_cli_cells(row: Any, columns: tuple[str, ...]) -> dict[str, str]:
    """A Spark row as the CLI's CSV writes it (lists joined by ``;``)."""
    cells = row.asDict()
    return {
        column: ";".join(cells[column]) if isinstance(cells[column], list) else str(cells[column])
        for column in columns
    }


def records_by_case(audit: Path) -> tuple[Counter[str], dict[str, Any]]:
    """Every verification record under ``audit`` (all its chains): how many per case, and
    each case's decision and facts."""
    counts: Counter[str] = Counter()
    found: dict[str, Any] = {}
    for chain in [audit, *sorted(audit.glob("worker-*"))]:
        if not any(chain.glob("audit-*.jsonl")):
            continue
        for entry in read_audit_entries(chain):
            if entry.type != "record" or entry.body.get("kind") != "verification":
                continue
            case = entry.body["case_number"]
            counts[case] += 1
            facts = sorted(
                (f["name"], tuple(f["roles"]), f["status"], json.dumps(f["value"]), f["reason"])
                for f in entry.body["facts"]
            )
            found[case] = (entry.body["decision"], facts)
    return counts, found


@pytest.fixture(scope="module")
def runs(
    spark: Any,
    demo_city: DemoCityManifest,
    caseload: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    from verifier.spark import recheck_dataframe, split_results

    root = tmp_path_factory.mktemp("spark-recheck")
    baseline = cli_recheck(config_file(demo_city, root, "cli-audit"), caseload, root)
    config = config_file(demo_city, root, "spark-audit")
    frame = spark.read.csv(str(caseload), header=True)
    partitions = frame.rdd.getNumPartitions()
    output = recheck_dataframe(frame, item=ITEM, config_path=str(config)).cache()
    results, rejects = split_results(output)
    return {
        "root": root,
        "config": config,
        "partitions": partitions,
        "cli": baseline,
        "output": output.collect(),
        "results": results.collect(),
        "rejects": rejects.collect(),
    }


def test_spark_gives_the_single_process_results_row_for_row(runs: dict[str, Any]) -> None:
    cli_results, _ = runs["cli"]
    compared = [c for c in RESULT_COLUMNS if c != "request_id"]
    spark_rows = [as_cli_cells(row, tuple(compared)) for row in runs["results"]]
    assert spark_rows == [{c: row[c] for c in compared} for row in cli_results]
    assert Counter(row["decision"] for row in spark_rows)["NOT_ELIGIBLE"] > 0
    # The same facts and decisions behind them, one record per application on each side.
    cli_counts, cli_facts = records_by_case(runs["root"] / "cli-audit")
    spark_counts, spark_facts = records_by_case(runs["root"] / "spark-audit")
    cases = [row["case_no"] for row in cli_results]
    assert spark_counts == cli_counts == Counter(cases)
    assert set(spark_counts.values()) == {1}
    assert spark_facts == cli_facts


def test_rows_are_numbered_in_file_order(runs: dict[str, Any], caseload: Path) -> None:
    by_row = {row["row"]: row["case_no"] for row in runs["output"] if row["case_no"]}
    expected = {n: row["case_no"] for n, row in enumerate(read_csv(caseload), start=1)}
    assert sorted(row["row"] for row in runs["output"]) == list(range(1, len(expected) + 1))
    assert by_row == {n: case for n, case in expected.items() if n not in BAD_ROWS}


def test_bad_rows_are_rejected_with_their_field(runs: dict[str, Any], caseload: Path) -> None:
    _, cli_rejects = runs["cli"]
    spark_rejects = [as_cli_cells(row, REJECT_COLUMNS) for row in runs["rejects"]]
    assert spark_rejects == cli_rejects
    assert {int(row["row"]): row["fields"] for row in spark_rejects} == {
        number: field for number, (field, _) in BAD_ROWS.items()
    }
    # No resident ID of the caseload in any output cell, rejected rows included.
    ids = {
        v for row in read_csv(caseload) for k, v in row.items() if k.startswith("subject_") and v
    }
    cells = {json.dumps(row.asDict(), ensure_ascii=False) for row in runs["output"]}
    assert ids
    assert not [i for i in ids if any(i in cell for cell in cells)]


def test_one_verifier_per_worker_process_each_with_its_own_chain(runs: dict[str, Any]) -> None:
    workers = Counter(row["worker"] for row in runs["output"] if row["worker"])
    chains = {row["worker"]: row["audit_chain"] for row in runs["output"]}
    assert all(worker.endswith("#1") for worker in workers)  # the first and only build
    processes = {worker.rpartition("#")[0] for worker in workers}
    assert len(processes) == len(workers) <= 2  # local[2]: two Python workers at most
    assert runs["partitions"] > len(processes)  # so some worker ran more than one task
    assert len(set(chains.values())) == len(chains)  # a chain per process, never shared
    audit = runs["root"] / "spark-audit"
    assert sorted(Path(chain) for chain in chains.values()) == sorted(
        path for path in audit.glob("worker-*") if path.is_dir()
    )


def test_the_executors_audit_chains_verify(runs: dict[str, Any]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "verifier.cli", "audit", "verify", "--config", str(runs["config"])],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": INTACT") == len({row["audit_chain"] for row in runs["output"]})


def test_the_driver_refuses_an_unknown_item_or_no_configuration(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    """Checked on the driver before any task: no Spark needed to see it."""
    from verifier import ConfigurationError, UnknownServiceItem
    from verifier.spark import recheck_dataframe

    config = config_file(demo_city, tmp_path, "audit")
    with pytest.raises(UnknownServiceItem):
        recheck_dataframe(None, item="no_such_item", config_path=str(config))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="config_path or config"):
        recheck_dataframe(None, item=ITEM)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="spark-submit --files"):
        recheck_dataframe(None, item=ITEM, config_path=str(tmp_path / "missing.yaml"))  # type: ignore[arg-type]
