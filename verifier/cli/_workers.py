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
import sys

from verifier._errors import ConfigurationError
from verifier.cli._local import config_from
from verifier.cli._service import listen_address, security_summary
from verifier.config import VerifierConfig, ensure_demo_city
from verifier.config._worker_chains import (
    WORKER_DIRECTORY_PREFIX,
    prepare_shared_keys,
    prepare_worker_chain,
    worker_audit_directory,
)
from verifier.service._workers import Supervisor, reserve_port, resolved_workers

STOP_MARGIN_SECONDS = 10.0
"""Beyond the drain grace, what a worker may take to stop: grpc's stop, the audit log's
closing checkpoint, telemetry's last export."""


def prepare_workers(config: VerifierConfig, count: int) -> None:
    """Make the keys every worker shares, and each worker's audit directory."""
    prepare_shared_keys(config)
    for slot in range(1, count + 1):
        prepare_worker_chain(config, slot)


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
