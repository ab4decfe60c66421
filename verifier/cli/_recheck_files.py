"""A re-check's files, made to survive kill -9: every input row exactly once in the output.

While the run goes, results are appended in input order to ``<output>.partial`` and bad
rows to the rejects file. Every so often both are fsynced, then a progress marker
(``<output>.progress``: input rows done, the byte length of each file at that point) is
replaced atomically (written, fsynced, renamed, directory fsynced). ``--resume`` reads the
marker, cuts both files back to its lengths (dropping whatever was written after it) and
skips the input rows it counts as done: a row is in exactly one of the two files, once.

At the end a final pass writes the output proper — the people who no longer qualify first
(NOT_ELIGIBLE, then NEEDS_REVIEW, then ELIGIBLE; input order within each) — by reading the
partial file once, the first group written as it comes and the others set aside in a file
each (copied after it), so memory stays bounded whatever the caseload; it counts the summary
on the way (from the files, so an interrupted and resumed run counts every row).
Only then are the partial file and the marker removed.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from verifier._errors import ConfigurationError
from verifier.audit._files import sync_directory
from verifier.caseload import (
    DECISION_ORDER,
    LIST_COLUMNS,
    REJECT_COLUMNS,
    RESULT_COLUMNS,
    Rejected,
)
from verifier.cli._recheck_parquet import write_parquet
from verifier.cli._recheck_rows import (
    APPENDABLE,
    decoded_rows,
    encode_line,
    file_format,
    header_line,
)

CHECKPOINT_SECONDS = 1.0
COPY_CHUNK = 1 << 20


@dataclass
class Summary:
    """What a run found, counted over every row of the output and the rejects."""

    rows: int = 0
    rejected: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    failed_clauses: Counter[str] = field(default_factory=Counter)
    unknown_reasons: Counter[str] = field(default_factory=Counter)
    unknown_by_department: Counter[str] = field(default_factory=Counter)
    failed_calls: Counter[str] = field(default_factory=Counter)

    def count(self, row: dict[str, Any]) -> None:
        self.rows += 1
        self.decisions[row["decision"]] += 1
        self.failed_clauses.update(row["failed_clauses"])
        for unknown in row["unknown_facts"]:
            _, reason, department = unknown.rsplit(":", 2)
            self.unknown_reasons[reason] += 1
            self.unknown_by_department[department] += 1
        self.failed_calls.update(call.partition(":")[0] for call in row["failed_calls"])

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rejected": self.rejected,
            "decisions": dict(self.decisions.most_common()),
            "failed_clauses": dict(self.failed_clauses.most_common()),
            "unknown_reasons": dict(self.unknown_reasons.most_common()),
            "unknown_facts_by_department": dict(self.unknown_by_department.most_common()),
            "failed_calls_by_department": dict(self.failed_calls.most_common()),
        }


class RecheckFiles:
    """The output, rejects and progress marker of one run (see the module)."""

    def __init__(self, source: Path, output: Path, rejects: Path, item: str) -> None:
        self.output = output
        self.rejects = rejects
        self.partial = output.with_name(output.name + ".partial")
        self.marker = output.with_name(output.name + ".progress")
        self._final_form = file_format(output)
        # Parquet is written at the end only: until then the results are JSONL.
        self._form = self._final_form if self._final_form in APPENDABLE else "jsonl"
        self._reject_form = file_format(rejects)
        if self._reject_form not in APPENDABLE:
            raise ConfigurationError(f"{rejects.name}: rejects are written as .csv or .jsonl")
        self._identity = {"input": str(source.resolve()), "bytes": source.stat().st_size}
        self._item = item
        self.rows_done = 0
        self._results: IO[str] | None = None
        self._rejected: IO[str] | None = None
        self._unsaved = 0
        self._saved_at = time.monotonic()

    def open(self, *, resume: bool) -> None:
        """Start afresh, or (``resume``) where the marker says the last run got to."""
        if resume and self.marker.exists():
            marker = json.loads(self.marker.read_text(encoding="utf-8"))
            if marker["source"] != self._identity or marker["item"] != self._item:
                raise ConfigurationError(
                    f"{self.marker}: the interrupted run was of another input or item"
                )
            self.rows_done = int(marker["rows_done"])
            self._results = _cut(self.partial, int(marker["results_bytes"]))
            self._rejected = _cut(self.rejects, int(marker["rejects_bytes"]))
            return
        for directory in {self.output.parent, self.rejects.parent}:
            directory.mkdir(parents=True, exist_ok=True)
        self._results = _fresh(self.partial, header_line(RESULT_COLUMNS, self._form))
        self._rejected = _fresh(self.rejects, header_line(REJECT_COLUMNS, self._reject_form))
        self._save()

    def result(self, row: dict[str, Any]) -> None:
        assert self._results is not None
        self._results.write(encode_line(row, RESULT_COLUMNS, self._form))

    def reject(self, rejected: Rejected) -> None:
        assert self._rejected is not None
        self._rejected.write(encode_line(rejected.cells(), REJECT_COLUMNS, self._reject_form))

    def done(self, row: int, *, every: int) -> None:
        """Input rows up to ``row`` are written; saved at least every ``every`` rows or
        ``CHECKPOINT_SECONDS``, whichever comes first."""
        self._unsaved += row - self.rows_done
        self.rows_done = row
        now = time.monotonic()
        if self._unsaved >= every or now - self._saved_at >= CHECKPOINT_SECONDS:
            self._save()

    def _save(self) -> None:
        assert self._results is not None
        assert self._rejected is not None
        for handle in (self._results, self._rejected):
            handle.flush()
            os.fsync(handle.fileno())
        marker = {
            "source": self._identity,
            "item": self._item,
            "rows_done": self.rows_done,
            "results_bytes": self._results.tell(),
            "rejects_bytes": self._rejected.tell(),
        }
        _replace(self.marker, json.dumps(marker))
        self._unsaved = 0
        self._saved_at = time.monotonic()

    def finish(self) -> Summary:
        """Save, write the ordered output, count the summary, drop the run's own files."""
        self._save()
        assert self._results is not None
        assert self._rejected is not None
        self._results.close()
        self._rejected.close()
        summary = Summary()
        ordered = self.output.with_name(self.output.name + ".ordering")
        spills = {
            decision: self.output.with_name(f"{self.output.name}.{decision.lower()}")
            for decision in DECISION_ORDER[1:]
        }
        try:
            if self._final_form == "parquet":
                rows = itertools.chain(
                    self._first_group(summary, spills),
                    *(decoded_rows(spill, RESULT_COLUMNS, self._form) for spill in spills.values()),
                )
                write_parquet(ordered, rows, RESULT_COLUMNS, LIST_COLUMNS)
                with ordered.open("rb") as written:
                    os.fsync(written.fileno())
            else:
                with ordered.open("w", encoding="utf-8", newline="") as handle:
                    handle.write(header_line(RESULT_COLUMNS, self._form))
                    for row in self._first_group(summary, spills):
                        handle.write(encode_line(row, RESULT_COLUMNS, self._form))
                    for spill in spills.values():  # already encoded: copied as they are
                        with spill.open(encoding="utf-8", newline="") as group:
                            if self._form == "csv":
                                group.readline()  # its header
                            shutil.copyfileobj(group, handle, COPY_CHUNK)
                    handle.flush()
                    os.fsync(handle.fileno())
        finally:
            for spill in spills.values():
                spill.unlink(missing_ok=True)
        os.replace(ordered, self.output)
        sync_directory(self.output.parent)
        summary.rejected = sum(
            1 for _ in decoded_rows(self.rejects, REJECT_COLUMNS, self._reject_form)
        )
        self.partial.unlink()
        self.marker.unlink()
        return summary

    def _first_group(self, summary: Summary, spills: dict[str, Path]) -> Iterator[dict[str, Any]]:
        """One pass over the partial results, each row counted into ``summary``: the rows
        of the first group (whom to stop paying) as they come, the others set aside in
        ``spills``, one file per later group, to follow them in input order."""
        last = DECISION_ORDER[-1]
        handles = {
            decision: _fresh(path, header_line(RESULT_COLUMNS, self._form))
            for decision, path in spills.items()
        }
        try:
            for row in decoded_rows(self.partial, RESULT_COLUMNS, self._form):
                summary.count(row)
                if row["decision"] == DECISION_ORDER[0]:
                    yield row
                else:
                    handle = handles.get(row["decision"], handles[last])
                    handle.write(encode_line(row, RESULT_COLUMNS, self._form))
        finally:
            for handle in handles.values():
                handle.close()

    def close(self) -> None:
        """Leave the files as the last marker knows them (an interrupted run)."""
        for handle in (self._results, self._rejected):
            if handle is not None and not handle.closed:
                handle.close()


def _fresh(path: Path, header: str) -> IO[str]:
    handle = path.open("w", encoding="utf-8", newline="")
    handle.write(header)
    return handle


def _cut(path: Path, length: int) -> IO[str]:
    """``path`` opened for appending, cut back to ``length`` bytes."""
    with path.open("r+b") as raw:
        raw.truncate(length)
        raw.flush()
        os.fsync(raw.fileno())
    return path.open("a", encoding="utf-8", newline="")


def _replace(path: Path, text: str) -> None:
    written = path.with_name(path.name + ".new")
    with written.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(written, path)
    sync_directory(path.parent)
