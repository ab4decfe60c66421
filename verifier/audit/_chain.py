"""Chaining entries: the one encoder every audit store writes with.

Given the chain's tip (its last entry) and entries to append, it assigns each its ``seq`` and
``prev``, hashes it into its line (``_format``), and signs a periodic checkpoint every
``checkpoint_every`` records. It does no I/O: the file store writes the lines to files, the
PostgreSQL store inserts them as rows, so both hold the very same bytes and one verifier
checks both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._format import GENESIS, canonical_json, chain_line, entry_json


@dataclass(frozen=True, slots=True)
class Tip:
    """The last entry of the chain, and what the next entries need to know about it."""

    seq: int
    hash: str
    unsealed: int
    """Records since the last checkpoint."""
    sealed_by: str | None
    """The reason of the last entry if it is a checkpoint (a v1 shutdown's is not trusted:
    None, so that closing the log seals it again with a v2 checkpoint)."""
    records: int = 0
    """Records in the whole log, through this entry."""
    log_id: str = GENESIS
    """The hash of the log's first entry (``GENESIS`` while it has none)."""


EMPTY_TIP = Tip(0, GENESIS, 0, None)


class ChainEncoder:
    """Lines for entries that follow a tip; checkpoints signed with ``key``."""

    def __init__(self, key: Ed25519PrivateKey, checkpoint_every: int) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be positive")
        self._key = key
        self._checkpoint_every = checkpoint_every

    def entries(
        self, tip: Tip, entries: Sequence[tuple[str, str]], time: str
    ) -> tuple[list[bytes], Tip, list[SignedCheckpoint]]:
        """The lines of ``(type, body JSON)`` entries after ``tip`` (periodic checkpoints
        among them), the new tip, and the checkpoints signed on the way."""
        lines, sealed = [], []
        for entry_type, body in entries:
            line, tip = self.line(tip, entry_type, body, time)
            lines.append(line)
            if tip.unsealed >= self._checkpoint_every:
                line, tip, checkpoint = self.checkpoint(tip, "periodic", time)
                lines.append(line)
                sealed.append(checkpoint)
        return lines, tip, sealed

    def line(self, tip: Tip, entry_type: str, body: str, time: str) -> tuple[bytes, Tip]:
        seq = tip.seq + 1
        line, digest = chain_line(tip.hash, entry_json(seq, tip.hash, entry_type, time, body))
        is_record = entry_type == "record"
        return line, Tip(
            seq,
            digest,
            tip.unsealed + is_record,
            None,
            tip.records + is_record,
            digest if seq == 1 else tip.log_id,
        )

    def checkpoint(self, tip: Tip, reason: str, time: str) -> tuple[bytes, Tip, SignedCheckpoint]:
        """The checkpoint sealing ``tip`` for ``reason``, as a line, and the tip after it."""
        checkpoint = SignedCheckpoint.sign(
            self._key,
            log_id=tip.log_id,
            through_seq=tip.seq,
            chain_hash=tip.hash,
            records=tip.records,
            reason=reason,
            time=time,
        )
        line, sealed = self.line(tip, "checkpoint", canonical_json(checkpoint.log_body()), time)
        return line, replace(sealed, unsealed=0, sealed_by=reason), checkpoint


def checkpoint_entry_hash(checkpoint: SignedCheckpoint) -> str:
    """The hash of the log entry that holds ``checkpoint``, computed from the statement alone
    (its entry is fully determined by it): where a log continues after its earlier entries
    were retired under that checkpoint."""
    body = canonical_json(checkpoint.log_body())
    entry = entry_json(
        checkpoint.through_seq + 1, checkpoint.chain_hash, "checkpoint", checkpoint.time, body
    )
    return chain_line(checkpoint.chain_hash, entry)[1]
