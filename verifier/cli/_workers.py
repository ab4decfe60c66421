"""``verifier serve --workers N``: the supervisor's side in the command line, and what makes a
worker's configuration its own (``verifier.service._workers`` runs the processes).

Each worker slot K writes its own audit chain, ``<audit dir>/worker-K`` (a chain has one
writer: the log locks its directory), so a restarted worker reopens its slot's chain and
repairs a tail its predecessor tore. Everything a citizen's records are found or checked by
is shared, and made once, by the supervisor, before any worker starts (N workers starting
at once would otherwise race to create them): the pseudonym key, and — unless the
configuration names one — the signing key pair in the audit directory itself, whose public
key is copied into each worker's directory so that ``verifier audit verify --audit-dir
<audit dir>/worker-K`` finds it there as for a single process.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import shutil
import sys
from pathlib import Path

from verifier._errors import ConfigurationError
from verifier.audit import load_or_create_signing_key
from verifier.audit._keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE
from verifier.cli._local import config_from
from verifier.cli._service import listen_address, security_summary
from verifier.config import VerifierConfig, ensure_demo_city, pseudonymiser_for, replica_id_for
from verifier.service._workers import Supervisor, reserve_port, resolved_workers

WORKER_DIRECTORY_PREFIX = "worker-"
STOP_MARGIN_SECONDS = 10.0
"""Beyond the drain grace, what a worker may take to stop: grpc's stop, the audit log's
closing checkpoint, telemetry's last export."""


def worker_audit_directory(audit_directory: Path, slot: int) -> Path:
    return audit_directory / f"{WORKER_DIRECTORY_PREFIX}{slot}"


def _shared_signing_key(config: VerifierConfig) -> bool:
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
    if _shared_signing_key(config):
        audit["signing_key_file"] = parent / PRIVATE_KEY_FILE
    update: dict[str, object] = {"audit": config.audit.model_copy(update=audit)}
    port = config.telemetry.prometheus_port
    if port:  # 0: each worker's own port from the system
        telemetry = {"prometheus_port": port + slot - 1}
        update["telemetry"] = config.telemetry.model_copy(update=telemetry)
    return config.model_copy(update=update)


def prepare_workers(config: VerifierConfig, count: int) -> None:
    """Make the keys every worker shares, and each worker's audit directory."""
    pseudonymiser_for(config)  # creates the key file on first use
    parent = config.audit_directory()
    if _shared_signing_key(config):
        load_or_create_signing_key(parent)
    for slot in range(1, count + 1):
        directory = worker_audit_directory(parent, slot)
        directory.mkdir(parents=True, exist_ok=True)
        public = parent / PUBLIC_KEY_FILE
        if public.is_file():
            shutil.copyfile(public, directory / PUBLIC_KEY_FILE)


def worker_command(args: argparse.Namespace, port: int, slot: int) -> list[str]:
    """The command of worker ``slot``: this ``verifier serve``, on the port all share."""
    command = [sys.executable, "-m", "verifier.cli", "serve", "--port", str(port)]
    if args.config is not None:
        command += ["--config", args.config]
    if args.data_dir is not None:
        command += ["--data-dir", args.data_dir]
    return [*command, "--worker-slot", str(slot)]


def run_supervisor(args: argparse.Namespace, workers: int) -> int:
    """``verifier serve`` as the supervisor of ``workers`` processes (0: one per core)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = config_from(args)
    if args.config is None:
        ensure_demo_city(config.data_dir, progress=print)
    count = resolved_workers(workers)
    prepare_workers(config, count)
    address = listen_address(config, args.port)
    host = address.rpartition(":")[0]
    chains = worker_audit_directory(config.audit_directory(), 1)
    announce = functools.partial(print, flush=True)
    try:
        reservation = reserve_port(address)
    except (ValueError, OSError) as exc:
        raise ConfigurationError(f"cannot listen on {address!r}: {exc}") from None
    with reservation:
        port = int(reservation.getsockname()[1])

        def ready(pids: list[int]) -> None:
            # The first line is read by scripts (the demo, tests): keep it exactly so.
            announce(f"verifier listening on {host}:{port}")
            announce(f"  {security_summary(config)}")
            announce(
                f"  {count} worker processes on this port, each with its own audit chain "
                f"({chains.parent}/{WORKER_DIRECTORY_PREFIX}<k>)"
            )

        supervisor = Supervisor(
            functools.partial(worker_command, args, port),
            count,
            stop_seconds=config.server.shutdown_grace_seconds + STOP_MARGIN_SECONDS,
            announce=announce,
        )
        code = asyncio.run(supervisor.run(ready))
    announce("verifier stopped")
    return code
