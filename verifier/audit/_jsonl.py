"""An append-only JSON Lines audit file, fsync'd before any answer is released.

Concurrent verifications share fsyncs (group commit): records that arrive while one batch
is being made durable go into the next batch, so the disk's ~0.2 ms fsync is paid once per
batch rather than once per verification, and the event loop never blocks on the disk.
With ``fsync=False`` (durable only against a process crash, not a power loss) lines are
written inline instead.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from verifier._errors import AuditUnavailable
from verifier.audit._record import AlertRecord, AuditRecord
from verifier.audit._sink import AuditSink


def encode_record(record: AuditRecord | AlertRecord) -> bytes:
    """One record, one line. JSON escapes control characters; U+2028/2029 are escaped too
    because some log readers treat them as line breaks (a forged record boundary)."""
    text = record.model_dump_json()
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8") + b"\n"


class JsonLinesAuditLog(AuditSink):
    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        # One thread owns the file: writes stay ordered and the loop never waits on disk.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def append(self, record: AuditRecord | AlertRecord) -> None:
        if self._closed:
            raise AuditUnavailable("the audit log is closed")
        if not self._fsync:
            # Without fsync a write is a memory copy into the page cache: a thread hop
            # (~0.1-0.2 ms here) would cost far more than the write itself.
            self._write_now(encode_record(record))
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((encode_record(record), future))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._drain())
        await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                data = b"".join(line for line, _ in batch)
                try:
                    await loop.run_in_executor(self._executor, self._write, data)
                except OSError as exc:
                    error = AuditUnavailable(f"audit write failed: {exc.strerror or exc}")
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._writer = None

    def _write_now(self, data: bytes) -> None:
        try:
            self._write(data)
        except OSError as exc:
            raise AuditUnavailable(f"audit write failed: {exc.strerror or exc}") from None

    def _write(self, data: bytes) -> None:
        before = self._size
        try:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            if self._fsync:
                os.fsync(self._fd)
        except OSError:
            # Leave no half record behind: the batch is refused as a whole.
            os.ftruncate(self._fd, before)
            raise
        self._size = before + len(data)

    async def aclose(self) -> None:
        self._closed = True
        if self._writer is not None:
            await self._writer
        self._executor.shutdown(wait=True)
        os.close(self._fd)
