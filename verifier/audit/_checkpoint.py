"""A signed checkpoint (format v2): a statement about the log that its signature covers whole.

A checkpoint says: in the log ``log_id`` (the hash of its first entry), the entry ``through_seq``
has the hash ``chain_hash``, ``records`` records were written up to it, and at ``time`` the
writer sealed it for ``reason`` (periodic, rotation, shutdown). The Ed25519 signature covers
every one of these fields and the format ``version``, so none can be changed — not the reason
(a periodic checkpoint relabelled ``shutdown`` would make a cut-back log look closed), not the
time, not the log (a checkpoint of another log signed by the same key names another log id).

Like a transparency log's signed tree head, the statement stands alone: it is what a witness
keeps (see ``_witness``), and it is checked with the public key only.

Format v1 checkpoints signed only ``through_seq`` and ``chain_hash``; logs that hold them still
verify, but their reason and time are not trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.audit._format import CHECKPOINT_REASONS, MalformedLine, canonical_json, parse_time
from verifier.audit._keys import public_key_id

CHECKPOINT_VERSION = 2
SIGNATURE_CONTEXT = b"onestop-verifier/audit-checkpoint/v2\n"
LOG_BODY_KEYS = frozenset(
    {"version", "log_id", "through_seq", "chain_hash", "records", "reason", "key_id", "signature"}
)
"""A v2 checkpoint entry's body: every field but ``time``, which is the entry's own."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_STATEMENT_KEYS = LOG_BODY_KEYS | {"time"}


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """One checkpoint as signed; ``time`` is the checkpoint entry's time, as written."""

    log_id: str
    through_seq: int
    chain_hash: str
    records: int
    reason: str
    time: str
    key_id: str
    signature: str
    version: int = CHECKPOINT_VERSION

    @classmethod
    def sign(
        cls,
        key: Ed25519PrivateKey,
        *,
        log_id: str,
        through_seq: int,
        chain_hash: str,
        records: int,
        reason: str,
        time: str,
    ) -> SignedCheckpoint:
        key_id = public_key_id(key.public_key())
        fields = (log_id, through_seq, chain_hash, records, reason, time, key_id)
        signature = key.sign(cls(*fields, signature="").message())
        return cls(*fields, signature=base64.b64encode(signature).decode("ascii"))

    def message(self) -> bytes:
        """What the signature covers: every field but the signature, as canonical JSON."""
        fields = asdict(self)
        del fields["signature"]
        return SIGNATURE_CONTEXT + canonical_json(fields).encode("utf-8")

    def verifies(self, public_key: Ed25519PublicKey) -> bool:
        """Signed by ``public_key``, every field as it is now."""
        if self.key_id != public_key_id(public_key):
            return False
        try:
            public_key.verify(base64.b64decode(self.signature, validate=True), self.message())
        except (binascii.Error, ValueError, InvalidSignature):
            return False
        return True

    def log_body(self) -> dict[str, Any]:
        """The body of the checkpoint's entry in the log (its time is the entry's)."""
        body = asdict(self)
        del body["time"]
        return body

    def to_json(self) -> str:
        """The whole statement, as a witness keeps it."""
        return canonical_json(asdict(self))

    @classmethod
    def from_log(cls, body: dict[str, Any], time: str) -> SignedCheckpoint:
        """The checkpoint of a v2 entry's body; ``ValueError`` saying what is wrong."""
        if body.keys() != LOG_BODY_KEYS:
            raise ValueError(f"a v2 checkpoint has exactly {', '.join(sorted(LOG_BODY_KEYS))}")
        return cls._checked({**body, "time": time})

    @classmethod
    def from_json(cls, text: str | bytes) -> SignedCheckpoint:
        """A statement as a witness returns it; ``ValueError`` if it is not one."""
        try:
            fields = json.loads(text)
        except ValueError:
            raise ValueError("a witnessed checkpoint is not JSON") from None
        if not isinstance(fields, dict) or fields.keys() != _STATEMENT_KEYS:
            raise ValueError("a witnessed checkpoint must have exactly the signed fields")
        return cls._checked(fields)

    @classmethod
    def _checked(cls, fields: dict[str, Any]) -> SignedCheckpoint:
        if fields["version"] != CHECKPOINT_VERSION or type(fields["version"]) is not int:
            raise ValueError(f"checkpoint version {fields['version']!r:.20} is not 2")
        for name in ("through_seq", "records"):
            if type(fields[name]) is not int or fields[name] < 0:
                raise ValueError(f"the checkpoint's {name} is not a count")
        for name in ("log_id", "chain_hash"):
            if not isinstance(fields[name], str) or _HEX64.fullmatch(fields[name]) is None:
                raise ValueError(f"the checkpoint's {name} is not 64 lowercase hex digits")
        if fields["reason"] not in CHECKPOINT_REASONS:
            raise ValueError(f"the checkpoint's reason is not one of {CHECKPOINT_REASONS}")
        if not isinstance(fields["key_id"], str) or not isinstance(fields["signature"], str):
            raise ValueError("the checkpoint's key_id and signature must be text")
        try:
            parse_time(fields["time"])
        except MalformedLine:
            raise ValueError("the checkpoint's time is not an ISO 8601 date-time") from None
        return cls(**fields)
