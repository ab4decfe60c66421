"""Parquet caseloads and results (``pip install 'onestop-verifier[bulk]'``: pyarrow).

A Parquet file cannot be appended to, so a run writes its partial results as JSONL (the
resumable part, ``_recheck_files``) and only the final, ordered output as Parquet, a row
group at a time: memory stays bounded by ``ROW_GROUP`` rows either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from verifier._errors import ConfigurationError
from verifier.caseload import text_cells

ROW_GROUP = 10_000
READ_BATCH = 4_096


def _pyarrow() -> tuple[ModuleType, ModuleType]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigurationError(
            "Parquet needs pyarrow: pip install 'onestop-verifier[bulk]'"
        ) from None
    return pyarrow, pyarrow.parquet


def parquet_rows(path: Path) -> Iterator[Mapping[str, Any]]:
    """Each row's fields as text (as a CSV gives them), a batch read at a time."""
    _, parquet = _pyarrow()
    for batch in parquet.ParquetFile(path).iter_batches(batch_size=READ_BATCH):
        for row in batch.to_pylist():
            yield text_cells(row)


def parquet_row_count(path: Path) -> int:
    _, parquet = _pyarrow()
    count: int = parquet.ParquetFile(path).metadata.num_rows
    return count


def write_parquet(
    path: Path, rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...], lists: Iterable[str]
) -> None:
    """``rows`` to ``path``: ``row`` an integer, ``lists`` lists of text, the rest text."""
    arrow, parquet = _pyarrow()
    listed = set(lists)
    schema = arrow.schema(
        [
            (
                column,
                arrow.int64()
                if column == "row"
                else arrow.list_(arrow.string())
                if column in listed
                else arrow.string(),
            )
            for column in columns
        ]
    )
    with parquet.ParquetWriter(path, schema) as writer:
        group: list[Mapping[str, Any]] = []
        for row in rows:
            group.append(row)
            if len(group) >= ROW_GROUP:
                writer.write_table(arrow.Table.from_pylist(group, schema=schema))
                group = []
        if group:
            writer.write_table(arrow.Table.from_pylist(group, schema=schema))
