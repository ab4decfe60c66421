"""kill -9 of a process writing to the PostgreSQL audit store, in the middle of its load:
every record it acknowledged is in the store, and the chain it leaves verifies (open tail);
the next writer of that replica continues it and seals it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pg_support import fresh_schema
from support import POSTGRES_URL

from verifier.audit import AuditRecord, PostgresAuditLog, PostgresAuditStore, load_signing_key

ACKNOWLEDGED_BEFORE_KILL = 300
WRITER = textwrap.dedent(
    """
    import asyncio, sys
    sys.path[:0] = [sys.argv[4], sys.argv[5]]
    from audit_support import audit_record
    from verifier.audit import PostgresAuditLog, load_signing_key

    async def main():
        key = load_signing_key(open(sys.argv[3]).read())
        log = PostgresAuditLog(sys.argv[1], key, replica_id="crashing", schema=sys.argv[2],
                               checkpoint_every=50)
        async def one(n):
            await log.append(audit_record(f"req-{n}"))
            print(f"req-{n}", flush=True)  # acknowledged: durable
        n = 0
        while True:  # until killed
            await asyncio.gather(*(one(n + k) for k in range(16)))
            n += 16

    asyncio.run(main())
    """
)


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema()


async def test_kill_9_mid_load_leaves_a_chain_that_verifies(schema: str, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tests = Path(__file__).parent
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, POSTGRES_URL, schema, str(key_file),
        str(tests), str(tests.parent),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    acknowledged: set[str] = set()
    try:
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, f"the writer exited with {await process.wait()}"
            acknowledged.add(line.decode().strip())
    finally:
        process.send_signal(signal.SIGKILL)
        acknowledged.update(
            line.strip() for line in (await process.stdout.read()).decode().splitlines()
        )
        await process.wait()

    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        live = store.verify("crashing", key.public_key(), allow_open_tail=True)
        assert live.ok, live.first_break
        stored = {
            entry.body["request_id"]
            for entry in store.entries("crashing")
            if entry.type == "record"
        }
        sealed = store.verify("crashing", key.public_key())
    assert acknowledged <= stored, "an acknowledged record is missing"
    assert sealed.unsealed  # killed: no shutdown checkpoint

    # The next writer of the replica continues the chain (PostgreSQL freed the lock).
    again = PostgresAuditLog(
        POSTGRES_URL, load_signing_key(key_file), replica_id="crashing", schema=schema
    )
    await again.append(AuditRecord.model_validate(next(iter(store_records(schema)))))
    await again.aclose()
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        result = store.verify("crashing", key.public_key())
    assert result.ok, result.first_break
    assert result.records == len(stored) + 1


def store_records(schema: str) -> Iterator[dict[str, object]]:
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        for entry in store.entries("crashing"):
            if entry.type == "record":
                yield dict(entry.body)
                return
