"""Caseload files of a chosen size, whatever the city's size (``--caseload-rows``).

About a quarter of the city is a caseload row, split over three items, so a caseload of
10⁶ rows would need a city of millions. A bulk re-check's cost is per row, not per person,
so to measure one the generator can instead make each file exactly ``rows`` rows: the first
``rows`` of a larger caseload, or a smaller one's cases repeated in order, each repetition
with new case numbers (``<case>-R<n>``). A repeated case is the same person re-checked
again, so it is decided as the first time: the planted counts per reason scale with the
repetitions, counted row by row, and ``caseloads.json`` says how many distinct cases
there are.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from adapters.demo_city._caseloads import ITEMS, CaseloadCounts, caseload_file


def resize_caseloads(directory: Path, counts: dict[str, CaseloadCounts], rows: int) -> None:
    """Make every caseload file in ``directory`` exactly ``rows`` rows, and its counts so."""
    if rows < 1:
        raise ValueError("a caseload needs at least one row")
    for item, count in counts.items():
        if count.rows == rows or count.rows == 0:
            continue
        assert len(count.reasons) == count.rows, "a reason is recorded for every row"
        path = directory / caseload_file(item)
        resized = path.with_name(f".{path.name}.resized")
        with resized.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            header, cases = _cases(path)
            writer.writerow(header)
            writer.writerows(itertools.islice(_repeated(path, cases), rows))
        resized.replace(path)
        reasons = list(ITEMS[item]["reasons"])
        planted = (count.reasons[index % count.rows] for index in range(rows))
        count.no_longer_qualify = Counter(reasons[code - 1] for code in planted if code)
        count.distinct_cases = min(count.rows, rows)
        count.rows = rows


def _cases(path: Path) -> tuple[list[str], int]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, sum(1 for _ in reader)


def _repeated(path: Path, cases: int) -> Iterator[list[str]]:
    """The file's rows, then again and again with new case numbers (read as wanted)."""
    for repetition in itertools.count():
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for row in reader:
                if repetition:
                    row[0] = f"{row[0]}-R{repetition}"
                yield row
        if not cases:
            return
