"""Every tampering with a real log is detected.

A log is written through ChainedAuditLog (realistic records, batches, rotations, periodic
checkpoints, a clean close, a reopen with more records). Then over a thousand mutations are
each applied to the files, verified with the service's public key, and undone: bit flips
anywhere (hash, entry, newline), deleted, copied, forged and reordered lines, truncations,
swapped checkpoints, deleted files, and the whole log re-chained and re-signed with another
key. Every single one must be reported as a break.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from audit_support import (
    PREFIX_BYTES,
    alert_record,
    audit_record,
    log_lines,
    spec_checkpoint_v2,
    spec_key_id,
    spec_line,
    spec_signature,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.audit import ChainedAuditLog, ChainVerification, verify_audit_log

SEED = 20260831
KEY = Ed25519PrivateKey.generate()
FORGER = Ed25519PrivateKey.generate()
GENESIS = "0" * 64
Files = list[list[bytes] | None]
"""The log's files' lines, by file; None: the file is deleted."""


@dataclass
class Log:
    directory: Path
    paths: list[Path]
    files: list[list[bytes]]

    def positions(self) -> list[tuple[int, int]]:
        return [(f, n) for f, lines in enumerate(self.files) for n in range(len(lines))]

    def copy(self) -> list[list[bytes]]:
        return [list(lines) for lines in self.files]

    def verify(self, mutated: Files, key: Ed25519PrivateKey = KEY) -> ChainVerification:
        """Verify the log with ``mutated`` files in place, then put the originals back."""
        changed = []
        for path, original, lines in zip(self.paths, self.files, mutated, strict=True):
            if lines is None:
                path.unlink()
            elif lines != original:
                path.write_bytes(b"".join(lines))
            else:
                continue
            changed.append((path, original))
        try:
            return verify_audit_log(self.directory, key.public_key())
        finally:
            for path, original in changed:
                path.write_bytes(b"".join(original))


async def write_log(directory: Path) -> None:
    rng = random.Random(SEED)
    number = 0
    for session in range(2):  # a clean close, a reopen, more records
        log = ChainedAuditLog(directory, KEY, max_file_bytes=24_000, checkpoint_every=6)
        for _ in range(12 - 6 * session):
            size = rng.choice((1, 1, 2, 3, 5, 8))
            batch = [audit_record(f"r{number + n}") for n in range(size)]
            number += size
            await asyncio.gather(*(log.append(record) for record in batch))
            if rng.random() < 0.15:
                await log.append(alert_record(number))
        await log.aclose()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Log:
    directory = tmp_path_factory.mktemp("tamper") / "audit"
    asyncio.run(write_log(directory))
    files = log_lines(directory)
    log = Log(directory, [path for path, _ in files], [lines for _, lines in files])
    result = log.verify(log.copy())
    assert result.ok, result.first_break
    assert len(log.files) >= 5
    assert result.records >= 50
    reasons = [entry(line)["body"].get("reason") for lines in log.files for line in lines]
    assert {"periodic", "rotation", "shutdown"} <= set(reasons)
    assert reasons.count("shutdown") == 2
    return log


def entry(line: bytes) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(line[PREFIX_BYTES:-2])
    return parsed


def line_hash(line: bytes) -> str:
    return line[9:73].decode()


# Each mutation returns the mutated files and, where it is certain, the (file, line) the
# verifier must name as the first break.
Mutation = Callable[[Log, random.Random], tuple[Files, tuple[int, int] | None]]


def flip_a_bit(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    files = log.copy()
    f, n = rng.choice(log.positions())
    line = bytearray(files[f][n])
    line[rng.randrange(len(line))] ^= 1 << rng.randrange(8)
    files[f][n] = bytes(line)
    return files, (f, n + 1)


def delete_a_line(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    files = log.copy()
    f, n = rng.choice(log.positions())
    del files[f][n]
    return files, None


def insert_a_copied_line(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    files = log.copy()
    source_file, source_line = rng.choice(log.positions())
    f, n = rng.choice(log.positions())
    files[f].insert(n + rng.randrange(2), log.files[source_file][source_line])
    return files, None


def insert_a_forged_line(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    """A well-formed entry chained to the line before it, as a forger without the key can."""
    files = log.copy()
    positions = log.positions()
    index = rng.randrange(len(positions) + 1)
    before = log.files[positions[index - 1][0]][positions[index - 1][1]] if index else None
    prev, seq = (line_hash(before), entry(before)["seq"]) if before else (GENESIS, 0)
    forged: dict[str, Any] = {"seq": seq + 1, "prev": prev, "time": "2026-08-31T01:00:00.000000Z"}
    kind = rng.choice(("record", "checkpoint by the forger", "checkpoint claiming the key"))
    if kind == "record":
        forged.update(type="record", body=audit_record("forged").model_dump(mode="json"))
    else:
        key_id = spec_key_id(FORGER if kind == "checkpoint by the forger" else KEY)
        signature = spec_signature(FORGER, seq, prev)
        forged.update(type="checkpoint", body={
            "chain_hash": prev, "through_seq": seq, "key_id": key_id,
            "signature": signature, "reason": "shutdown",
        })  # fmt: skip
    f, n = positions[index] if index < len(positions) else (len(files) - 1, len(files[-1]))
    files[f].insert(n, spec_line(prev, forged)[0])
    return files, None


def swap_two_lines(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    files = log.copy()
    (f1, n1), (f2, n2) = rng.sample(log.positions(), 2)
    files[f1][n1], files[f2][n2] = files[f2][n2], files[f1][n1]
    return files, None


def swap_two_checkpoints(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    files = log.copy()
    checkpoints = [(f, n) for f, n in log.positions() if entry(files[f][n])["type"] == "checkpoint"]
    (f1, n1), (f2, n2) = rng.sample(checkpoints, 2)
    files[f1][n1], files[f2][n2] = files[f2][n2], files[f1][n1]
    return files, None


def cut_at(log: Log, f: int, n: int, partial: bytes = b"") -> Files:
    """The log cut before line ``n`` of file ``f``, keeping ``partial`` bytes of it."""
    files: Files = [list(lines) for lines in log.files[:f]]
    files.append([*log.files[f][:n], *([partial] if partial else [])])
    return files + [None] * (len(log.files) - f - 1)


def ends_sealed_at_shutdown(log: Log, f: int, n: int) -> bool:
    flat = [line for lines in log.files[:f] for line in lines] + log.files[f][:n]
    return bool(flat) and entry(flat[-1])["body"].get("reason") == "shutdown"


def truncate_between_lines(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    while True:
        f, n = rng.choice(log.positions())
        # Cut right after a shutdown checkpoint, a log *is* that earlier log (see below).
        if not ends_sealed_at_shutdown(log, f, n):
            return cut_at(log, f, n), None


def truncate_mid_line(log: Log, rng: random.Random) -> tuple[Files, tuple[int, int] | None]:
    f, n = rng.choice(log.positions())
    line = log.files[f][n]
    return cut_at(log, f, n, line[: rng.randrange(1, len(line))]), (f, n + 1)


MUTATIONS: list[tuple[Mutation, int]] = [
    (flip_a_bit, 620),
    (delete_a_line, 80),
    (insert_a_copied_line, 60),
    (insert_a_forged_line, 60),
    (swap_two_lines, 80),
    (swap_two_checkpoints, 40),
    (truncate_between_lines, 50),
    (truncate_mid_line, 50),
]


def test_every_mutation_of_the_log_is_detected(pristine: Log) -> None:
    rng = random.Random(SEED)
    undetected, misplaced, tried = [], [], 0
    for mutate, times in MUTATIONS:
        for attempt in range(times):
            mutated, expected = mutate(pristine, rng)
            result = pristine.verify(mutated)
            tried += 1
            if result.ok or result.first_break is None:
                undetected.append(f"{mutate.__name__} #{attempt}")
            elif expected is not None:
                where = (pristine.paths[expected[0]], expected[1])
                if (result.first_break.file, result.first_break.line) != where:
                    misplaced.append(f"{mutate.__name__} #{attempt}: {result.first_break}")
    for f in range(len(pristine.files)):  # delete each whole file: first, middle, last
        mutated: Files = pristine.copy()
        mutated[f] = None
        result = pristine.verify(mutated)
        tried += 1
        if result.ok:
            undetected.append(f"delete file {f + 1}")
    tried += check_resigned_logs(pristine, undetected)
    assert tried >= 1000
    assert not undetected, undetected
    assert not misplaced, misplaced
    assert pristine.verify(pristine.copy()).ok  # and the untouched log still verifies


def check_resigned_logs(log: Log, undetected: list[str]) -> int:
    """Re-chain and re-sign everything with another key, after changing what a forger would
    like to change: the forgery is perfect under its own key, and must fail under ours."""
    variants: dict[str, Callable[[list[list[dict[str, Any]]]], None]] = {
        "nothing changed": lambda files: None,
        "a decision changed": lambda files: record_in(files[3])["body"].update(decision="ELIGIBLE"),
        "a record removed": lambda files: files[4].remove(record_in(files[4])),
        "a record added": lambda files: files[-1].insert(0, copy.deepcopy(record_in(files[-1]))),
    }
    for name, change in variants.items():
        entries = [[entry(line) for line in lines] for lines in log.files]
        change(entries)
        forged = rechain(entries, FORGER)
        if not log.verify(forged, FORGER).ok:
            raise AssertionError(f"re-signing ({name}) did not make a consistent forgery")
        result = log.verify(forged)
        if result.ok or result.first_break is None:
            undetected.append(f"re-signed with another key: {name}")
    return len(variants)


def record_in(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return next(item for item in entries if item["type"] == "record")


def rechain(files: list[list[dict[str, Any]]], key: Ed25519PrivateKey) -> Files:
    prev, seq, records, log_id, out = GENESIS, 0, 0, GENESIS, list[list[bytes] | None]()
    for entries in files:
        lines = []
        for item in entries:
            seq += 1
            item.update(seq=seq, prev=prev)
            if item["type"] == "checkpoint":
                item["body"] = spec_checkpoint_v2(
                    key, log_id=log_id, through_seq=seq - 1, chain_hash=prev, records=records,
                    reason=item["body"]["reason"], time=item["time"],
                )  # fmt: skip
            records += item["type"] == "record"
            line, prev = spec_line(prev, item)
            log_id = prev if seq == 1 else log_id
            lines.append(line)
        out.append(lines)
    return out


def test_a_log_cut_back_to_an_earlier_seal_shows_in_sealed_through(pristine: Log) -> None:
    """What no chain can tell alone: cut right after the first session's shutdown checkpoint,
    the log is exactly the log as it was then. An auditor who kept the last sealed_through
    sees it shrink."""
    full = pristine.verify(pristine.copy())
    f, n = next(
        (f, n + 1) for f, n in pristine.positions()
        if entry(pristine.files[f][n])["body"].get("reason") == "shutdown"
    )  # fmt: skip
    cut = pristine.verify(cut_at(pristine, f, n))
    assert cut.ok
    assert full.sealed_through is not None
    assert cut.sealed_through is not None
    assert cut.sealed_through < full.sealed_through
