"""Commands that speak gRPC: serve, verify (remote), and the demo (the README's main job)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from verifier.cli._local import (
    application_from_args,
    config_from,
    print_result,
    verify_locally,
)
from verifier.config import VerifierConfig, build_verifier, ensure_demo_city
from verifier.config._wiring import configure_telemetry_for
from verifier.model import CallerIdentity
from verifier.service import VerifierClient, serve

CLI_CALLER = CallerIdentity(system="verifier-cli")


def listen_address(config: VerifierConfig, port: int | None) -> str:
    if port is None:
        return config.server.address
    host = config.server.address.rpartition(":")[0] or "127.0.0.1"
    return f"{host}:{port}"


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = config_from(args)
    if args.config is None:
        # The embedded default: make the demo city on first run so `verifier serve` just works.
        ensure_demo_city(config.data_dir, progress=print)
    address = listen_address(config, args.port)
    host = address.rpartition(":")[0]

    def ready(port: int) -> None:
        print(f"verifier listening on {host}:{port}", flush=True)

    # One telemetry set-up for the engine and the server (admission-control metrics).
    telemetry = configure_telemetry_for(config)
    try:
        verifier = build_verifier(config, telemetry=telemetry)
    except BaseException:
        telemetry.shutdown()
        raise
    asyncio.run(
        serve(
            verifier,
            address,
            grace=config.server.shutdown_grace_seconds,
            ready=ready,
            max_message_bytes=config.server.max_message_bytes,
            max_concurrent_rpcs=config.server.max_concurrent_rpcs,
            batch_in_flight=config.server.batch_in_flight,
            max_in_flight_verifications=config.server.max_in_flight_verifications,
            max_queued_verifications=config.server.max_queued_verifications,
            queue_timeout_ms=config.server.queue_timeout_ms,
            meter_provider=telemetry.meter_provider,
        )
    )
    print("verifier stopped", flush=True)
    return 0


async def verify_remotely(args: argparse.Namespace) -> int:
    application = application_from_args(args)
    address = args.address or config_from(args).server.address
    async with VerifierClient.connect(address, caller=CLI_CALLER) as client:
        result = await client.verify(application, timeout=args.timeout or 5.0)
    print_result(result, args.json)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    if args.local:
        application = application_from_args(args)
        print_result(asyncio.run(verify_locally(args, application)), args.json)
        return 0
    return asyncio.run(verify_remotely(args))


def run_demo(args: argparse.Namespace) -> int:
    from verifier.cli._demo import run_demo_job

    return asyncio.run(run_demo_job(config_from(args), sys.executable))
