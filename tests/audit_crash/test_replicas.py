"""Three ``verifier serve`` replicas behind gRPC's client-side ``round_robin``, sharing the
machine's Redis fact cache and the PostgreSQL audit store; one is killed with SIGKILL under
load. Every answered request is audited exactly once, the client's retries (a service-config
retry policy for UNAVAILABLE) succeed on the other replicas, no decision or fact differs
from what the planted city says, and every replica's chain verifies.

Required in CI (``VERIFIER_REQUIRE_SERVICES=1``), skipped with the reason elsewhere."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from pg_support import fresh_schema
from serve_support import STARTUP_SECONDS, Server
from support import POSTGRES_URL, TEST_PSEUDONYM_KEY, reachable_redis

from adapters.demo_city import generate_demo_city
from verifier import Application, CallerIdentity, parse_application
from verifier.audit import PostgresAuditStore, generate_signing_key_files, load_public_key
from verifier.cli import main
from verifier.service import VerifierClient

REPLICAS = 3
CALLERS = 24
REDIS_DB = 14
"""The cache's own database number (and a key prefix of its own per run)."""
CALLER = CallerIdentity(system="demo-service-hall")
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{"service": "verifier.v1.VerificationService"}],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}


@dataclass(frozen=True)
class Answer:
    sample: str
    request_id: str
    decision: str
    facts: tuple[tuple[str, str, object, object], ...]


class Answers(list[Answer]):
    """The answers so far, which a test can wait to reach a count."""

    def __init__(self) -> None:
        super().__init__()
        self._waiting: list[tuple[int, asyncio.Event]] = []

    def add(self, answer: Answer) -> None:
        self.append(answer)
        for count, reached in self._waiting:
            if len(self) >= count:
                reached.set()

    async def reach(self, count: int, seconds: float) -> None:
        reached = asyncio.Event()
        self._waiting.append((count, reached))
        if len(self) >= count:
            reached.set()
        await asyncio.wait_for(reached.wait(), seconds)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("replica-city")
    generate_demo_city(directory, people=600)
    return directory


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema()


def replica_env(schema: str, keys: Path, witness: Path, prefix: str, n: int) -> dict[str, str]:
    return {
        "VERIFIER_AUDIT__BACKEND": "postgres",
        "VERIFIER_AUDIT__URL": POSTGRES_URL,
        "VERIFIER_AUDIT__POSTGRES_SCHEMA": schema,
        "VERIFIER_AUDIT__REPLICA_ID": f"replica-{n}",
        "VERIFIER_AUDIT__SIGNING_KEY_FILE": str(keys / "signing-key.pem"),
        "VERIFIER_AUDIT__PSEUDONYM_KEY": TEST_PSEUDONYM_KEY.hex(),
        "VERIFIER_AUDIT__CHECKPOINT_EVERY": "25",
        "VERIFIER_AUDIT__WITNESS__PATH": str(witness),
        "VERIFIER_CACHE__BACKEND": "redis",
        "VERIFIER_CACHE__REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "VERIFIER_CACHE__REDIS_KEY_PREFIX": prefix,
    }


async def call_until_stopped(
    client: VerifierClient,
    samples: list[tuple[str, Application]],
    answers: Answers,
    failures: list[str],
    stop: asyncio.Event,
    seed: int,
) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        name, application = rng.choice(samples)
        try:
            result = await client.verify(application, timeout=10.0)
        except grpc.aio.AioRpcError as error:
            failures.append(f"{error.code().name}: {error.details()}")
            continue
        facts = tuple((f.name, f.status.value, f.value, f.reason) for f in result.facts)
        answers.add(Answer(name, result.request_id, result.decision.outcome.value, facts))


async def test_kill_9_of_one_replica_loses_no_audit_and_no_answer(
    city: Path, schema: str, tmp_path: Path
) -> None:
    prefix = f"verifier-test:{uuid.uuid4().hex[:8]}:"
    redis_client = reachable_redis(f"redis://127.0.0.1:6379/{REDIS_DB}")
    generate_signing_key_files(tmp_path / "keys")
    witness = tmp_path / "witness" / "witness.jsonl"
    manifest = json.loads((city / "samples.json").read_text(encoding="utf-8"))["samples"]
    samples = [(s["name"], parse_application(s["application"])) for s in manifest]
    expected = {s["name"]: s["expected"] for s in manifest}
    servers: list[Server] = []
    answers = Answers()
    failures: list[str] = []
    try:
        started = await asyncio.gather(*(
            Server.start(["--data-dir", str(city)], tmp_path / f"replica-{n}.log",
                         replica_env(schema, tmp_path / "keys", witness, prefix, n),
                         STARTUP_SECONDS * 2)  # three at once on a shared box
            for n in range(1, REPLICAS + 1)
        ), return_exceptions=True)  # fmt: skip
        servers = [server for server in started if isinstance(server, Server)]
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        ports = [server.address.rsplit(":", 1)[1] for server in servers]
        target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
        channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
                ("grpc.enable_retries", 1),
            ],
        )
        async with channel:
            client = VerifierClient(channel, caller=CALLER)
            stop = asyncio.Event()
            load = asyncio.gather(*(
                call_until_stopped(client, samples, answers, failures, stop, seed)
                for seed in range(CALLERS)
            ))  # fmt: skip
            await answers.reach(100, STARTUP_SECONDS)
            victim = servers[1]
            assert await victim.stop(signal.SIGKILL) == -signal.SIGKILL
            killed_at = len(answers)
            await answers.reach(killed_at + 200, 30)
            stop.set()
            await asyncio.wait_for(load, 30)
        for server in (servers[0], servers[2]):
            assert await server.stop(signal.SIGTERM) == 0
    finally:
        for server in servers:
            await server.stop(signal.SIGKILL)
        for key in redis_client.scan_iter(match=f"{prefix}*"):
            redis_client.delete(key)
        redis_client.close()

    assert failures == [], "the retry policy should have taken every call to a live replica"
    wrong = [a for a in answers if a.decision != expected[a.sample]]
    assert wrong == []
    first: dict[str, Answer] = {}
    for answer in answers:  # every replica, cached or not, derived the same facts
        assert answer.facts == first.setdefault(answer.sample, answer).facts, answer.sample

    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        replicas = store.replicas()
        recorded: Counter[str] = Counter()
        by_replica: Counter[str] = Counter()
        for replica in replicas:
            for entry in store.entries(replica):
                if entry.type == "record" and entry.body.get("kind") == "verification":
                    recorded[str(entry.body["request_id"])] += 1
                    by_replica[replica] += 1
    assert replicas == [f"replica-{n}" for n in range(1, REPLICAS + 1)]
    assert [a.request_id for a in answers if recorded[a.request_id] != 1] == []
    assert max(recorded.values()) == 1
    assert all(by_replica[replica] > 0 for replica in replicas), by_replica  # round robin

    verify = ["audit", "verify", "--audit-url", POSTGRES_URL, "--audit-schema", schema,
              "--public-key", str(tmp_path / "keys" / "signing-key.pub.pem"),
              "--witness", str(witness)]  # fmt: skip
    assert main([*verify, "--allow-open-tail"]) == 0  # the killed replica's chain: live tail
    assert main(verify) == 1  # ... and unsealed; the two stopped cleanly are sealed
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        key = load_public_key(tmp_path / "keys" / "signing-key.pub.pem")
        sealed = {replica: store.verify(replica, key).ok for replica in replicas}
    assert sealed == {"replica-1": True, "replica-2": False, "replica-3": True}
