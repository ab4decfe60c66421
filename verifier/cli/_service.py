"""Commands that speak gRPC: serve, verify (remote), and the demo (the README's main job)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import grpc

from verifier._errors import ConfigurationError
from verifier.cli._local import (
    application_from_args,
    config_from,
    print_result,
    verify_locally,
)
from verifier.config import VerifierConfig, build_verifier, ensure_demo_city
from verifier.config._wiring import configure_telemetry_for
from verifier.model import CallerIdentity
from verifier.service import VerifierClient, client_credentials, serve
from verifier.service._security import authenticator_for, server_credentials_for

CLI_CALLER = CallerIdentity(system="verifier-cli")


def listen_address(config: VerifierConfig, port: int | None) -> str:
    if port is None:
        return config.server.address
    host = config.server.address.rpartition(":")[0] or "127.0.0.1"
    return f"{host}:{port}"


def run_serve(args: argparse.Namespace) -> int:
    slot: int | None = args.worker_slot
    config = config_from(args)
    if slot is None:
        workers = config.server.workers if args.workers is None else args.workers
        if workers != 1:
            from verifier.cli._workers import run_supervisor

            return run_supervisor(args, 0 if workers == "auto" else workers)
    worker = f"[worker {slot}] " if slot is not None else ""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s %(levelname)s %(name)s {worker}%(message)s"
    )
    if slot is not None:
        from verifier.config._worker_chains import worker_config
        from verifier.service._workers import die_with_supervisor

        die_with_supervisor()
        config = worker_config(config, slot)
    elif args.config is None:
        # The embedded default: make the demo city on first run so `verifier serve` just works.
        ensure_demo_city(config.data_dir, progress=print)
    address = listen_address(config, args.port)
    host = address.rpartition(":")[0]
    health_ports: list[int] = []

    def ready(port: int) -> None:
        # The first line is read by scripts (the demo, tests): keep it exactly so.
        print(f"verifier listening on {host}:{port}", flush=True)
        health_address = config.server.health_address
        if health_address is not None and health_ports:
            print(f"  health on {health_address.rpartition(':')[0]}:{health_ports[0]}", flush=True)
        if slot is None:  # a worker's supervisor says the rest, once for all
            print(f"  {security_summary(config)}", flush=True)
        if telemetry.prometheus is not None:
            print(f"  metrics on {telemetry.prometheus.url}", flush=True)

    credentials = server_credentials_for(config)
    # One telemetry set-up for the engine and the server (admission-control metrics).
    telemetry = configure_telemetry_for(config)
    try:
        authenticator = authenticator_for(config, meter_provider=telemetry.meter_provider)
        verifier = build_verifier(config, telemetry=telemetry)
    except BaseException:
        telemetry.shutdown()
        raise
    asyncio.run(
        serve(
            verifier,
            address,
            options=config.server,
            ready=ready,
            meter_provider=telemetry.meter_provider,
            authenticator=authenticator,
            credentials=credentials,
            health_address=config.server.health_address,
            health_ready=health_ports.append,
        )
    )
    print("verifier stopped", flush=True)
    return 0


def security_summary(config: VerifierConfig) -> str:
    tls = config.server.tls
    if tls is None:
        transport = "plaintext, this machine only"
    else:
        transport = "mutual TLS" if tls.client_ca else "TLS"
    callers = {
        "loopback": "the request's caller, if registered (development mode)",
        "mtls": "client certificate",
        "token": "bearer token (development mode)",
    }[config.access.mode.value]
    systems = ", ".join(sorted(config.access.callers))
    return f"{transport}; callers identified by {callers}; registered: {systems}"


async def verify_remotely(args: argparse.Namespace) -> int:
    application = application_from_args(args)
    address = args.address or config_from(args).server.address
    credentials = None
    if args.ca:
        credentials = client_credentials(
            Path(args.ca),
            Path(args.cert) if args.cert else None,
            Path(args.key) if args.key else None,
        )
    elif args.cert or args.key:
        raise ConfigurationError("--cert and --key need --ca (the server's CA bundle)")
    async with VerifierClient.connect(
        address,
        caller=CLI_CALLER,
        credentials=credentials,
        server_name=args.server_name,
        token=os.environ.get(args.token_env) or None,
    ) as client:
        result = await client.verify(application, timeout=args.timeout or 5.0)
    print_result(result, args.json)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    if args.local:
        application = application_from_args(args)
        print_result(asyncio.run(verify_locally(args, application)), args.json)
        return 0
    try:
        return asyncio.run(verify_remotely(args))
    except grpc.aio.AioRpcError as error:
        # The server's own words (UNAUTHENTICATED, UNAVAILABLE…), without a traceback.
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1


def run_demo(args: argparse.Namespace) -> int:
    from verifier.cli._demo import run_demo_job

    return asyncio.run(run_demo_job(config_from(args), sys.executable))
