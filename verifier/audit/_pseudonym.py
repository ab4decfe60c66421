"""Pseudonymised and masked subject identifiers for audit records, logs and traces."""

from __future__ import annotations

import errno
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from verifier._errors import ConfigurationError

logger = logging.getLogger("verifier.audit")

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
        # Once per key, not per record: every record carries it.
        tag = hmac.new(key, b"fingerprint", hashlib.sha256).digest()
        self._fingerprint = hashlib.sha256(tag).hexdigest()[:16]

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it (16 hex of SHA-256 of HMAC(key, "fingerprint")):
        kept in every record, so a search with another key says so instead of finding
        nothing."""
        return self._fingerprint

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
    """Read a hex key file, creating one (mode 0600, in a directory made 0700) on first use:
    the embedded default."""
    if path.exists():
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except ValueError:
            raise ConfigurationError(f"pseudonym key file {path} is not hex") from None
    key = secrets.token_bytes(KEY_BYTES)
    _write_private(path, (key.hex() + "\n").encode("ascii"))
    return key


def private_directory(directory: Path) -> None:
    """Make ``directory`` (and its parents) if need be, readable by its owner only (0700)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def move_key_file(old: Path, new: Path) -> Path:
    """The key file to use: ``new``, after moving a key an older version kept at ``old``
    (beside the audit log) there, once. Should the move fail (e.g. a read-only copy),
    ``old`` is read as it is — a new key must never replace the one records were made with.
    """
    if new.exists() or not old.is_file():
        return new
    try:
        if not new.parent.exists():
            private_directory(new.parent)
        try:
            os.replace(old, new)  # one file system: atomic
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _write_private(new, old.read_bytes())  # another file system: copy, then remove
            old.unlink()
        os.chmod(new, 0o600)
    except OSError as exc:
        logger.warning(
            "pseudonym key %s sits beside the audit log and could not be moved to %s (%s); "
            "move it: whoever copies the log and this key can reverse every pseudonym",
            old,
            new,
            exc.strerror or type(exc).__name__,
        )
        return old
    logger.warning(
        "moved the pseudonym key from %s to %s: it must not sit beside the audit log", old, new
    )
    return new


def _write_private(path: Path, content: bytes) -> None:
    if not path.parent.exists():
        private_directory(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
