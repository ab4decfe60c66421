"""CLI tables line up in terminal cells: Chinese text takes two cells a character, combining
marks and zero-width characters none (counting characters misaligns every CJK row)."""

from __future__ import annotations

import pytest

from verifier.cli._audit_text import StreamingTable, table
from verifier.cli._columns import pad, width

DECOMPOSED_E = "e\u0301"  # é as e + a combining acute accent: one cell
ZERO_WIDTH_SPACED = "a\u200bb"  # two cells: the zero-width space takes none


@pytest.mark.parametrize(
    ("text", "cells"),
    [
        ("school_place", 12),
        ("海淀区", 6),
        ("《义务教育法》第十二条", 22),
        (f"caf{DECOMPOSED_E}", 4),
        (ZERO_WIDTH_SPACED, 2),
        ("户口簿 (copy)", 13),
    ],
)
def test_width_counts_terminal_cells(text: str, cells: int) -> None:
    assert width(text) == cells
    assert width(pad(text, 30)) == 30
    assert width(pad(text, 30, right=True)) == 30


def second_column_starts(lines: list[str], second_cells: list[str]) -> set[int]:
    """The cell where each line's second column begins."""
    return {width(line[: line.index(cell)]) for line, cell in zip(lines, second_cells, strict=True)}


MIXED_ROWS = [
    ("居住证", "household", "1"),
    ("房屋租赁登记备案证明", "housing", "22"),
    (f"attestation sign{DECOMPOSED_E}e", "tax", "333"),
    (f"plain{ZERO_WIDTH_SPACED}", "social_insurance", "4"),
]


def test_report_tables_align_chinese_and_combining_text() -> None:
    header = ("document", "department", "count")
    lines = table("documents no longer required", header, MIXED_ROWS)[1:]
    departments = ["department", *(department for _, department, _ in MIXED_ROWS)]
    assert len(second_column_starts(lines, departments)) == 1
    # the count column is right-aligned: every line ends at the same cell
    assert len({width(line) for line in lines}) == 1


def test_query_rows_align_chinese_and_combining_text() -> None:
    written: list[str] = []
    streaming = StreamingTable(("operator", "item"), written.append)
    for operator, _, count in MIXED_ROWS:
        streaming.add((operator, f"item-{count}"))
    streaming.flush()
    cells = ["item", *(f"item-{count}" for _, _, count in MIXED_ROWS)]
    assert len(second_column_starts(written, cells)) == 1
