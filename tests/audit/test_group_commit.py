"""Group commit: records that arrive close together share one fsync, and none is
acknowledged before the sync that makes it durable."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from audit_support import audit_record
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import verifier.audit._writer as writer_module
from verifier.audit import ChainedAuditLog, verify_audit_log

KEY = Ed25519PrivateKey.generate()


async def test_records_arriving_together_share_one_sync(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    await asyncio.gather(*(log.append(audit_record(f"r{n}")) for n in range(20)))
    assert (log.records_written, log.syncs) == (20, 1)
    await log.aclose()
    assert verify_audit_log(tmp_path, KEY.public_key()).ok


async def test_records_finishing_turns_of_the_loop_apart_share_one_sync(tmp_path: Path) -> None:
    """Under load verifications finish one after another, a turn of the event loop apart,
    not all in the same turn: the first must not be synced alone while the next is about
    to arrive (last month: 1,302 fsyncs for 1,382 records)."""
    log = ChainedAuditLog(tmp_path, KEY)

    async def finish_after(turns: int) -> None:
        for _ in range(turns):
            await asyncio.sleep(0)
        await log.append(audit_record(f"r{turns}"))

    await asyncio.gather(*(finish_after(turns) for turns in range(4)))
    assert (log.records_written, log.syncs) == (4, 1)
    await log.aclose()


async def test_a_lone_record_is_synced_without_waiting_for_company(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY)
    for number in range(3):
        await log.append(audit_record(f"r{number}"))
        assert (log.records_written, log.syncs) == (number + 1, number + 1)
    await log.aclose()


async def test_no_record_is_acknowledged_before_it_is_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    durable = [b""]
    real_sync = writer_module._datasync

    def sync_and_note(fd: int) -> None:
        real_sync(fd)
        os.lseek(fd, 0, os.SEEK_SET)
        durable[0] = os.read(fd, 1 << 20)

    monkeypatch.setattr(writer_module, "_datasync", sync_and_note)
    log = ChainedAuditLog(tmp_path, KEY)

    async def append(number: int) -> None:
        for _ in range(number % 3):
            await asyncio.sleep(0)
        await log.append(audit_record(f"r{number}"))
        assert f'"request_id":"r{number}"'.encode() in durable[0]

    await asyncio.gather(*(append(n) for n in range(30)))
    await log.aclose()


async def test_without_fsync_nothing_is_counted_as_synced(tmp_path: Path) -> None:
    log = ChainedAuditLog(tmp_path, KEY, fsync=False)
    await asyncio.gather(*(log.append(audit_record(f"r{n}")) for n in range(5)))
    assert (log.records_written, log.syncs) == (5, 0)
    await log.aclose()
