"""kill -9 of a real server in the middle of a stream of verifications, then a restart:
every answered verification has exactly one record, no record is half-written, and the
chain verifies. Several rounds append to the same log."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path

import grpc
import pytest

from adapters.demo_city import generate_demo_city
from verifier import Application, CallerIdentity, parse_application
from verifier.audit import load_public_key, read_audit_entries, verify_audit_log
from verifier.service import VerifierClient

ROUNDS = 3
WORKERS = 24
SEED = 20260831
# A system the default (development) configuration registers: loopback mode serves only those.
CALLER = CallerIdentity(system="demo-service-hall")
STARTUP_SECONDS = 30.0
# Small files and frequent checkpoints, so kills also land around rotations and seals.
SERVER_ENV = {"VERIFIER_AUDIT__MAX_FILE_BYTES": "65536", "VERIFIER_AUDIT__CHECKPOINT_EVERY": "25"}


class Server:
    """``verifier serve`` over the city in a child process, as an operator runs it."""

    def __init__(self, process: asyncio.subprocess.Process, address: str) -> None:
        self.process = process
        self.address = address

    @classmethod
    async def start(cls, city: Path, log: Path) -> Server:
        with log.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "verifier.cli", "serve", "--port", "0",
                "--data-dir", str(city),
                stdout=asyncio.subprocess.PIPE, stderr=stderr, env={**os.environ, **SERVER_ENV},
            )  # fmt: skip
        try:
            address = await asyncio.wait_for(_listening_address(process), STARTUP_SECONDS)
        except BaseException:
            await cls(process, "").stop(signal.SIGKILL)
            raise
        return cls(process, address)

    async def stop(self, sig: signal.Signals) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        assert self.process.stdout is not None
        await self.process.stdout.read()
        return await self.process.wait()


async def _listening_address(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        text = line.decode().strip()
        if text.startswith("verifier listening on "):
            return text.removeprefix("verifier listening on ")
    raise AssertionError(f"the server exited with {await process.wait()} before listening")


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
            servers.append(server := await Server.start(city, tmp_path / "server.log"))
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
            servers.append(server := await Server.start(city, tmp_path / "server.log"))
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
