"""One audit chain per worker process: ``<audit dir>/worker-<k>``.

A chain has one writer (the log locks its directory), so every process that verifies on
one configuration — ``verifier serve --workers N``'s workers, ``verifier.spark``'s Python
workers — writes its own chain in a numbered directory under the configured audit
directory, which ``verifier audit`` reads chain by chain. What a citizen's records are found
or checked by is shared: the pseudonym key, and — unless the configuration names one — the
signing key pair kept in the audit directory itself, whose public key is copied into each
worker's directory so that ``verifier audit verify --audit-dir <audit dir>/worker-<k>``
finds it there as for a single process.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from verifier.audit import load_or_create_signing_key
from verifier.audit._keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE
from verifier.config._settings import VerifierConfig
from verifier.config._wiring import pseudonymiser_for, replica_id_for

WORKER_DIRECTORY_PREFIX = "worker-"


def worker_audit_directory(audit_directory: Path, slot: int) -> Path:
    return audit_directory / f"{WORKER_DIRECTORY_PREFIX}{slot}"


def shared_signing_key(config: VerifierConfig) -> bool:
    """Whether the workers sign with the key pair generated in the audit directory (the
    embedded default), rather than one the configuration names."""
    return config.audit.signing_key is None and config.audit.signing_key_file is None


def worker_config(config: VerifierConfig, slot: int) -> VerifierConfig:
    """``config`` as worker ``slot`` uses it: its own audit chain, the shared signing key,
    its own metrics port (``prometheus_port + slot - 1``: the workers' metrics are each
    their own process's, so one port cannot serve them all)."""
    parent = config.audit_directory()
    audit: dict[str, object] = {"directory": worker_audit_directory(parent, slot)}
    if config.audit.backend == "postgres":  # a chain per worker there too
        audit["replica_id"] = f"{replica_id_for(config)}-{WORKER_DIRECTORY_PREFIX}{slot}"
    if shared_signing_key(config):
        audit["signing_key_file"] = parent / PRIVATE_KEY_FILE
    update: dict[str, object] = {"audit": config.audit.model_copy(update=audit)}
    port = config.telemetry.prometheus_port
    if port:  # 0: each worker's own port from the system
        telemetry = {"prometheus_port": port + slot - 1}
        update["telemetry"] = config.telemetry.model_copy(update=telemetry)
    return config.model_copy(update=update)


def prepare_shared_keys(config: VerifierConfig) -> None:
    """Make the keys every worker shares (once, before workers race to create them)."""
    pseudonymiser_for(config)  # creates the key file on first use
    if shared_signing_key(config):
        load_or_create_signing_key(config.audit_directory())


def prepare_worker_chain(config: VerifierConfig, slot: int) -> Path:
    """Worker ``slot``'s audit directory, with the shared public key beside its chain."""
    parent = config.audit_directory()
    directory = worker_audit_directory(parent, slot)
    directory.mkdir(parents=True, exist_ok=True)
    public = parent / PUBLIC_KEY_FILE
    if public.is_file():
        shutil.copyfile(public, directory / PUBLIC_KEY_FILE)
    return directory
