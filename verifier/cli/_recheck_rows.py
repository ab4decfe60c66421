"""A caseload's files, in and out: reading CSV / JSONL / Parquet rows, and writing result
and reject rows as CSV or JSONL lines. What a row means — its columns, the application it
makes, the result row of its outcome — is the caseload format (``verifier.caseload``),
which ``verifier.spark`` shares.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from verifier.caseload import LIST_COLUMNS
from verifier.cli._recheck_parquet import parquet_row_count, parquet_rows

FORMATS = ("csv", "jsonl", "parquet")
APPENDABLE = ("csv", "jsonl")
"""What the partial results and the rejects can be written as (a Parquet file cannot grow)."""


def file_format(path: Path) -> str:
    """``csv`` or ``jsonl``, from the file name."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "json":
        suffix = "jsonl"
    if suffix not in FORMATS:
        raise ValueError(f"{path.name}: expected a .csv, .jsonl or .parquet file")
    return suffix


def count_rows(path: Path) -> int:
    """How many data rows ``path`` holds (for the progress bar)."""
    form = file_format(path)
    if form == "parquet":
        return parquet_row_count(path)
    # Counted without making the rows (a tenth of the cost of reading them): ``read_rows``
    # gives a row for every CSV record but a blank one, after the header, and for every
    # JSONL line.
    if form == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return max(0, sum(1 for record in csv.reader(handle) if record) - 1)
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def read_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any] | None]]:
    """(row number from 1, the row's fields) for each data row; None for a row that is not
    a row at all (a JSONL line that is not an object, a CSV row of the wrong width)."""
    form = file_format(path)
    if form == "parquet":
        yield from enumerate(parquet_rows(path), start=1)
        return
    if form == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for number, row in enumerate(reader, start=1):
                broken = None in row or any(value is None for value in row.values())
                yield number, None if broken else row
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            yield number, data if isinstance(data, dict) else None


def encode_line(row: Mapping[str, Any], columns: tuple[str, ...], form: str) -> str:
    """One output line (with its newline) in ``form``."""
    if form == "jsonl":
        return json.dumps({column: row[column] for column in columns}, ensure_ascii=False) + "\n"
    return _csv_line([";".join(row[c]) if isinstance(row[c], list) else row[c] for c in columns])


def decoded_rows(path: Path, columns: tuple[str, ...], form: str) -> Iterator[dict[str, Any]]:
    """The rows ``encode_line`` wrote to ``path`` (after its header)."""
    with path.open(encoding="utf-8", newline="") as handle:
        if form == "jsonl":
            for line in handle:
                yield json.loads(line)
            return
        reader = csv.reader(handle)
        next(reader, None)
        for cells in reader:
            row: dict[str, Any] = dict(zip(columns, cells, strict=True))
            for column in (*LIST_COLUMNS, "fields"):
                if column in row:
                    row[column] = [part for part in row[column].split(";") if part]
            row["row"] = int(row["row"])
            yield row


def header_line(columns: tuple[str, ...], form: str) -> str:
    return _csv_line(list(columns)) if form == "csv" else ""


class _Line:
    """Where ``csv.writer`` writes one row (it writes a row with one ``write``)."""

    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text = ""

    def write(self, chunk: str) -> None:
        self.text += chunk


def _csv_line(cells: list[Any]) -> str:
    line = _Line()
    csv.writer(line, lineterminator="\n").writerow(cells)
    return line.text
