"""The PostgreSQL audit store, written and read for real: records durable in one transaction
per batch, one chain per replica, months sealed by rotation checkpoints, migrations applied
once, one writer per replica, and every auditor command reading it as it reads files."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from audit_support import PSEUDONYMS, audit_record
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pg_support import MONTH_END, conninfo, fresh_schema, stepping_clock
from support import POSTGRES_URL, TEST_PSEUDONYM_KEY, resident_id

from verifier._errors import AuditUnavailable, ConfigurationError
from verifier.audit import (
    AuditedSubject,
    ChainedAuditLog,
    PostgresAuditLog,
    PostgresAuditStore,
)
from verifier.cli import main

KEY = Ed25519PrivateKey.generate()
CITIZEN = resident_id("44030020100101123")


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema()


def open_log(schema: str, replica: str = "replica-a", **options: object) -> PostgresAuditLog:
    settings: dict[str, object] = {"checkpoint_every": 4, **options}
    return PostgresAuditLog(POSTGRES_URL, KEY, replica_id=replica, schema=schema, **settings)  # type: ignore[arg-type]


def records(count: int, prefix: str = "req") -> list[object]:
    citizen = AuditedSubject(
        role="guardian", pseudonym=PSEUDONYMS.pseudonym(CITIZEN), masked="4403**********123X"
    )
    return [
        audit_record(f"{prefix}-{n:03d}", subjects=(citizen,))
        if n % 3 == 0
        else audit_record(f"{prefix}-{n:03d}")
        for n in range(count)
    ]


async def write(sink: PostgresAuditLog | ChainedAuditLog, batches: list[list[object]]) -> None:
    for batch in batches:
        await asyncio.gather(*(sink.append(record) for record in batch))  # type: ignore[arg-type]
    await sink.aclose()


async def test_concurrent_records_share_one_commit(schema: str) -> None:
    log = open_log(schema)
    await asyncio.gather(*(log.append(record) for record in records(40)))  # type: ignore[arg-type]
    assert log.records_written == 40
    assert log.commits < 40 / 4, "concurrent verifications should share commits"
    await log.aclose()
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        result = store.verify("replica-a", KEY.public_key())
    assert result.ok, result.first_break
    assert result.records == 40


async def test_each_replica_writes_its_own_chain_across_months(schema: str) -> None:
    clocks = {name: stepping_clock(MONTH_END, timedelta(milliseconds=40)) for name in "ab"}
    logs = [open_log(schema, f"replica-{name}", clock=clocks[name]) for name in "ab"]
    batches = [records(5, "a"), records(5, "b")]
    for _ in range(3):
        await asyncio.gather(*(
            asyncio.gather(*(log.append(r) for r in batch))  # type: ignore[arg-type]
            for log, batch in zip(logs, batches, strict=True)
        ))  # fmt: skip
    for log in logs:
        await log.aclose()
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        assert store.replicas() == ["replica-a", "replica-b"]
        for replica in store.replicas():
            result = store.verify(replica, KEY.public_key())
            assert result.ok, result.first_break
            assert result.records == 15
            months = {entry.file.name for entry in store.entries(replica)}
            assert months == {"2026-08", "2026-09"}
            august = [e for e in store.entries(replica) if e.file.name == "2026-08"]
            assert august[-1].type == "checkpoint"
            assert august[-1].body["reason"] == "rotation"


async def test_a_reopened_chain_continues_where_its_rows_end(schema: str) -> None:
    await write(open_log(schema), [records(6)])
    await write(open_log(schema), [records(3, "later")])
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        result = store.verify("replica-a", KEY.public_key())
    assert result.ok
    assert result.records == 9


async def test_one_writer_per_replica(schema: str) -> None:
    first = open_log(schema)
    with pytest.raises(ConfigurationError, match="in use by another writer"):
        open_log(schema)
    other = open_log(schema, "replica-b")  # another replica is welcome
    await other.aclose()
    await first.aclose()
    await open_log(schema).aclose()  # released on close


async def test_migrations_are_applied_once_and_recorded(schema: str) -> None:
    logs = await asyncio.gather(*(asyncio.to_thread(open_log, schema, f"r{n}") for n in range(3)))
    for log in logs:
        await log.aclose()
    with psycopg.connect(conninfo()) as connection:
        versions = connection.execute(f"SELECT version FROM {schema}.schema_version").fetchall()
        partitions = connection.execute(
            "SELECT count(*) FROM pg_inherits JOIN pg_class p ON p.oid = inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE p.relname = 'audit_entries' AND n.nspname = %s",
            (schema,),
        ).fetchone()
    assert versions == [(1,)]
    assert partitions is not None
    assert partitions[0] >= 3  # this month and two ahead


async def test_a_lost_connection_refuses_the_batch_then_recovers(schema: str) -> None:
    log = open_log(schema)
    await log.append(records(1)[0])  # type: ignore[arg-type]
    writer = log._writer._connection  # the store's own session, and no one else's
    assert writer is not None
    with psycopg.connect(conninfo(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (writer.info.backend_pid,))
    with pytest.raises(AuditUnavailable, match="audit write failed"):
        await log.append(records(1, "lost")[0])  # type: ignore[arg-type]
    await log.append(records(1, "after")[0])  # type: ignore[arg-type]
    await log.aclose()
    with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
        result = store.verify("replica-a", KEY.public_key())
    assert result.ok, result.first_break
    assert result.records == 2


# --- the auditor commands read the store as they read files --------------------------------


def _config(tmp_path: Path, **audit: object) -> Path:
    settings = {
        "data_dir": str(tmp_path / "data"),
        "audit": {"pseudonym_key": TEST_PSEUDONYM_KEY.hex(), **audit},
    }
    path = tmp_path / "verifier.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def _public_key(tmp_path: Path) -> Path:
    path = tmp_path / "auditor.pub.pem"
    path.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _without_place(text: str) -> list[dict[str, object]]:
    """The documents printed (one per line, or one in all), their place in the log left out."""
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError:
        documents = [json.loads(line) for line in text.splitlines() if line.strip()]
    for document in documents:
        document.pop("file", None)
        document.pop("line", None)
    return documents


async def test_every_command_reads_the_store_as_it_reads_files(
    schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batches = [records(7), records(5, "more")]
    start = datetime(2026, 9, 1, 8, tzinfo=UTC)
    files = ChainedAuditLog(tmp_path / "files", KEY, checkpoint_every=4,
                            clock=stepping_clock(start, timedelta(seconds=1)))  # fmt: skip
    await write(files, batches)
    await write(open_log(schema, clock=stepping_clock(start, timedelta(seconds=1))), batches)
    config = str(_config(tmp_path))
    stores = {
        "files": ["--audit-dir", str(tmp_path / "files")],
        "postgres": ["--audit-url", POSTGRES_URL, "--audit-schema", schema],
    }
    commands = [
        ["query", "--json"],
        ["query", "--json", "--item", "school_place", "--decision", "NEEDS_REVIEW"],
        ["show", "more-002", "--json"],
        ["report", "--json"],
        ["statement", "--subject", CITIZEN, "--json"],
    ]
    for command in commands:
        outputs = {}
        for name, source in stores.items():
            code = main(["audit", *command, "--config", config, *source])
            outputs[name] = (code, _without_place(capsys.readouterr().out))
        assert outputs["files"] == outputs["postgres"], command
        assert outputs["postgres"][0] == 0, command
        assert outputs["postgres"][1], command
    key = str(_public_key(tmp_path))
    code = main(["audit", "verify", "--config", config, "--no-witness", "--public-key", key,
                 *stores["postgres"]])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"schema {schema}, replica replica-a: INTACT" in out
    assert "12 records" in out


async def test_the_configured_store_is_the_default_source(
    schema: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await write(open_log(schema), [records(3)])
    config = _config(tmp_path, backend="postgres", url=POSTGRES_URL, postgres_schema=schema)
    code = main(["audit", "show", "req-001", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 0
    assert "replica-a/" in out  # its place: the replica's month, the row in it


async def test_a_role_with_insert_and_select_only_can_write_a_migrated_store(schema: str) -> None:
    """Least privilege: the owner migrated the store and made its partitions; the service's
    role, with INSERT and SELECT alone, writes it (and cannot change what it wrote)."""
    await open_log(schema, "owner").aclose()  # migrations and this month's partitions
    role = f"audit_writer_{schema.removeprefix('audit_test_')}"
    with psycopg.connect(conninfo(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        admin.execute(f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    try:
        url = POSTGRES_URL.replace("postgres@", f"{role}@", 1)
        log = PostgresAuditLog(url, KEY, replica_id="least", schema=schema, checkpoint_every=4)
        await asyncio.gather(*(log.append(r) for r in records(6)))  # type: ignore[arg-type]
        await log.probe()
        await log.aclose()
        with (
            psycopg.connect(conninfo().replace("postgres@", f"{role}@", 1)) as writer,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            writer.execute(f"UPDATE {schema}.audit_entries SET seq = seq")
        with PostgresAuditStore(POSTGRES_URL, schema=schema) as store:
            result = store.verify("least", KEY.public_key())
        assert result.ok, result.first_break
        assert result.records == 6
    finally:
        with psycopg.connect(conninfo(), autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")
