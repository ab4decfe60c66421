"""Reading the audit log back, entry by entry, for auditors' tools.

Reading checks each line's form, not the chain: ``verify_audit_log`` says whether the log
is intact; ``read_audit_entries`` says what it contains.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from verifier.audit._format import (
    AuditLogError,
    MalformedLine,
    decode_entry,
    log_file_name,
    log_files,
    parse_time,
    split_line,
)


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the log and where it sits: ``file`` and ``line`` (from 1)."""

    seq: int
    type: str
    """``record`` (body: an AuditRecord, AlertRecord or RefusalRecord as JSON),
    ``checkpoint`` or ``recovery``."""
    time: datetime
    """When it was written (informational: clocks jump; ``seq`` orders entries)."""
    body: Mapping[str, Any]
    hash: str
    file: Path
    line: int


def read_audit_entries(directory: Path) -> Iterator[AuditEntry]:
    """Every entry of the log in ``directory``, in commit (``seq``) order, one at a time.

    Raises ``AuditLogError`` naming the file and line of a line that is not an audit entry.
    An incomplete last line of the last file (a write in progress, or torn by a crash and
    not yet repaired) was never acknowledged, so it is not an entry and is skipped.
    """
    if not directory.is_dir():
        raise AuditLogError(f"{directory} is not a directory")
    files = log_files(directory)
    for index, (_, path) in enumerate(files):
        last_file = index == len(files) - 1
        for number, line in enumerate(read_lines(path), start=1):
            if last_file and not line.endswith(b"\n"):
                return
            yield _entry(line, path, number)


def read_lines(path: Path) -> Iterator[bytes]:
    """The file's lines, split at newline bytes only (whatever else a line holds)."""
    try:
        with path.open("rb") as handle:
            yield from handle
    except OSError as exc:
        raise AuditLogError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def _entry(line: bytes, path: Path, number: int) -> AuditEntry:
    try:
        digest, data = split_line(line)
        entry = decode_entry(data)
    except MalformedLine as exc:
        raise AuditLogError(f"{path}:{number}: {exc.reason}") from None
    return AuditEntry(
        seq=entry["seq"],
        type=entry["type"],
        time=parse_time(entry["time"]),
        body=entry["body"],
        hash=digest,
        file=path,
        line=number,
    )


def first_entry_hash(directory: Path) -> str | None:
    """The log's id: the hash its first line claims (None: the log has no first line).
    Whether that line is intact is for the chain to check."""
    first = directory / log_file_name(1)
    try:
        with first.open("rb") as handle:
            line = handle.readline()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditLogError(f"{first}: cannot read it: {exc.strerror or exc}") from None
    try:
        return split_line(line)[0]
    except MalformedLine:
        return None
