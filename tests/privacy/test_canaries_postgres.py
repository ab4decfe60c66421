"""The PostgreSQL audit store holds no raw department value and no full ID: every row of
every table of its schema, as text, is searched for the demo city's canaries and for the
subjects' ID numbers after real verifications, as the file log is in ``test_canaries``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pg_support import conninfo, fresh_schema
from support import POSTGRES_URL, TEST_PSEUDONYM_KEY
from test_canaries import applications, assert_clean

import verifier
from adapters.demo_city import DemoCityManifest
from verifier import parse_application


@pytest.fixture
def schema() -> Iterator[str]:
    yield from fresh_schema()


def schema_text(schema: str) -> str:
    """Every row of every table in ``schema``, each as its text form (bytea as UTF-8)."""
    parts = []
    with psycopg.connect(conninfo()) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            for row in connection.execute(f'SELECT * FROM "{schema}"."{table}"'):
                parts.extend(
                    bytes(value).decode("utf-8")
                    if isinstance(value, bytes | memoryview)
                    else str(value)
                    for value in row
                )
    return "\n".join(parts)


async def test_no_canary_or_id_in_the_postgres_store(
    demo_city: DemoCityManifest, schema: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = verifier.load_config(
        data_dir=demo_city.data_dir,
        audit={
            "backend": "postgres",
            "url": POSTGRES_URL,
            "postgres_schema": schema,
            "replica_id": "canary-replica",
            "directory": tmp_path / "audit",  # where the generated key pair goes
            "pseudonym_key": TEST_PSEUDONYM_KEY.hex(),
        },
    )
    subject_ids: set[str] = set()
    async with verifier.build_verifier(config) as engine:
        for data in applications(demo_city):
            application = parse_application(data)
            subject_ids.update(subject.id for subject in application.subjects)
            await engine.verify(application)
    stored = schema_text(schema)
    with psycopg.connect(conninfo()) as connection:
        rows = connection.execute(
            f"SELECT count(*) FROM {schema}.audit_entries WHERE entry_type = 'record'"
        ).fetchone()
    assert rows == (len(applications(demo_city)),)
    assert_clean(stored, demo_city.canaries, "the PostgreSQL audit store")
    assert_clean(caplog.text, demo_city.canaries, "log lines")
    assert [s for s in subject_ids if s in stored or s in caplog.text] == []
