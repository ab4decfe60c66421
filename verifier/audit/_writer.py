"""Appending to the chained log's files: in order, durably, rotating, sealing, recovering.

A ``ChainWriter`` is owned by one thread at a time (it is not thread-safe): it assigns each
entry its ``seq`` and ``prev`` as it writes it, so the order in the files is the order of
commit. A batch is written with one ``write`` loop and one ``fdatasync``; if either fails
the file is cut back to where the batch began and the chain's tip does not move, so the
next batch links to the last entry that is really there.
"""

from __future__ import annotations

import base64
import logging
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
    chain_line,
    checkpoint_message,
    decode_entry,
    entry_hash,
    entry_json,
    format_time,
    log_file_name,
    log_files,
    split_line,
)
from verifier.audit._keys import public_key_id

logger = logging.getLogger("verifier.audit")

_datasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)

_PROBE = b" " * 4096
"""What ``probe`` writes: the size of a small batch, and no newline, so that if a crash
leaves it behind, opening the log cuts it as a torn tail."""


@dataclass(frozen=True, slots=True)
class _Tip:
    """The last entry of the chain, and what the next entries need to know about it."""

    seq: int
    hash: str
    unsealed: int
    """Records since the last checkpoint."""
    sealed_by: str | None
    """The reason of the last entry if it is a checkpoint."""


_EMPTY = _Tip(0, GENESIS, 0, None)


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
    ) -> None:
        if max_file_bytes < 1 or checkpoint_every < 1:
            raise ValueError("max_file_bytes and checkpoint_every must be positive")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._key = signing_key
        self._key_id = public_key_id(signing_key.public_key())
        self._fsync = fsync
        self._max_file_bytes = max_file_bytes
        self._checkpoint_every = checkpoint_every
        self._clock = clock
        self._fds = Descriptors()
        # Released on close, or when the writer is collected without one (the lock with it).
        weakref.finalize(self, self._fds.close)
        self._number = 0
        self._size = 0
        self._tip = _EMPTY
        self._dirty = False
        """A failed batch may still be in the file past ``_size``: cut it before writing."""
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
            self._prepare()
            if self._tip.sealed_by != "shutdown":
                self._seal("shutdown", format_time(self._clock()))
            if not self._fsync:
                os.fsync(self._fds.file)
        finally:
            self._release()

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
            self._tip = self._tip_of_current_file(path)
        elif len(files) > 1:
            self._tip = _rotated_tip(files[-2][1])
        elif self._number != 1:
            raise AuditLogError(f"{path}: the only file of the log is empty and not the first")
        if torn:
            self._append([("recovery", canonical_json(_recovery_body(torn)))])

    def _append(self, entries: Sequence[tuple[str, str]]) -> None:
        self._prepare()
        time = format_time(self._clock())
        data, tip = self._encode(self._tip, entries, time)
        if self._size and self._size + len(data) > self._max_file_bytes:
            self._seal("rotation", time)
            self._prepare()
            data, tip = self._encode(self._tip, entries, time)
        self._write(data)
        self._tip = tip

    def _prepare(self) -> None:
        if self._dirty:
            os.ftruncate(self._fds.file, self._size)
            self._dirty = False
        if self._tip.sealed_by == "rotation" and self._size:
            self._next_file()

    def _encode(
        self, tip: _Tip, entries: Sequence[tuple[str, str]], time: str
    ) -> tuple[bytes, _Tip]:
        lines = []
        for entry_type, body in entries:
            line, tip = self._line(tip, entry_type, body, time)
            lines.append(line)
            if tip.unsealed >= self._checkpoint_every:
                line, tip = self._checkpoint(tip, "periodic", time)
                lines.append(line)
        return b"".join(lines), tip

    def _line(self, tip: _Tip, entry_type: str, body: str, time: str) -> tuple[bytes, _Tip]:
        seq = tip.seq + 1
        line, digest = chain_line(tip.hash, entry_json(seq, tip.hash, entry_type, time, body))
        unsealed = tip.unsealed + 1 if entry_type == "record" else tip.unsealed
        return line, _Tip(seq, digest, unsealed, None)

    def _checkpoint(self, tip: _Tip, reason: str, time: str) -> tuple[bytes, _Tip]:
        signature = self._key.sign(checkpoint_message(tip.seq, tip.hash))
        body = {
            "chain_hash": tip.hash,
            "through_seq": tip.seq,
            "key_id": self._key_id,
            "signature": base64.b64encode(signature).decode("ascii"),
            "reason": reason,
        }
        line, sealed = self._line(tip, "checkpoint", canonical_json(body), time)
        return line, _Tip(sealed.seq, sealed.hash, 0, reason)

    def _seal(self, reason: str, time: str) -> None:
        line, tip = self._checkpoint(self._tip, reason, time)
        self._write(line)
        self._tip = tip

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

    def _tip_of_current_file(self, path: Path) -> _Tip:
        lines = lines_backwards(self._fds.file, self._size)
        _, last = next(lines)
        tip = _tip_of(last, path)
        unsealed = 0
        line = last
        while not line.endswith(CHECKPOINT_ENDING):
            unsealed += line.endswith(RECORD_ENDING)
            found = next(lines, None)
            if found is None:
                break  # the previous file ended with a rotation checkpoint
            line = found[1]
        else:
            self._warn_if_signed_by_another_key(line, path)
        return _Tip(tip.seq, tip.hash, unsealed, tip.sealed_by)

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


def _tip_of(line: bytes, path: Path) -> _Tip:
    try:
        digest, data = split_line(line)
        entry = decode_entry(data)
    except MalformedLine as exc:
        raise AuditLogError(f"{path}: the last entry is unreadable: {exc.reason}") from None
    sealed_by = entry["body"].get("reason") if entry["type"] == "checkpoint" else None
    return _Tip(entry["seq"], digest, 0, sealed_by)


def _rotated_tip(previous: Path) -> _Tip:
    """The tip when the current file is still empty: the previous file's last entry, which
    must be the rotation checkpoint that started the current one."""
    fd = os.open(previous, os.O_RDONLY)
    try:
        found = next(lines_backwards(fd, end_of_last_line(fd, os.fstat(fd).st_size)), None)
    finally:
        os.close(fd)
    tip = _tip_of(found[1], previous) if found else None
    if tip is None or tip.sealed_by != "rotation":
        raise AuditLogError(f"{previous}: does not end with the rotation checkpoint it must")
    return tip
