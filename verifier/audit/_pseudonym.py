"""Pseudonymised and masked subject identifiers for audit records, logs and traces."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from verifier._errors import ConfigurationError

KEY_BYTES = 32


class Pseudonymiser:
    """Keyed hash (HMAC-SHA-256) of an identifier.

    The same ID always maps to the same pseudonym under one key, so an auditor holding the
    key can find every record about a citizen; without the key the pseudonym reveals nothing
    (a plain hash of an 18-digit ID with a checksum would be brute-forced in minutes).
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ConfigurationError("audit.pseudonym_key must be at least 16 bytes")
        self._key = key

    def pseudonym(self, identifier: str) -> str:
        digest = hmac.new(self._key, identifier.encode("ascii"), hashlib.sha256)
        return digest.hexdigest()[:32]

    def name_tag(self, name: str) -> str:
        """A keyed hash of a name a caller supplied (an unregistered system's), for the
        audit log: equal names give equal tags, the name itself is not kept. Its own
        domain, so it never equals a subject's pseudonym."""
        message = b"caller-supplied-name\x00" + name.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:16]


def load_or_create_key(path: Path) -> bytes:
    """Read a hex key file, creating one (mode 0600) on first use: the embedded default."""
    if path.exists():
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except ValueError:
            raise ConfigurationError(f"pseudonym key file {path} is not hex") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key
