"""The audit seam: where records go. No audit, no answer."""

from __future__ import annotations

import abc

from verifier.audit._encode import EncodedRecord
from verifier.audit._record import (
    AlertRecord,
    AuditRecord,
    RefusalRecord,
    UnauthenticatedRecord,
)


class AuditSink(abc.ABC):
    """Makes audit records durable.

    ``append`` returns only once the record is durable; if it cannot be, it raises
    ``AuditUnavailable`` and the engine gives no answer. The embedded default is
    ``ChainedAuditLog`` (hash-chained files with signed checkpoints); a shared store for
    several replicas plugs in behind this same seam.
    """

    @abc.abstractmethod
    async def append(
        self, record: AuditRecord | AlertRecord | RefusalRecord | UnauthenticatedRecord
    ) -> None: ...

    async def append_encoded(self, record: EncodedRecord) -> None:
        """Make a verification's record durable, given as its canonical JSON (how the
        engine hands it over: ``encode_verification``).

        The default gives ``append`` the ``AuditRecord`` the body is the JSON of; a sink
        that stores the JSON itself overrides this and saves the model."""
        await self.append(AuditRecord.model_validate_json(record.body))

    async def probe(self) -> None:  # noqa: B027 - optional hook, see below
        """Raise if a record could not be made durable now; write no record.

        Called while the sink is failing, to learn when it can write again without waiting
        for traffic that health (NOT_SERVING meanwhile) keeps away. The default, for a sink
        that cannot tell without writing, says yes: health then lets calls in again, and
        the next failing write turns it back."""

    async def aclose(self) -> None:  # noqa: B027 - optional lifecycle hook, empty by default
        """Flush and release resources."""
