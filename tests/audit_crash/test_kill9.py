"""kill -9 of a real server in the middle of a stream of verifications, then a restart:
every answered verification has exactly one record, no record is half-written, and the
chain verifies. Several rounds append to the same log."""

from __future__ import annotations

import asyncio
import json
import random
import signal
from collections import Counter
from pathlib import Path

import grpc
import pytest
from serve_support import STARTUP_SECONDS, Server

from adapters.demo_city import generate_demo_city
from verifier import Application, CallerIdentity, parse_application
from verifier.audit import load_public_key, read_audit_entries, verify_audit_log
from verifier.service import VerifierClient

ROUNDS = 3
WORKERS = 24
SEED = 20260831
# A system the default (development) configuration registers: loopback mode serves only those.
CALLER = CallerIdentity(system="demo-service-hall")
# Small files and frequent checkpoints, so kills also land around rotations and seals.
SERVER_ENV = {"VERIFIER_AUDIT__MAX_FILE_BYTES": "65536", "VERIFIER_AUDIT__CHECKPOINT_EVERY": "25"}


def server_args(city: Path) -> list[str]:
    return ["--data-dir", str(city)]


async def verify_until_refused(
    address: str,
    applications: list[Application],
    answered: list[str],
    seed: int,
    flowing: asyncio.Event,
) -> None:
    """WORKERS concurrent callers, each verifying until its call fails; ``flowing`` is set
    at the first answer."""
    async with VerifierClient.connect(address, caller=CALLER) as client:

        async def caller(rng: random.Random) -> None:
            while True:
                try:
                    result = await client.verify(rng.choice(applications), timeout=5.0)
                except grpc.aio.AioRpcError:
                    return
                answered.append(result.request_id)
                flowing.set()

        await asyncio.gather(*(caller(random.Random(seed + n)) for n in range(WORKERS)))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("crash-city")
    generate_demo_city(directory, people=1000)
    return directory


async def test_kill_9_loses_no_answered_record(city: Path, tmp_path: Path) -> None:
    samples = json.loads((city / "samples.json").read_text(encoding="utf-8"))["samples"]
    applications = [parse_application(sample["application"]) for sample in samples]
    rng = random.Random(SEED)
    answered: list[str] = []
    servers: list[Server] = []
    try:
        for _ in range(ROUNDS):
            servers.append(
                server := await Server.start(server_args(city), tmp_path / "server.log", SERVER_ENV)
            )
            flowing = asyncio.Event()
            seed = rng.randrange(1 << 30)
            load = asyncio.ensure_future(
                verify_until_refused(server.address, applications, answered, seed, flowing)
            )
            await asyncio.wait_for(flowing.wait(), STARTUP_SECONDS)
            await asyncio.sleep(rng.uniform(0.2, 1.0))  # the kill lands anywhere in the stream
            assert await server.stop(signal.SIGKILL) == -signal.SIGKILL
            await asyncio.wait_for(load, 30)

            # The restart repairs a torn tail, if the kill left one; then a clean stop.
            servers.append(
                server := await Server.start(server_args(city), tmp_path / "server.log", SERVER_ENV)
            )
            async with VerifierClient.connect(server.address, caller=CALLER) as client:
                for application in applications[:3]:
                    answered.append((await client.verify(application, timeout=5.0)).request_id)
            assert await server.stop(signal.SIGTERM) == 0
    finally:
        for server in servers:
            await server.stop(signal.SIGKILL)

    audit = city / "audit"
    for path in audit.glob("audit-*.jsonl"):
        assert path.read_bytes().endswith(b"\n"), f"{path.name} ends with a half-written line"
    entries = list(read_audit_entries(audit))
    recorded = Counter(e.body.get("request_id") for e in entries if e.type == "record")
    assert [request for request in answered if recorded[request] != 1] == []
    assert max(recorded.values()) == 1
    result = verify_audit_log(audit, load_public_key(audit / "signing-key.pub.pem"))
    assert result.ok, result.first_break
    assert result.records == len(recorded) >= len(answered)
