"""``verifier recheck`` as a scheduler runs it: a real subprocess over a small demo city."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import TEST_PSEUDONYM_KEY

from adapters.demo_city import DemoCityManifest

ITEM = "unemployment_insurance_recheck"
REPEATS = 40
"""The caseload repeated (new case numbers) for a run long enough to kill in the middle."""


def config_file(city: DemoCityManifest, root: Path) -> Path:
    settings = {
        "data_dir": str(city.data_dir),
        "audit": {"directory": str(root / "audit"), "pseudonym_key": TEST_PSEUDONYM_KEY.hex()},
    }
    path = root / "verifier.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def recheck(config: Path, *args: str | Path) -> list[str]:
    return [sys.executable, "-m", "verifier.cli", "recheck", "--config", str(config),
            *map(str, args)]  # fmt: skip


def caseload(city: DemoCityManifest, item: str = ITEM) -> tuple[list[str], list[dict[str, str]]]:
    path = Path(city.data_dir) / f"caseload_{item}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_caseload(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def results(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_caseload_is_rechecked_completely_no_longer_qualifying_first(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    config = config_file(demo_city, tmp_path)
    _, rows = caseload(demo_city)
    output = tmp_path / "results.csv"
    source = Path(demo_city.data_dir) / f"caseload_{ITEM}.csv"
    done = subprocess.run(
        recheck(config, "--item", ITEM, "--input", source, "--output", output),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = results(output)
    assert sorted(int(row["row"]) for row in written) == list(range(1, len(rows) + 1))
    assert [row["case_no"] for row in sorted(written, key=lambda r: int(r["row"]))] == [
        row["case_no"] for row in rows
    ]
    decisions = [row["decision"] for row in written]
    first_eligible = decisions.index("ELIGIBLE")
    assert "NOT_ELIGIBLE" not in decisions[first_eligible:]
    # Exactly the planted people no longer qualify, each by the clause of their reason.
    planted = demo_city.caseloads[ITEM]
    expected = Counter(
        {planted["failed_clause_of_reason"][reason]: count
         for reason, count in planted["no_longer_qualify"].items()}
    )  # fmt: skip
    failed = Counter(row["failed_clauses"] for row in written if row["decision"] == "NOT_ELIGIBLE")
    assert failed == expected
    assert "decisions:" in done.stdout
    assert "failed clauses:" in done.stdout
    # Not a terminal: progress as plain lines, rate and ETA in them.
    assert re.search(r"^re-check: \d+/\d+ rows, [\d,]+ rows/s, ETA ", done.stdout, re.M)
    again = subprocess.run(
        recheck(config, "--item", ITEM, "--input", source, "--output", output, "--resume"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0
    assert "nothing to resume" in again.stdout
    assert not list(tmp_path.glob("results.csv.*"))  # the run's own files are gone
    # One audit record per row, in a log that verifies.
    log = "".join(path.read_text(encoding="utf-8") for path in (tmp_path / "audit").glob("*.jsonl"))
    assert log.count('"kind":"verification"') == len(rows)
    audit = subprocess.run(
        [sys.executable, "-m", "verifier.cli", "audit", "verify", "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr


def long_caseload(city: DemoCityManifest, path: Path) -> tuple[int, list[dict[str, str]]]:
    columns, rows = caseload(city)
    repeated = [
        {**row, "case_no": f"{row['case_no']}-{copy}"} for copy in range(REPEATS) for row in rows
    ]
    write_caseload(path, columns, repeated)
    return len(rows), repeated


def rows_done(marker: Path) -> int:
    try:
        return int(json.loads(marker.read_text(encoding="utf-8"))["rows_done"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_an_interrupted_run_resumes_with_every_row_exactly_once(
    stop: signal.Signals, demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    config = config_file(demo_city, tmp_path)
    originals, rows = long_caseload(demo_city, tmp_path / "caseload.csv")
    output = tmp_path / "results.csv"
    command = recheck(config, "--item", ITEM, "--input", tmp_path / "caseload.csv",
                      "--output", output, "--batch-size", "20")  # fmt: skip
    marker = tmp_path / "results.csv.progress"
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as run:
        deadline = time.monotonic() + 120
        while rows_done(marker) < 200 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before it could be interrupted"
        run.send_signal(stop)
        _, stderr = run.communicate(timeout=60)
    if stop is signal.SIGINT:
        assert run.returncode == 130, stderr
    interrupted_at = rows_done(marker)
    assert 0 < interrupted_at < len(rows)
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    written = results(output)
    assert sorted(int(row["row"]) for row in written) == list(range(1, len(rows) + 1))
    by_row = {int(row["row"]): row for row in written}
    # A repeated person gets the decision their first row got, before or after the kill.
    for number, row in by_row.items():
        assert row["case_no"] == rows[number - 1]["case_no"]
        assert row["decision"] == by_row[(number - 1) % originals + 1]["decision"]


def test_bad_rows_go_to_the_rejects_file_by_row_and_field_and_the_run_goes_on(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    config = config_file(demo_city, tmp_path)
    columns, rows = caseload(demo_city)
    good = rows[:6]
    bad_id = good[0]["subject_recipient"][:-1] + (
        "0" if good[0]["subject_recipient"][-1] != "0" else "1"
    )
    planted = [
        good[0],
        {**good[1], "subject_recipient": bad_id},  # wrong check character
        good[2],
        {**good[3], "param_benefit_started": "March"},  # not an ISO date
        {**good[4], "service_item": "school_place"},  # another item's row
        good[5],
    ]
    source = write_caseload(tmp_path / "caseload.csv", columns, planted)
    with source.open("a", encoding="utf-8") as handle:
        handle.write("TOO,FEW\n")  # row 7: not a row of the caseload
    output, rejects = tmp_path / "results.csv", tmp_path / "bad.csv"
    done = subprocess.run(
        recheck(config, "--item", ITEM, "--input", source, "--output", output,
                "--rejects", rejects),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert sorted(int(row["row"]) for row in results(output)) == [1, 3, 6]
    rejected = {int(row["row"]): row["fields"] for row in results(rejects)}
    assert rejected == {
        2: "subject_recipient",
        4: "param_benefit_started",
        5: "service_item",
        7: "row",
    }
    everything = rejects.read_text(encoding="utf-8") + done.stdout + done.stderr
    assert bad_id not in everything
    assert bad_id[:-1] not in everything


def test_a_household_row_naming_fewer_people_than_its_size_is_rejected(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    item = "social_assistance_recheck"
    columns, rows = caseload(demo_city, item)
    family = next(row for row in rows if row["subject_member_1"])
    short = {**family, "subject_member_1": "", "subject_member_2": "", "subject_member_3": ""}
    source = write_caseload(tmp_path / "caseload.csv", columns, [family, short])
    output, rejects = tmp_path / "results.csv", tmp_path / "bad.csv"
    done = subprocess.run(
        recheck(config_file(demo_city, tmp_path), "--item", item, "--input", source,
                "--output", output, "--rejects", rejects),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert [int(row["row"]) for row in results(output)] == [1]
    assert [(row["row"], row["fields"]) for row in results(rejects)] == [
        ("2", "param_household_size")
    ]


def test_exit_statuses_tell_a_scheduler_what_happened(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    config = config_file(demo_city, tmp_path)
    source = Path(demo_city.data_dir) / f"caseload_{ITEM}.csv"
    output = tmp_path / "results.csv"
    unknown_item = subprocess.run(
        recheck(config, "--item", "no_such_item", "--input", source, "--output", output),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert unknown_item.returncode == 2
    wrong_format = subprocess.run(
        recheck(config, "--item", ITEM, "--input", source, "--output", tmp_path / "out.xlsx"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert wrong_format.returncode == 2
    # The audit log cannot be written (its directory is a file): no audit, no answer.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a directory", encoding="utf-8")
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["audit"]["directory"] = str(blocked / "audit")
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    failed = subprocess.run(
        recheck(config, "--item", ITEM, "--input", source, "--output", output),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert "re-check failed" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not output.exists()


def test_at_a_terminal_the_progress_is_a_bar_with_rate_and_eta(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    config = config_file(demo_city, tmp_path)
    source = Path(demo_city.data_dir) / f"caseload_{ITEM}.csv"
    command = recheck(config, "--item", ITEM, "--input", source, "--output", tmp_path / "r.csv")
    terminal, child = pty.openpty()
    with subprocess.Popen(command, stdout=child, stderr=child) as run:
        os.close(child)
        shown = b""
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        run.wait(timeout=300)
    os.close(terminal)
    assert run.returncode == 0, shown.decode(errors="replace")
    text = shown.decode(errors="replace")
    assert "rows/s" in text
    assert "ETA" in text
    assert "\x1b[" in text  # drawn and redrawn in place, not printed line after line
    assert "re-check: " not in text  # the plain lines are for logs only


def test_parquet_in_and_out(demo_city: DemoCityManifest, tmp_path: Path) -> None:
    import pyarrow
    import pyarrow.csv
    import pyarrow.parquet

    config = config_file(demo_city, tmp_path)
    columns, rows = caseload(demo_city)
    source = Path(demo_city.data_dir) / f"caseload_{ITEM}.csv"
    as_text = pyarrow.csv.ConvertOptions(column_types=dict.fromkeys(columns, pyarrow.string()))
    pyarrow.parquet.write_table(
        pyarrow.csv.read_csv(source, convert_options=as_text), tmp_path / "caseload.parquet"
    )
    output = tmp_path / "results.parquet"
    done = subprocess.run(
        recheck(config, "--item", ITEM, "--input", tmp_path / "caseload.parquet",
                "--output", output, "--batch-size", "16"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = pyarrow.parquet.read_table(output).to_pylist()
    assert sorted(row["row"] for row in written) == list(range(1, len(rows) + 1))
    decisions = [row["decision"] for row in written]
    assert "NOT_ELIGIBLE" not in decisions[decisions.index("ELIGIBLE") :]
    assert all(isinstance(row["failed_clauses"], list) for row in written)
    with_csv = tmp_path / "results.csv"
    subprocess.run(
        recheck(config, "--item", ITEM, "--input", source, "--output", with_csv),
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    by_row = {int(row["row"]): row["decision"] for row in results(with_csv)}
    assert {row["row"]: row["decision"] for row in written} == by_row
