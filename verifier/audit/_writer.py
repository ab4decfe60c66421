"""Appending to the chained log's files: in order, durably, rotating, sealing, recovering.

A ``ChainWriter`` is owned by one thread at a time (it is not thread-safe): it assigns each
entry its ``seq`` and ``prev`` as it writes it, so the order in the files is the order of
commit. A batch is written with one ``write`` loop and one ``fdatasync``; if either fails
the file is cut back to where the batch began and the chain's tip does not move, so the
next batch links to the last entry that is really there.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.audit._chain import EMPTY_TIP, ChainEncoder, Tip
from verifier.audit._checkpoint import LOG_BODY_KEYS, SignedCheckpoint
from verifier.audit._files import (
    Descriptors,
    end_of_last_line,
    lines_backwards,
    lock_directory,
    sync_directory,
)
from verifier.audit._format import (
    CHECKPOINT_ENDING,
    GENESIS,
    RECORD_ENDING,
    AuditLogError,
    MalformedLine,
    canonical_json,
    decode_entry,
    entry_hash,
    format_time,
    log_file_name,
    log_files,
    split_line,
)
from verifier.audit._keys import public_key_id
from verifier.audit._reader import first_entry_hash, read_lines

logger = logging.getLogger("verifier.audit")

_datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)

_PROBE = b" " * 4096
"""What ``probe`` writes: the size of a small batch, and no newline, so that if a crash
leaves it behind, opening the log cuts it as a torn tail."""


CheckpointListener = Callable[[SignedCheckpoint], None]


class ChainWriter:
    """The files of one log directory, continued where they end (repairing a torn tail)."""

    def __init__(
        self,
        directory: Path,
        signing_key: Ed25519PrivateKey,
        *,
        fsync: bool,
        max_file_bytes: int,
        checkpoint_every: int,
        clock: Callable[[], datetime],
        on_checkpoint: CheckpointListener | None = None,
    ) -> None:
        """``on_checkpoint`` is told of each checkpoint once it is written (and synced, with
        ``fsync``), on the writer's thread: it must return at once (a witness is published
        from elsewhere)."""
        if max_file_bytes < 1 or checkpoint_every < 1:
            raise ValueError("max_file_bytes and checkpoint_every must be positive")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._encoder = ChainEncoder(signing_key, checkpoint_every)
        self._key_id = public_key_id(signing_key.public_key())
        self._fsync = fsync
        self._max_file_bytes = max_file_bytes
        self._clock = clock
        self._on_checkpoint = on_checkpoint
        self.last_checkpoint: SignedCheckpoint | None = None
        """The last v2 checkpoint of the log as it was opened, or as written since."""
        self._fds = Descriptors()
        # Released on close, or when the writer is collected without one (the lock with it).
        weakref.finalize(self, self._fds.close)
        self._number = 0
        self._size = 0
        self._tip = EMPTY_TIP
        self._dirty = False
        """A failed batch may still be in the file past ``_size``: cut it before writing."""
        self.records_written = 0
        """Records written since opening (and synced, with ``fsync``)."""
        self.syncs = 0
        """Data syncs of the log's files since opening: with ``records_written``, how well
        group commit batches."""
        self._fds.lock = lock_directory(directory)
        try:
            self._open()
        except BaseException:
            self._release()
            raise

    @property
    def position(self) -> tuple[str, int]:
        """The current file's name and the last entry's seq."""
        return log_file_name(self._number), self._tip.seq

    def append_records(self, bodies: Sequence[str]) -> None:
        """Chain and write records (their bodies' canonical JSON), durably and in order."""
        self._append([("record", body) for body in bodies])
        self.records_written += len(bodies)

    def probe(self) -> None:
        """Raise ``OSError`` unless a batch could be written now; the log is left as it was.

        The probe bytes are written and synced where the next batch would go, then cut off,
        as a failed batch is: a real write on the real file finds what a write would (a
        full disk, a file-size limit, a failing device), and the chain gains no entry."""
        self._prepare()
        self._dirty = True  # until the probe is cut off again
        self._write_through(_PROBE)
        os.ftruncate(self._fds.file, self._size)
        self._dirty = False

    def close(self) -> None:
        """Seal the log with a shutdown checkpoint (unless it already ends with one)."""
        try:
            self.seal()
        finally:
            self._release()

    def seal(self) -> None:
        """End the log with a shutdown checkpoint (unless it already does), durably, and
        keep writing: for a writer that may be killed without warning once idle (a Spark
        worker between tasks), so that what it wrote verifies as a log closed there."""
        self._prepare()
        sealed = None
        if self._tip.sealed_by != "shutdown":
            sealed = self._seal("shutdown", format_time(self._clock()))
        if not self._fsync:
            os.fsync(self._fds.file)
        if sealed is not None:
            self._written(sealed)  # durable now, so it may be witnessed

    def _open(self) -> None:
        files = log_files(self.directory)
        if not files:
            self._next_file()
            return
        self._number, path = files[-1]
        self._fds.file = os.open(path, os.O_RDWR | os.O_APPEND)
        torn = self._cut_torn_tail(path)
        self._size = os.fstat(self._fds.file).st_size
        if self._size:
            self._tip = self._tip_of_current_file(path, files)
        elif len(files) > 1:
            self._tip = self._rotated_tip(files)
        elif self._number != 1:
            raise AuditLogError(f"{path}: the only file of the log is empty and not the first")
        if self._tip.seq:
            self._tip = replace(self._tip, log_id=first_entry_hash(self.directory) or GENESIS)
        if torn:
            self._append([("recovery", canonical_json(_recovery_body(torn)))])

    def _append(self, entries: Sequence[tuple[str, str]]) -> None:
        self._prepare()
        time = format_time(self._clock())
        lines, tip, sealed = self._encoder.entries(self._tip, entries, time)
        data = b"".join(lines)
        if self._size and self._size + len(data) > self._max_file_bytes:
            self._written(self._seal("rotation", time))
            self._prepare()
            lines, tip, sealed = self._encoder.entries(self._tip, entries, time)
            data = b"".join(lines)
        self._write(data)
        self._tip = tip
        self._written(*sealed)

    def _written(self, *checkpoints: SignedCheckpoint) -> None:
        for checkpoint in checkpoints:
            self.last_checkpoint = checkpoint
            if self._on_checkpoint is not None:
                self._on_checkpoint(checkpoint)

    def _prepare(self) -> None:
        if self._dirty:
            os.ftruncate(self._fds.file, self._size)
            self._dirty = False
        if self._tip.sealed_by == "rotation" and self._size:
            self._next_file()

    def _seal(self, reason: str, time: str) -> SignedCheckpoint:
        line, tip, checkpoint = self._encoder.checkpoint(self._tip, reason, time)
        self._write(line)
        self._tip = tip
        return checkpoint

    def _write(self, data: bytes) -> None:
        try:
            self._write_through(data)
        except OSError:
            # Leave no part of the batch behind; if even that fails, cut it before the next.
            try:
                os.ftruncate(self._fds.file, self._size)
            except OSError:
                self._dirty = True
            raise
        self._size += len(data)

    def _write_through(self, data: bytes) -> None:
        view = memoryview(data)
        written = 0
        while written < len(data):
            count = os.write(self._fds.file, view[written:])
            if count == 0:
                raise OSError(5, "the audit file accepted no bytes")
            written += count
        if self._fsync:
            _datasync(self._fds.file)
            self.syncs += 1

    def _next_file(self) -> None:
        path = self.directory / log_file_name(self._number + 1)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        if os.fstat(fd).st_size:
            os.close(fd)
            raise AuditLogError(f"{path}: the next file of the log already has entries")
        try:
            if self._fsync:
                sync_directory(self.directory)
        except OSError:
            os.close(fd)
            raise
        if self._fds.file >= 0:
            os.close(self._fds.file)
        self._fds.file, self._number, self._size = fd, self._number + 1, 0

    def _cut_torn_tail(self, path: Path) -> int:
        """Cut an incomplete or invalid last line: a write that crashed, never acknowledged
        (answers wait for the sync). Returns how many bytes were cut."""
        size = os.fstat(self._fds.file).st_size
        cut = end_of_last_line(self._fds.file, size)
        if cut:
            offset, line = next(lines_backwards(self._fds.file, cut))
            if not _self_consistent(line):
                cut = offset
        if cut == size:
            return 0
        if cut:
            offset, line = next(lines_backwards(self._fds.file, cut))
            if not _self_consistent(line):
                raise AuditLogError(
                    f"{path}: the last entries are damaged (from byte {offset}), more than a "
                    "torn write; check the log with verify_audit_log before continuing it"
                )
        os.ftruncate(self._fds.file, cut)
        os.fsync(self._fds.file)
        logger.warning(
            "audit log %s: cut %d bytes of a torn last line left by a crash "
            "(a write that was never acknowledged)",
            path,
            size - cut,
        )
        return size - cut

    def _tip_of_current_file(self, path: Path, files: list[tuple[int, Path]]) -> Tip:
        lines = lines_backwards(self._fds.file, self._size)
        _, last = next(lines)
        tip = _tip_of(last, path)
        unsealed = 0
        line: bytes | None = last
        while line is not None and not line.endswith(CHECKPOINT_ENDING):
            unsealed += line.endswith(RECORD_ENDING)
            found = next(lines, None)
            line = found[1] if found is not None else None
        if line is not None:
            self._warn_if_signed_by_another_key(line, path)
            sealed = _entry_of(line, path)
        elif len(files) > 1:
            sealed = _entry_of(_last_line(files[-2][1]), files[-2][1])  # its rotation checkpoint
        else:
            return replace(tip, unsealed=unsealed, records=unsealed)  # no checkpoint yet
        checkpoint = _v2_checkpoint(sealed)
        self.last_checkpoint = checkpoint
        records = checkpoint.records + unsealed if checkpoint else _count_records(files)
        return replace(tip, unsealed=unsealed, records=records)

    def _rotated_tip(self, files: list[tuple[int, Path]]) -> Tip:
        """The tip when the current file is still empty: the previous file's last entry, which
        must be the rotation checkpoint that started the current one."""
        previous = files[-2][1]
        line = _last_line(previous)
        tip = _tip_of(line, previous) if line else None
        if tip is None or tip.sealed_by != "rotation":
            raise AuditLogError(f"{previous}: does not end with the rotation checkpoint it must")
        checkpoint = _v2_checkpoint(_entry_of(line, previous))
        self.last_checkpoint = checkpoint
        return replace(tip, records=checkpoint.records if checkpoint else _count_records(files))

    def _warn_if_signed_by_another_key(self, checkpoint: bytes, path: Path) -> None:
        try:
            key_id = decode_entry(split_line(checkpoint)[1])["body"].get("key_id")
        except MalformedLine:
            return
        if key_id != self._key_id:
            logger.warning(
                "audit log %s was sealed with key %s, now signing with key %s: "
                "verifying the whole log needs both public keys",
                path,
                key_id,
                self._key_id,
            )

    def _release(self) -> None:
        self._fds.close()


def _recovery_body(truncated: int) -> dict[str, object]:
    return {"truncated_bytes": truncated, "reason": "torn tail after crash"}


def _self_consistent(line: bytes) -> bool:
    """A whole entry whose hash matches its bytes: what a torn write cannot produce."""
    try:
        digest, data = split_line(line)
        entry = decode_entry(data)
    except MalformedLine:
        return False
    return digest == entry_hash(entry["prev"], data)


def _entry_of(line: bytes, path: Path) -> dict[str, Any]:
    try:
        entry: dict[str, Any] = decode_entry(split_line(line)[1])
    except MalformedLine as exc:
        raise AuditLogError(f"{path}: an entry is unreadable: {exc.reason}") from None
    return entry


def _tip_of(line: bytes, path: Path) -> Tip:
    try:
        digest, data = split_line(line)
        entry = decode_entry(data)
    except MalformedLine as exc:
        raise AuditLogError(f"{path}: the last entry is unreadable: {exc.reason}") from None
    sealed_by = entry["body"].get("reason") if entry["type"] == "checkpoint" else None
    if sealed_by == "shutdown" and "version" not in entry["body"]:
        sealed_by = None  # a v1 shutdown signed no reason: seal the log again on close
    return Tip(entry["seq"], digest, 0, sealed_by)


def _v2_checkpoint(entry: dict[str, Any]) -> SignedCheckpoint | None:
    """The checkpoint of a v2 checkpoint entry (None for a v1 one)."""
    if entry["type"] != "checkpoint" or entry["body"].keys() != LOG_BODY_KEYS:
        return None
    try:
        return SignedCheckpoint.from_log(entry["body"], entry["time"])
    except ValueError:
        return None


def _last_line(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        found = next(lines_backwards(fd, end_of_last_line(fd, os.fstat(fd).st_size)), None)
    finally:
        os.close(fd)
    return found[1] if found else b""


def _count_records(files: list[tuple[int, Path]]) -> int:
    """Every record of the log, counted once when continuing a log whose last checkpoint is
    v1 (which does not say how many records it seals)."""
    return sum(line.endswith(RECORD_ENDING) for _, path in files for line in read_lines(path))
