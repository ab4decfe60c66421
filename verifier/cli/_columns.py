"""Text columns measured in terminal cells, not characters: a CJK character (a document
name, a legal basis, a district) takes two cells, a combining mark or a zero-width
character none, so ``str.ljust`` and ``f"{text:<20}"`` misalign Chinese text."""

from __future__ import annotations

import wcwidth


def width(text: str) -> int:
    """The cells ``text`` takes on a terminal."""
    columns = wcwidth.wcswidth(text)
    if columns >= 0:
        return columns
    # wcswidth gives up (-1) on a control character; callers show those escaped anyway.
    return sum(max(0, wcwidth.wcwidth(char)) for char in text)


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """``text`` filled with spaces to ``columns`` cells (left-aligned unless ``right``)."""
    filler = " " * max(0, columns - width(text))
    return filler + text if right else text + filler
