"""Checking that the audit log is intact, with the public key only.

Every line must be a well-formed entry whose hash matches its bytes and links to the
entry before it, with ``seq`` running 1, 2, … across the files in file order. Every
checkpoint must sign, under the given public key, the hash of the entry before it. Every
file but the last must end with a rotation checkpoint, and (unless the log is allowed an
open tail, as a live one has) the log must end with a shutdown checkpoint. Hashes cover
the entries' bytes as written: nothing is serialised again to check them.

What a chain cannot tell by itself: a log cut back to an earlier shutdown checkpoint looks
like the log as it was then. A witness can: given one, the log must reach the latest
checkpoint it holds for this log, and hold that very checkpoint; a log that ends before it
is ``truncated``. (Without one, ``sealed_through`` is there to be compared with the last one
an auditor saw.)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.audit._chain import checkpoint_entry_hash
from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._format import (
    CHECKPOINT_KEYS,
    CHECKPOINT_REASONS,
    GENESIS,
    RECOVERY_KEYS,
    AuditLogError,
    MalformedLine,
    checkpoint_message,
    decode_entry,
    entry_hash,
    log_file_name,
    log_files,
    split_line,
)
from verifier.audit._keys import public_key_id
from verifier.audit._reader import first_entry_hash, read_lines
from verifier.audit._witness import Witness, WitnessError


@dataclass(frozen=True)
class ChainBreak:
    """Where the log stops being trustworthy: ``line`` 0 means the file as a whole."""

    file: Path
    line: int
    seq: int | None
    """The entry's seq, if it could be read."""
    reason: str


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of ``verify_audit_log``; the counts cover the entries before any break."""

    ok: bool
    entries: int
    records: int
    checkpoints: int
    sealed_through: int | None
    """The last seq covered by a valid checkpoint signature (None: no checkpoint yet)."""
    open_tail: int
    """Entries after the last checkpoint: chained, but not yet signed."""
    first_break: ChainBreak | None
    unsealed: bool = False
    """The only fault: the log does not end with a (format v2) shutdown checkpoint, so it
    is live, crashed, or cut back; with ``allow_open_tail`` it would verify."""
    log_id: str | None = None
    """The hash of the log's first entry, which its v2 checkpoints name (None: no entry)."""
    witnessed: SignedCheckpoint | None = None
    """The latest checkpoint of this log that the witness holds (None: none, or no witness)."""
    truncated: bool = False
    """The log ends before ``witnessed``: cut back (``first_break`` says where it ends)."""
    retired: SignedCheckpoint | None = None
    """The checkpoint the log's retired entries ended with (the PostgreSQL store's dropped
    months): the log is verified from the entry after it; None: nothing retired."""

    @property
    def state(self) -> str:
        """``INTACT``; ``TRUNCATED`` (ends before the witness's checkpoint); ``UNSEALED``
        (only the closing checkpoint is missing: live, crashed or cut short); or ``BROKEN``."""
        if self.ok:
            return "INTACT"
        if self.truncated:
            return "TRUNCATED"
        return "UNSEALED" if self.unsealed else "BROKEN"


def verify_audit_log(
    directory: Path,
    public_key: Ed25519PublicKey,
    *,
    allow_open_tail: bool = False,
    witness: Witness | None = None,
) -> ChainVerification:
    """Check the whole log in ``directory`` and report the first break, if any.

    ``allow_open_tail`` accepts a log that does not end with a shutdown checkpoint (a live
    or crashed one), including an incomplete last line (a write in progress, never
    acknowledged). With a ``witness``, the log must also reach, and agree with, the latest
    checkpoint the witness holds for it. Raises ``AuditLogError`` only if the directory or a
    file cannot be read, ``WitnessError`` if the witness cannot be read or its checkpoint is
    not signed by ``public_key``.
    """
    if not directory.is_dir():
        raise AuditLogError(f"{directory} is not a directory")
    return verify_chain(
        _file_segments(directory, allow_open_tail),
        public_key,
        start=directory / log_file_name(1),
        log_id=first_entry_hash(directory),
        allow_open_tail=allow_open_tail,
        witness=witness,
    )


@dataclass(frozen=True, slots=True)
class RowProblem:
    """In a segment's lines: a fault of the store's own row, found before its line is
    checked (a PostgreSQL row whose indexed columns disagree with its entry)."""

    seq: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ChainSegment:
    """A part of one chain, in order: a file of the file store, a month of the PostgreSQL
    store. Every segment but the last must end with a rotation checkpoint."""

    label: Path
    """Named in a break (``file``); for a file, its path."""
    lines: Iterable[bytes | RowProblem]
    tolerate_torn: bool = False
    """An incomplete last line is a write in progress, not an entry (a live file's end)."""


def verify_chain(
    segments: Iterable[ChainSegment],
    public_key: Ed25519PublicKey,
    *,
    start: Path,
    log_id: str | None,
    allow_open_tail: bool = False,
    witness: Witness | None = None,
    retired: SignedCheckpoint | None = None,
) -> ChainVerification:
    """Check one chain, whatever store holds it, given its segments in order.

    ``start`` names the chain where no entry can (an empty chain); ``log_id`` is the hash
    entry 1 claims, by which the witness knows the log. ``retired``: the chain's entries up
    to this checkpoint's entry were retired (partitions dropped after it was exported and
    verified); it must be signed by ``public_key``, and the chain continues right after it.
    """
    chain = _Chain(public_key)
    if retired is not None:
        chain.resume_after(retired, start)
    refused: WitnessError | None = None
    if witness is not None and log_id is not None:
        try:
            chain.witnessed = _witnessed(log_id, public_key, witness)
        except WitnessError as exc:
            refused = exc  # a log broken on its own is reported as such first
    try:
        chain.check_segments(segments, start)
    except _Broken as broken:
        return chain.result(broken.at)
    if refused is not None:
        raise refused
    try:
        chain.check_reaches_witnessed(start)
    except _Broken as broken:
        return chain.result(broken.at, truncated=True)
    if not allow_open_tail:
        try:
            chain.check_sealed_at_shutdown(start)
        except _Broken as broken:
            return chain.result(broken.at, unsealed=True)
    return chain.result(None)


def _file_segments(directory: Path, allow_open_tail: bool) -> Iterator[ChainSegment]:
    files = log_files(directory)
    if not files:
        raise _Broken(ChainBreak(directory / log_file_name(1), 0, None, "no audit files"))
    for number, (found, path) in enumerate(files, start=1):
        if found != number:
            missing = directory / log_file_name(number)
            raise _Broken(ChainBreak(missing, 0, None, f"{missing.name} is missing"))
        tolerate_torn = allow_open_tail and number == len(files)
        yield ChainSegment(path, read_lines(path), tolerate_torn)


class _Broken(Exception):
    def __init__(self, at: ChainBreak) -> None:
        super().__init__(at.reason)
        self.at = at


@dataclass
class _Last:
    file: Path
    line: int
    seq: int | None = None
    type: str | None = None
    reason: str | None = None
    version: int = 1
    """Of a checkpoint: 1 signed neither its reason nor its time."""


class _Chain:
    def __init__(self, public_key: Ed25519PublicKey) -> None:
        self.key = public_key
        self.key_id = public_key_id(public_key)
        self.seq = 0
        self.prev = GENESIS
        self.records = 0
        self.checkpoints = 0
        self.sealed_through: int | None = None
        self.open_tail = 0
        self.log_id = GENESIS
        """The hash of entry 1, once read: what every v2 checkpoint names as its log."""
        self.witnessed: SignedCheckpoint | None = None
        self.retired: SignedCheckpoint | None = None
        self.last: _Last | None = None

    def result(
        self, first_break: ChainBreak | None, *, unsealed: bool = False, truncated: bool = False
    ) -> ChainVerification:
        return ChainVerification(
            ok=first_break is None,
            entries=self.seq,
            records=self.records,
            checkpoints=self.checkpoints,
            sealed_through=self.sealed_through,
            open_tail=self.open_tail,
            first_break=first_break,
            unsealed=unsealed,
            log_id=self.log_id if self.seq else None,
            witnessed=self.witnessed,
            truncated=truncated,
            retired=self.retired,
        )

    def resume_after(self, retired: SignedCheckpoint, start: Path) -> None:
        """Continue after ``retired``'s entry, whose earlier entries are no longer kept."""
        if not retired.verifies(self.key) or retired.reason not in ("rotation", "shutdown"):
            problem = "the checkpoint the retired entries ended with does not verify"
            raise AuditLogError(
                f"{start}: {problem} with the given public key, or does not end a month"
            )
        self.retired = retired
        self.seq = retired.through_seq + 1
        self.prev = checkpoint_entry_hash(retired)
        self.records = retired.records
        self.log_id = retired.log_id
        self.sealed_through = retired.through_seq
        self.last = _Last(start, 0, self.seq, "checkpoint", retired.reason, retired.version)

    def check_segments(self, segments: Iterable[ChainSegment], start: Path) -> None:
        """Every segment's entries; raises ``_Broken`` at the first that breaks the chain
        (the segments themselves may raise it: a missing file)."""
        for segment in segments:
            if self.last is not None and self.last.reason != "rotation":
                problem = (
                    "the file does not end with a rotation checkpoint, yet "
                    f"{segment.label.name} follows"
                )
                raise _Broken(self._at(self.last, problem))
            self.last = _Last(segment.label, 0)
            self._check_segment(segment)
        if self.last is None:
            raise _Broken(ChainBreak(start, 0, None, "no entries"))

    def _check_segment(self, segment: ChainSegment) -> None:
        for number, line in enumerate(segment.lines, start=1):
            if isinstance(line, RowProblem):
                raise _Broken(ChainBreak(segment.label, number, line.seq, line.reason))
            if segment.tolerate_torn and not line.endswith(b"\n"):
                return  # a write in progress (or torn by a crash): never acknowledged
            self._check_line(line, segment.label, number)

    def _check_line(self, line: bytes, path: Path, number: int) -> None:
        try:
            digest, data = split_line(line)
            entry = decode_entry(data)
        except MalformedLine as exc:
            raise _Broken(ChainBreak(path, number, None, exc.reason)) from None
        seq, body = entry["seq"], entry["body"]
        version = body.get("version", 1) if entry["type"] == "checkpoint" else 1
        here = _Last(path, number, seq, entry["type"], body.get("reason"), version)
        if seq != self.seq + 1:
            raise _Broken(self._at(here, f"seq {seq} where {self.seq + 1} was expected"))
        if entry["prev"] != self.prev:
            raise _Broken(self._at(here, "prev is not the hash of the previous entry"))
        if digest != entry_hash(self.prev, data):
            raise _Broken(self._at(here, "the hash does not match the entry"))
        if self.last is not None and self.last.file == path and self.last.reason == "rotation":
            raise _Broken(self._at(here, "an entry after the rotation checkpoint ending the file"))
        problem = self._body_problem(entry, seq) or self._witness_problem(entry, digest)
        if problem is not None:
            raise _Broken(self._at(here, problem))
        self._advance(here, digest)

    def _body_problem(self, entry: dict[str, Any], seq: int) -> str | None:
        entry_type, body = entry["type"], entry["body"]
        if entry_type == "checkpoint":
            if "version" in body:
                return self._signed_checkpoint_problem(body, entry["time"], seq)
            return self._checkpoint_problem(body, seq)
        if entry_type == "recovery":
            truncated = body.get("truncated_bytes")
            if body.keys() != RECOVERY_KEYS or type(truncated) is not int or truncated < 1:
                return "a recovery entry needs truncated_bytes (> 0) and reason"
            return None
        if not isinstance(body.get("kind"), str):
            return "a record's body has no kind"
        return None

    def _signed_checkpoint_problem(self, body: dict[str, Any], time: str, seq: int) -> str | None:
        """A v2 checkpoint: every field signed, and each one true of the log up to here."""
        try:
            checkpoint = SignedCheckpoint.from_log(body, time)
        except ValueError as exc:
            return str(exc)
        if checkpoint.through_seq != seq - 1:
            return "the checkpoint's through_seq is not the entry before it"
        if checkpoint.chain_hash != self.prev:
            return "the checkpoint's chain_hash is not the hash of the entry before it"
        if checkpoint.log_id != self.log_id:
            return "the checkpoint names another log (its log_id is not the hash of entry 1)"
        if checkpoint.records != self.records:
            return f"the checkpoint counts {checkpoint.records} records, the log has {self.records}"
        if checkpoint.key_id != self.key_id:
            return f"signed by key {checkpoint.key_id[:16]!r}, not the given key {self.key_id}"
        if not checkpoint.verifies(self.key):
            return "the checkpoint's signature does not verify"
        return None

    def _checkpoint_problem(self, body: dict[str, Any], seq: int) -> str | None:
        """A v1 checkpoint: it signed only through_seq and chain_hash."""
        if body.keys() != CHECKPOINT_KEYS or body["reason"] not in CHECKPOINT_REASONS:
            return "a checkpoint needs chain_hash, through_seq, key_id, signature and reason"
        if body["through_seq"] != seq - 1 or type(body["through_seq"]) is not int:
            return "the checkpoint's through_seq is not the entry before it"
        if body["chain_hash"] != self.prev:
            return "the checkpoint's chain_hash is not the hash of the entry before it"
        if body["key_id"] != self.key_id:
            return f"signed by key {str(body['key_id'])[:16]!r}, not the given key {self.key_id}"
        try:
            signature = base64.b64decode(str(body["signature"]), validate=True)
            self.key.verify(signature, checkpoint_message(seq - 1, self.prev))
        except (binascii.Error, ValueError, InvalidSignature):
            return "the checkpoint's signature does not verify"
        return None

    def _witness_problem(self, entry: dict[str, Any], digest: str) -> str | None:
        """The log must hold the witnessed checkpoint itself: the same hash at its
        ``through_seq``, and that checkpoint right after (else the log was rewritten since)."""
        witnessed = self.witnessed
        if witnessed is None:
            return None
        if entry["seq"] == witnessed.through_seq and digest != witnessed.chain_hash:
            return (
                f"the entry differs from the one the witness's checkpoint of seq "
                f"{witnessed.through_seq} sealed: the log was rewritten after it was witnessed"
            )
        if entry["seq"] == witnessed.through_seq + 1 and (
            entry["type"] != "checkpoint"
            or entry["body"] != witnessed.log_body()
            or entry["time"] != witnessed.time
        ):
            return "the entry is not the checkpoint the witness holds for this place in the log"
        return None

    def check_reaches_witnessed(self, start: Path) -> None:
        witnessed = self.witnessed
        if witnessed is None or self.seq > witnessed.through_seq:
            return
        last = self.last or _Last(start, 0)
        problem = (
            f"the log ends at seq {self.seq}, before the checkpoint the witness holds "
            f"(seq {witnessed.through_seq + 1}, sealing seq {witnessed.through_seq} and "
            f"{witnessed.records} records, {witnessed.reason} at {witnessed.time}): cut back"
        )
        raise _Broken(self._at(last, problem))

    def _advance(self, here: _Last, digest: str) -> None:
        self.seq = here.seq or 0
        self.prev = digest
        if self.seq == 1:
            self.log_id = digest
        if here.type == "checkpoint":
            self.checkpoints += 1
            self.sealed_through = self.seq - 1
            self.open_tail = 0
        else:
            self.records += here.type == "record"
            self.open_tail += 1
            here.reason = None
        self.last = here

    def check_sealed_at_shutdown(self, start: Path) -> None:
        last = self.last or _Last(start, 0)
        if last.type == "checkpoint" and last.reason == "shutdown":
            if last.version >= 2:
                return
            problem = (
                "the log ends with a format v1 shutdown checkpoint, whose reason is not signed "
                "(any v1 checkpoint can be relabelled shutdown): it may have been cut back"
            )
            raise _Broken(self._at(last, problem))
        if last.type == "checkpoint":
            problem = f"the log ends with a {last.reason} checkpoint, not a shutdown one"
        elif last.seq is None:
            problem = "the log has no entries, so no shutdown checkpoint"
        else:
            problem = f"the log ends with {self.open_tail} entries after its last checkpoint"
        raise _Broken(self._at(last, f"{problem}: cut short, or still open"))

    def _at(self, where: _Last, reason: str) -> ChainBreak:
        return ChainBreak(where.file, where.line, where.seq, reason)


def _witnessed(
    log_id: str, public_key: Ed25519PublicKey, witness: Witness
) -> SignedCheckpoint | None:
    """The witness's latest checkpoint of the log ``log_id`` (the hash of its first entry),
    checked with the log's public key: a witness cannot forge one."""
    witnessed = witness.latest(log_id)
    if witnessed is not None and not witnessed.verifies(public_key):
        raise WitnessError(
            f"{witness!r}: its latest checkpoint of log {log_id[:16]} (seq "
            f"{witnessed.through_seq}) is not signed by the given public key"
        )
    return witnessed
