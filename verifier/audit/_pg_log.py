"""The PostgreSQL audit store behind the ``AuditSink`` seam: several replicas, one database.

Each replica writes its own chain (``replica_id``), exactly as each worker of ``verifier serve
--workers`` writes its own file chain: one writer per chain keeps the chain's order the
order of commit without a lock shared by the replicas, so a slow or dead replica holds up
no other, and a chain is verified alone with its replica's public key. ``append`` returns
once its record's transaction has committed (group commit: the records gathered meanwhile
share that transaction, see ``_batching``); checkpoints are signed and witnessed as in the
file store, and each month is sealed with a rotation checkpoint so that old months can be
retired whole (see ``_pg_schema``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier._errors import AuditUnavailable
from verifier.audit._batching import GroupCommitter
from verifier.audit._encode import EncodedRecord
from verifier.audit._format import canonical_json
from verifier.audit._keys import public_key_id
from verifier.audit._pg_schema import DEFAULT_SCHEMA, checked_schema, libpq_url
from verifier.audit._pg_writer import PendingRecord, PgChainWriter
from verifier.audit._publisher import WitnessPublisher
from verifier.audit._record import (
    AlertRecord,
    AuditRecord,
    RefusalRecord,
    UnauthenticatedRecord,
)
from verifier.audit._sink import AuditSink
from verifier.audit._witness import Witness

logger = logging.getLogger("verifier.audit")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PostgresAuditLog(AuditSink):
    """Replica ``replica_id``'s hash chain in the PostgreSQL audit store ``url`` (schema
    ``schema``, created and migrated on opening).

    Opening connects, migrates, makes the coming months' partitions and takes the replica's
    lock (``ConfigurationError`` if another writer holds it). A failed commit refuses that
    batch's records with ``AuditUnavailable`` and leaves the chain as it was; the next batch
    is tried afresh (reconnecting if the connection was lost), so answers resume when the
    database does.
    """

    def __init__(
        self,
        url: str,
        signing_key: Ed25519PrivateKey,
        *,
        replica_id: str,
        schema: str = DEFAULT_SCHEMA,
        checkpoint_every: int = 1000,
        clock: Callable[[], datetime] = _utc_now,
        witness: Witness | None = None,
        connect_timeout: float = 5.0,
        witness_retry_seconds: float = 1.0,
        witness_close_seconds: float = 5.0,
    ) -> None:
        conninfo, self.shown = libpq_url(url)
        self.replica_id = replica_id
        self.publisher = (
            WitnessPublisher(witness, retry_seconds=witness_retry_seconds) if witness else None
        )
        self._witness_close_seconds = witness_close_seconds
        try:
            self._writer = PgChainWriter(
                conninfo,
                checked_schema(schema),
                replica_id,
                signing_key,
                checkpoint_every=checkpoint_every,
                clock=clock,
                connect_timeout=connect_timeout,
                on_checkpoint=self.publisher.submit if self.publisher else None,
            )
        except BaseException:
            self._stop_publishing(0)
            raise
        last = self._writer.last_checkpoint
        if self.publisher is not None and last is not None:
            self.publisher.submit(last, unless_witnessed=True)
        logger.info(
            "audit store %s schema %s: replica %s appending after seq %d, signed by key %s",
            self.shown,
            schema,
            replica_id,
            self._writer.position,
            public_key_id(signing_key.public_key()),
        )
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-pg")
        self._batches = GroupCommitter[PendingRecord](
            f"{self.shown} ({replica_id})", self._executor, self._writer.append_records
        )
        self._closed = False

    @property
    def records_written(self) -> int:
        return self._writer.records_written

    @property
    def commits(self) -> int:
        """Transactions committed since opening: records per commit say what group commit
        saves."""
        return self._writer.commits

    async def append(
        self, record: AuditRecord | AlertRecord | RefusalRecord | UnauthenticatedRecord
    ) -> None:
        if self._closed:
            raise AuditUnavailable("the audit store is closed")
        request_id = getattr(record, "request_id", None)
        await self._batches.commit((canonical_json(record.model_dump(mode="json")), request_id))

    async def append_encoded(self, record: EncodedRecord) -> None:
        """Store the record's body as it is: it already is the canonical JSON."""
        if self._closed:
            raise AuditUnavailable("the audit store is closed")
        await self._batches.commit((record.body, record.request_id))

    async def probe(self) -> None:
        if self._closed:
            raise AuditUnavailable("the audit store is closed")
        await self._batches.run(self._writer.probe)

    async def aclose(self) -> None:
        """Commit what is pending, seal the chain with a shutdown checkpoint, disconnect."""
        if self._closed:
            return
        self._closed = True
        await self._batches.drained()
        loop = asyncio.get_running_loop()
        logger.info(
            "audit store %s: replica %s wrote %d records in %d commits since opening",
            self.shown,
            self.replica_id,
            self.records_written,
            self.commits,
        )
        try:
            await loop.run_in_executor(self._executor, self._writer.close)
        except Exception as exc:
            logger.error(
                "audit store %s: replica %s closed without a shutdown checkpoint: %s",
                self.shown,
                self.replica_id,
                exc,
            )
        finally:
            self._executor.shutdown(wait=True)
        await loop.run_in_executor(None, self._stop_publishing, self._witness_close_seconds)

    def _stop_publishing(self, timeout: float) -> None:
        if self.publisher is not None:
            self.publisher.close(timeout)
