"""The tamper-evident audit log: the embedded default behind the ``AuditSink`` seam.

Records go into ``audit-000001.jsonl``, ``audit-000002.jsonl``, … in ``directory``, each line
hash-linked to the one before (see ``_format``), with a checkpoint signed by the service's
Ed25519 key every ``checkpoint_every`` records, as the last entry of every full file and
on a clean close. ``append`` returns once its record is on disk (fsync'd), so an answer is
never sent for a record a crash could lose.

Concurrent verifications share fsyncs (group commit, see ``_batching``): the disk's fsync is
paid once per batch, and the event loop never waits on the disk. With ``fsync=False``
(durable against a process crash, not a power loss) records are written inline instead:
without a sync, a thread hop would cost more than the write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier._errors import AuditUnavailable
from verifier.audit._batching import GroupCommitter
from verifier.audit._encode import EncodedRecord
from verifier.audit._format import AuditLogError, canonical_json
from verifier.audit._keys import public_key_id
from verifier.audit._publisher import WitnessPublisher
from verifier.audit._record import (
    AlertRecord,
    AuditRecord,
    RefusalRecord,
    UnauthenticatedRecord,
)
from verifier.audit._sink import AuditSink
from verifier.audit._witness import Witness
from verifier.audit._writer import ChainWriter

logger = logging.getLogger("verifier.audit")

DEFAULT_MAX_FILE_BYTES = 64 << 20
DEFAULT_CHECKPOINT_EVERY = 1000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ChainedAuditLog(AuditSink):
    """Hash-chained, checkpoint-signed, fsync'd JSON Lines files in ``directory``.

    Opening it takes the directory's lock (one writer per directory) and repairs a torn
    last line left by a crash, recording a ``recovery`` entry. A failed write (disk full,
    I/O error) refuses that batch's records with ``AuditUnavailable`` and leaves the chain
    as it was; the next batch is tried afresh, so the log recovers when the fault clears.
    ``clock`` stamps the entries (informational: ``seq`` orders them).

    With a ``witness``, every checkpoint is published to it once it is durable here, from a
    background thread (see ``WitnessPublisher``): a slow or failing witness never holds up
    or refuses a record. Closing gives unpublished checkpoints ``witness_close_seconds``.
    """

    def __init__(
        self,
        directory: Path,
        signing_key: Ed25519PrivateKey,
        *,
        fsync: bool = True,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        clock: Callable[[], datetime] = _utc_now,
        witness: Witness | None = None,
        witness_retry_seconds: float = 1.0,
        witness_close_seconds: float = 5.0,
    ) -> None:
        self.directory = directory
        self._fsync = fsync
        self.publisher = (
            WitnessPublisher(witness, retry_seconds=witness_retry_seconds) if witness else None
        )
        self._witness_close_seconds = witness_close_seconds
        try:
            self._writer = ChainWriter(
                directory,
                signing_key,
                fsync=fsync,
                max_file_bytes=max_file_bytes,
                checkpoint_every=checkpoint_every,
                clock=clock,
                on_checkpoint=self.publisher.submit if self.publisher else None,
            )
        except OSError as exc:
            self._stop_publishing(0)
            raise AuditLogError(f"audit log {directory}: {exc.strerror or exc}") from None
        except BaseException:
            self._stop_publishing(0)
            raise
        last = self._writer.last_checkpoint
        if self.publisher is not None and last is not None:
            # The last run may have stopped before its witness heard of its last checkpoint.
            self.publisher.submit(last, unless_witnessed=True)
        file_name, seq = self._writer.position
        logger.info(
            "audit log %s: appending to %s after seq %d, checkpoints signed by key %s",
            directory,
            file_name,
            seq,
            public_key_id(signing_key.public_key()),
        )
        # One thread owns the files: entries stay in order and the loop never waits on disk.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
        self._batches = GroupCommitter(str(directory), self._executor, self._writer.append_records)
        self._closed = False

    @property
    def records_written(self) -> int:
        """Records made durable since the log was opened."""
        return self._writer.records_written

    @property
    def syncs(self) -> int:
        """fsyncs of the log's files since it was opened (0 with ``fsync=False``): records
        per sync say how much group commit saves."""
        return self._writer.syncs

    async def append(
        self, record: AuditRecord | AlertRecord | RefusalRecord | UnauthenticatedRecord
    ) -> None:
        if self._closed:
            raise AuditUnavailable("the audit log is closed")
        await self._append(canonical_json(record.model_dump(mode="json")))

    async def append_encoded(self, record: EncodedRecord) -> None:
        """Write the record's body as it is: it already is the canonical JSON."""
        if self._closed:
            raise AuditUnavailable("the audit log is closed")
        await self._append(record.body)

    async def _append(self, body: str) -> None:
        if not self._fsync:
            try:
                self._writer.append_records([body])
            except Exception as exc:
                raise self._batches.refused(exc) from None
            self._batches.recovered()
            return
        await self._batches.commit(body)

    async def probe(self) -> None:
        """Write a batch's worth of bytes at the end of the current file, sync them and cut
        them off again (``ChainWriter.probe``): the chain gains no entry."""
        if self._closed:
            raise AuditUnavailable("the audit log is closed")
        if self._fsync:
            await self._batches.run(self._writer.probe)
            return
        try:
            self._writer.probe()
        except Exception as exc:
            raise self._batches.refused(exc, 0) from None
        self._batches.recovered()

    async def seal(self) -> None:
        """Write what is pending, then end the log with a shutdown checkpoint and stay open
        (``ChainWriter.seal``): the log verifies as closed until the next record."""
        if self._closed:
            raise AuditUnavailable("the audit log is closed")
        await self._batches.drained()
        await self._batches.run(self._writer.seal)

    async def aclose(self) -> None:
        """Write what is pending, seal the log with a shutdown checkpoint, release it."""
        if self._closed:
            return
        self._closed = True
        await self._batches.drained()
        loop = asyncio.get_running_loop()
        logger.info(
            "audit log %s: %d records written in %d fsyncs since opening",
            self.directory,
            self.records_written,
            self.syncs,
        )
        try:
            await loop.run_in_executor(self._executor, self._writer.close)
        except Exception as exc:
            # The log stays valid, only unsealed: an auditor sees its open tail.
            logger.error(
                "audit log %s: closed without a shutdown checkpoint: %s", self.directory, exc
            )
        finally:
            self._executor.shutdown(wait=True)
        await loop.run_in_executor(None, self._stop_publishing, self._witness_close_seconds)

    def _stop_publishing(self, timeout: float) -> None:
        if self.publisher is not None:
            self.publisher.close(timeout)
