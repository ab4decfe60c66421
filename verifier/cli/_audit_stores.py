"""Where the auditor commands read the audit trail from: files or the PostgreSQL store.

Both hold chains (a directory per process or worker; a replica's rows), both are read entry
by entry in ``seq`` order and verified by the same checks, so every command works on either
alike: ``verify`` each chain, ``query``, ``show``, ``report`` and ``statement`` over all of
them, chain by chain.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier._errors import ConfigurationError
from verifier.audit import (
    AuditEntry,
    ChainVerification,
    Witness,
    read_audit_entries,
    verify_audit_log,
)
from verifier.audit._keys import PUBLIC_KEY_FILE as PUBLIC_KEY_FILE
from verifier.config import VerifierConfig
from verifier.config._worker_chains import WORKER_DIRECTORY_PREFIX

if TYPE_CHECKING:
    from verifier.audit import PostgresAuditStore

WORKER_CHAIN_PREFIX = WORKER_DIRECTORY_PREFIX
"""``verifier serve --workers N`` and ``verifier.spark`` write one chain per worker process:
``<audit dir>/worker-<k>`` (``verifier.config._worker_chains``)."""

Verify = Callable[[Ed25519PublicKey, bool, Witness | None], ChainVerification]
"""(public key, allow an open tail, witness) → the chain's verification."""


@dataclass(frozen=True)
class AuditChain:
    """One chain of the trail, as the commands see it."""

    name: str
    """How ``verify`` names it: the directory, or the store and replica."""
    public_key_file: Path
    """The public key to check it with unless ``--public-key`` is given."""
    entries: Callable[[], Iterator[AuditEntry]]
    verify: Verify


@dataclass(frozen=True)
class AuditSource:
    """The chains of one audit trail; places in it are shown relative to ``root``."""

    root: Path
    description: str
    chains: list[AuditChain]


def chains_in(directory: Path) -> list[Path]:
    """The audit chains ``directory`` holds: its own log, and one per worker process of
    ``verifier serve --workers`` or a Spark job (``worker-1``, ``worker-2`` …, in that order)."""
    workers = [
        path
        for path in directory.glob(f"{WORKER_CHAIN_PREFIX}*")
        if path.is_dir() and path.name.removeprefix(WORKER_CHAIN_PREFIX).isdigit()
    ]
    workers.sort(key=lambda path: int(path.name.removeprefix(WORKER_CHAIN_PREFIX)))
    own = any(directory.glob("audit-*.jsonl"))
    return [directory, *workers] if own or not workers else workers


def file_source(directory: Path) -> AuditSource:
    """The chains of the file store in ``directory`` (one, or one per worker)."""
    return AuditSource(
        directory, str(directory), [_file_chain(path) for path in chains_in(directory)]
    )


def _file_chain(path: Path) -> AuditChain:
    def verify(
        key: Ed25519PublicKey, open_tail: bool, witness: Witness | None
    ) -> ChainVerification:
        return verify_audit_log(path, key, allow_open_tail=open_tail, witness=witness)

    return AuditChain(str(path), path / PUBLIC_KEY_FILE, partial(read_audit_entries, path), verify)


@contextlib.contextmanager
def audit_source(args: argparse.Namespace, config: VerifierConfig) -> Iterator[AuditSource]:
    """``--audit-dir`` (a copied log) or ``--audit-url`` (a PostgreSQL store), else the
    configured store: ``audit.backend``'s files or database."""
    url = args.audit_url or (
        config.audit.url.get_secret_value()
        if config.audit.url is not None and not args.audit_dir
        else None
    )
    if url is None:
        directory = Path(args.audit_dir) if args.audit_dir else config.audit_directory()
        if not directory.is_dir():
            raise ConfigurationError(
                f"audit directory {directory} does not exist "
                "(pass --audit-dir, --audit-url, --config or --data-dir)"
            )
        yield file_source(directory)
        return
    from verifier.audit import PostgresAuditStore  # psycopg only for this store

    schema = args.audit_schema or config.audit.postgres_schema
    key_file = config.audit_directory() / PUBLIC_KEY_FILE
    with PostgresAuditStore(url, schema=schema) as store:
        yield postgres_source(store, key_file)


def postgres_source(store: PostgresAuditStore, key_file: Path) -> AuditSource:
    """The store's chains, one per replica, each checked with ``key_file`` by default."""

    chains = [_replica_chain(store, replica, key_file) for replica in store.replicas()]
    return AuditSource(Path(), f"{store.shown} schema {store.schema}", chains)


def _replica_chain(store: PostgresAuditStore, replica: str, key_file: Path) -> AuditChain:
    def verify(
        key: Ed25519PublicKey, open_tail: bool, witness: Witness | None
    ) -> ChainVerification:
        return store.verify(replica, key, allow_open_tail=open_tail, witness=witness)

    name = f"{store.shown} schema {store.schema}, replica {replica}"
    return AuditChain(name, key_file, partial(store.entries, replica), verify)


def add_directory_argument(
    parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup,
) -> None:
    parser.add_argument(
        "--audit-dir", help="the audit log directory, e.g. a copy (default: from configuration)"
    )


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    add_directory_argument(source)
    source.add_argument(
        "--audit-url", metavar="URL",
        help="a PostgreSQL audit store, postgresql+psycopg://… (default: audit.url)",
    )  # fmt: skip
    parser.add_argument(
        "--audit-schema", metavar="NAME",
        help="the PostgreSQL store's schema (default: audit.postgres_schema)",
    )  # fmt: skip
