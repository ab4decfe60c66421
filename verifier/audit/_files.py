"""The audit files at the level of bytes and descriptors: reading lines from the end,
the one-writer lock on the directory, and making a new file's name durable."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

from verifier._errors import ConfigurationError

if sys.platform != "win32":
    import fcntl

READ_CHUNK = 1 << 16


class Descriptors:
    """The current file and the directory lock (closing its descriptor releases it)."""

    def __init__(self) -> None:
        self.file = -1
        self.lock = -1

    def close(self) -> None:
        for fd in (self.file, self.lock):
            if fd >= 0:
                os.close(fd)
        self.file = self.lock = -1


def end_of_last_line(fd: int, size: int) -> int:
    """The offset just past the file's last newline (0 if it has none)."""
    position = size
    while position > 0:
        start = max(0, position - READ_CHUNK)
        found = os.pread(fd, position - start, start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def lines_backwards(fd: int, end: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` of the complete lines before ``end`` (just past a newline), last
    first, reading the file in chunks from the end."""
    pending = b""
    position = end
    while position > 0:
        start = max(0, position - READ_CHUNK)
        pending = os.pread(fd, position - start, start) + pending
        position = start
        while (cut := pending.rfind(b"\n", 0, len(pending) - 1)) >= 0:
            yield position + cut + 1, pending[cut + 1 :]
            pending = pending[: cut + 1]
    if pending:
        yield 0, pending


def lock_directory(directory: Path) -> int:
    """Hold an exclusive lock on the directory while writing: two writers would fork the
    chain. The kernel releases it when the process dies, however it dies."""
    if sys.platform == "win32":
        return -1
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigurationError(
            f"audit directory {directory} is in use by another writer "
            "(each process or replica needs its own audit directory)"
        ) from None
    return fd


def sync_directory(directory: Path) -> None:
    """Make a new file's name durable, not only its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
