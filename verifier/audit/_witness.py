"""Witnesses: somewhere the log's writer publishes its signed checkpoints and cannot rewrite.

A hash chain cut back to a real earlier checkpoint is, byte for byte, the log as it was then:
the chain alone cannot tell. Transparency logs answer this with witnesses that keep the
latest signed tree head of each log they follow; a log that later shows less than it once
signed is caught. Here each checkpoint (a ``SignedCheckpoint``, which stands alone) is
published to a witness, and ``verify_audit_log`` reports a log that ends before the latest
checkpoint its witness holds as truncated.

A witness only helps if whoever can rewrite the log cannot rewrite the witness: another
machine, another account, a table the service may only insert into, a stream it may only add
to. The witness need not be trusted with anything else: its checkpoints are checked with the
log's public key, so it cannot make an intact log look truncated with a forged one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._format import AuditLogError

DEFAULT_WITNESS_FILE = Path("audit-witness") / "witness.jsonl"
"""The file witness's default place, under ``data_dir``: beside the log's directory, not in it."""


class WitnessError(AuditLogError):
    """The witness could not be reached, or holds something that is not a checkpoint."""


@runtime_checkable
class Witness(Protocol):
    """Keeps every checkpoint published to it; answers the latest one of a log."""

    def publish(self, checkpoint: SignedCheckpoint) -> None:
        """Keep ``checkpoint`` durably, or raise ``WitnessError``."""

    def latest(self, log_id: str) -> SignedCheckpoint | None:
        """The checkpoint of log ``log_id`` with the highest ``through_seq`` (None: none)."""

    def close(self) -> None:
        """Release connections."""


def latest_of(checkpoints: Iterable[SignedCheckpoint], log_id: str) -> SignedCheckpoint | None:
    found = [checkpoint for checkpoint in checkpoints if checkpoint.log_id == log_id]
    return max(found, key=lambda checkpoint: checkpoint.through_seq, default=None)


def parse_checkpoint(text: str | bytes, where: str) -> SignedCheckpoint:
    try:
        return SignedCheckpoint.from_json(text)
    except ValueError as exc:
        raise WitnessError(f"{where}: {exc}") from None


class FileWitness:
    """An append-only JSON Lines file, one checkpoint a line, synced after each.

    Put it where the service may append but not rewrite: another machine's mount, a file
    with the append-only attribute (``chattr +a``), a directory of another account.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"FileWitness({str(self.path)!r})"

    def publish(self, checkpoint: SignedCheckpoint) -> None:
        line = (checkpoint.to_json() + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WitnessError(f"witness {self.path}: {exc.strerror or exc}") from None

    def latest(self, log_id: str) -> SignedCheckpoint | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise WitnessError(f"witness {self.path}: {exc.strerror or exc}") from None
        lines = data.splitlines(keepends=True)
        if lines and not lines[-1].endswith(b"\n"):
            lines.pop()  # a write torn by a crash: never acknowledged to the writer
        return latest_of(
            (parse_checkpoint(line, f"witness {self.path}:{n}") for n, line in enumerate(lines, 1)),
            log_id,
        )

    def close(self) -> None:
        pass


def open_witness(location: str, *, timeout_seconds: float = 5.0) -> Witness:
    """The witness at ``location``: a PostgreSQL URL (``postgresql+psycopg://…``), a Redis URL
    (``redis://…``, ``rediss://…``), or else the path of a witness file."""
    if location.startswith("postgresql"):
        from verifier.audit._witness_sql import SqlWitness  # SQLAlchemy's engines only then

        return SqlWitness(location, timeout_seconds=timeout_seconds)
    if location.startswith(("redis://", "rediss://", "unix://")):
        from verifier.audit._witness_redis import RedisWitness  # an optional package

        return RedisWitness(location, timeout_seconds=timeout_seconds)
    return FileWitness(Path(location))
