"""The Ed25519 key that signs the audit log's checkpoints, and the public key auditors use.

The service holds the private key (from configuration, ideally a secret store); auditors
need only the public key. The embedded default generates a key pair beside the log on
first use: enough for a laptop, but whoever can rewrite the log there can also re-sign
it, so a real deployment keeps the private key elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verifier._errors import ConfigurationError

PRIVATE_KEY_FILE = "signing-key.pem"
PUBLIC_KEY_FILE = "signing-key.pub.pem"

logger = logging.getLogger("verifier.audit")


def public_key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key, as checkpoints name it."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_signing_key(source: str | bytes | Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from unencrypted PEM text, or from a PEM file (a ``Path``, or
    a string that is not PEM). Raises ``ConfigurationError``, never showing the key."""
    data, where = _pem(source, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ConfigurationError(f"{where}: encrypted keys are not supported") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{where}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{where}: not an Ed25519 key")
    return key


def load_public_key(source: str | bytes | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text or a PEM file (a ``Path``, or a string that is
    not PEM), to verify a log with. Raises ``ConfigurationError``."""
    data, where = _pem(source, "public key")
    if b"PRIVATE KEY" in data:
        raise ConfigurationError(f"{where}: a private key; auditors need the public key only")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{where}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"{where}: not an Ed25519 key")
    return key


def generate_signing_key_files(directory: Path) -> Ed25519PrivateKey:
    """A new key pair: ``signing-key.pem`` (mode 0600) and ``signing-key.pub.pem`` in
    ``directory``. Refuses to replace an existing private key."""
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private = directory / PRIVATE_KEY_FILE
    temporary = _write_temporary(directory, PRIVATE_KEY_FILE, pem, 0o600)
    try:
        # link() fails if the key exists: two starting processes cannot both create one.
        os.link(temporary, private)
    except FileExistsError:
        raise ConfigurationError(f"{private} already exists") from None
    finally:
        temporary.unlink()
    _write_public_key(directory, key.public_key())
    return key


def load_or_create_signing_key(directory: Path) -> Ed25519PrivateKey:
    """The embedded default: the key pair in ``directory``, generated on first use."""
    private = directory / PRIVATE_KEY_FILE
    if private.exists():
        key = load_signing_key(private)
        public = directory / PUBLIC_KEY_FILE
        if not public.exists() or _public_pem(key.public_key()) != public.read_bytes():
            _write_public_key(directory, key.public_key())
        return key
    try:
        key = generate_signing_key_files(directory)
    except ConfigurationError:
        if not private.exists():
            raise
        return load_signing_key(private)  # another process created it first
    logger.info(
        "generated the audit signing key %s (key id %s); auditors verify the log with %s. "
        "Set audit.signing_key to keep the private key away from the log it protects",
        private,
        public_key_id(key.public_key()),
        directory / PUBLIC_KEY_FILE,
    )
    return key


def _pem(source: str | bytes | Path, what: str) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, f"{what} (PEM text)"
    if isinstance(source, str) and "-----BEGIN" in source:
        if "\n" not in source:  # a secret store or .env file kept it on one line
            source = source.replace("\\n", "\n")
        return source.encode("ascii", errors="replace"), f"{what} (PEM text)"
    path = Path(source)
    try:
        return path.read_bytes(), f"{what} {path}"
    except OSError as exc:
        raise ConfigurationError(f"{what} {path}: {exc.strerror or exc}") from None


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_public_key(directory: Path, key: Ed25519PublicKey) -> None:
    temporary = _write_temporary(directory, PUBLIC_KEY_FILE, _public_pem(key), 0o644)
    os.replace(temporary, directory / PUBLIC_KEY_FILE)


def _write_temporary(directory: Path, name: str, data: bytes, mode: int) -> Path:
    """``data`` in a new file beside ``name``, complete and synced before it is renamed."""
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return temporary
