"""Every document a comment, docstring or guide cites is in the repository.

Comments once cited design notes that lived outside it: a reader who cloned the project
could not follow them. A citation is any name ending in ".md" in a tracked source or document.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"[A-Za-z0-9_./-]+\.md\b")
CITING_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".proto", ".cfg"}


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed if Path(name).suffix in CITING_SUFFIXES]


def resolves(citation: str, citing: Path) -> bool:
    return (ROOT / citation).is_file() or (citing.parent / citation).is_file()


def test_every_cited_document_is_in_the_repository() -> None:
    missing = sorted(
        f"{path.relative_to(ROOT)} cites {citation}"
        for path in tracked_files()
        if path.is_file()
        for citation in set(CITATION.findall(path.read_text(encoding="utf-8")))
        if not resolves(citation, path)
    )
    assert missing == []
