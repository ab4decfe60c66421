"""The audit log's bytes: one line per entry, each hash-linked to the one before.

A line is exactly ``{"hash":"<64 lowercase hex>","entry":<E>}`` and a newline, where ``E``
is the entry's canonical JSON (sorted keys, no spaces, UTF-8) and
``hash = sha256(previous hash + "\\n" + E)``. Readers take ``E`` by slicing the line at a
fixed offset, never by serialising again, so the bytes that were hashed are the bytes
that are checked.

JSON already escapes every control character. The Unicode line breaks it leaves raw
(U+2028, U+2029 and NEL, U+0085, which ``str.splitlines`` splits on) are escaped too, so no
tool can see a record boundary inside a record; so are lone surrogates, which cannot be
written as UTF-8 at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifier._errors import VerifierError

GENESIS = "0" * 64
"""The ``prev`` of the first entry."""

LINE_PREFIX = b'{"hash":"'
ENTRY_KEY = b'","entry":'
LINE_SUFFIX = b"}\n"
HASH_START = len(LINE_PREFIX)
ENTRY_START = HASH_START + 64 + len(ENTRY_KEY)
"""83: the entry's first byte."""

ENTRY_KEYS = frozenset({"seq", "prev", "type", "time", "body"})
ENTRY_TYPES = ("record", "checkpoint", "recovery")
CHECKPOINT_REASONS = ("periodic", "rotation", "shutdown")
CHECKPOINT_KEYS = frozenset({"chain_hash", "through_seq", "key_id", "signature", "reason"})
RECOVERY_KEYS = frozenset({"truncated_bytes", "reason"})
SIGNATURE_CONTEXT = b"onestop-verifier/audit-checkpoint/v1\n"

# Checkpoints and records can be told apart from a line's last bytes: "type" sorts last.
CHECKPOINT_ENDING = b',"type":"checkpoint"}}\n'
RECORD_ENDING = b',"type":"record"}}\n'

_HEX64 = re.compile(rb"[0-9a-f]{64}")
_HEX64_TEXT = re.compile(r"[0-9a-f]{64}")
_RAW_BREAKS = re.compile("[\u0085\u2028\u2029\ud800-\udfff]")
_FILE_NAME = re.compile(r"audit-(\d{6,})\.jsonl")


class AuditLogError(VerifierError):
    """The audit log cannot be read or continued: a damaged line (named by file and line),
    or a log the writer will not append to. A *tampered* log is reported by
    ``verify_audit_log`` instead; this error means it could not even be read."""


class MalformedLine(Exception):
    """A line that is not an audit entry; ``reason`` says what is wrong with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), without
# building a new encoder for every entry.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    return escape_raw_breaks(_CANONICAL.encode(value))


def escape_raw_breaks(text: str) -> str:
    """JSON text with the raw line breaks and lone surrogates JSON leaves escaped."""
    if _nothing_to_escape(text):
        return text
    return _RAW_BREAKS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _nothing_to_escape(text: str) -> bool:
    """Whether ``_RAW_BREAKS`` finds nothing, told several times faster than by searching
    with it (a record's text is rarely ASCII: its Chinese names and legal references)."""
    if text.isascii():
        return True
    if "\u2028" in text or "\u2029" in text or "\u0085" in text:
        return False
    try:
        text.encode("utf-8")  # fails on a lone surrogate, and only on one
    except UnicodeEncodeError:
        return False
    return True


def entry_json(seq: int, prev: str, entry_type: str, time: str, body_json: str) -> str:
    """``canonical_json`` of the whole entry, given its body's canonical JSON.

    Equal to ``canonical_json({"seq": …, "prev": …, …})`` (the keys in sorted order), but the
    body, the costly part, is serialised by the caller, outside the writer's ordered section.
    """
    return (
        f'{{"body":{body_json},"prev":"{prev}","seq":{seq},"time":"{time}","type":"{entry_type}"}}'
    )


def entry_hash(prev: str, entry: bytes) -> str:
    digest = hashlib.sha256(prev.encode("ascii"))
    digest.update(b"\n")
    digest.update(entry)
    return digest.hexdigest()


def chain_line(prev: str, entry: str) -> tuple[bytes, str]:
    """The line for ``entry`` following the entry whose hash is ``prev``, and its hash."""
    data = entry.encode("utf-8")
    digest = entry_hash(prev, data)
    return LINE_PREFIX + digest.encode("ascii") + ENTRY_KEY + data + LINE_SUFFIX, digest


def split_line(line: bytes) -> tuple[str, bytes]:
    """The hash a line claims and its entry's bytes, checking only the line's frame."""
    if not line.endswith(b"\n"):
        raise MalformedLine("incomplete line (no newline at the end: a torn write)")
    if (
        len(line) < ENTRY_START + len(LINE_SUFFIX) + 2
        or not line.startswith(LINE_PREFIX)
        or line[ENTRY_START - len(ENTRY_KEY) : ENTRY_START] != ENTRY_KEY
        or not line.endswith(LINE_SUFFIX)
    ):
        raise MalformedLine('not an audit line ({"hash":…,"entry":…})')
    digest = line[HASH_START : HASH_START + 64]
    if _HEX64.fullmatch(digest) is None:
        raise MalformedLine("the hash is not 64 lowercase hex digits")
    return digest.decode("ascii"), line[ENTRY_START : -len(LINE_SUFFIX)]


def decode_entry(data: bytes) -> dict[str, Any]:
    """The entry object, its fields' types checked (not the chain, not the body's content)."""
    try:
        entry = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedLine("the entry is not UTF-8") from None
    except ValueError:
        raise MalformedLine("the entry is not valid JSON") from None
    if not isinstance(entry, dict) or entry.keys() != ENTRY_KEYS:
        raise MalformedLine("the entry must have exactly seq, prev, type, time and body")
    seq, prev, entry_type = entry["seq"], entry["prev"], entry["type"]
    if type(seq) is not int or seq < 1:
        raise MalformedLine("seq is not a positive integer")
    if not isinstance(prev, str) or _HEX64_TEXT.fullmatch(prev) is None:
        raise MalformedLine("prev is not 64 lowercase hex digits")
    if entry_type not in ENTRY_TYPES:
        raise MalformedLine(f"unknown entry type {entry_type!r:.40}")
    if not isinstance(entry["body"], dict):
        raise MalformedLine("the body is not an object")
    parse_time(entry["time"])
    return entry


def parse_time(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    raise MalformedLine("time is not an ISO 8601 date-time with an offset")


def format_time(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: the form pydantic gives the records' own times."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    text = aware.astimezone(UTC).isoformat(timespec="microseconds")
    return text.removesuffix("+00:00") + "Z"


def checkpoint_message(through_seq: int, chain_hash: str) -> bytes:
    """What a checkpoint's Ed25519 signature covers."""
    return SIGNATURE_CONTEXT + str(through_seq).encode("ascii") + b"\n" + chain_hash.encode("ascii")


def log_file_name(number: int) -> str:
    return f"audit-{number:06d}.jsonl"


def log_files(directory: Path) -> list[tuple[int, Path]]:
    """The log's files, ``(number, path)`` in file order; other files are not the log's."""
    found = []
    for path in directory.iterdir():
        match = _FILE_NAME.fullmatch(path.name)
        if match is not None and path.name == log_file_name(int(match.group(1))):
            found.append((int(match.group(1)), path))
    return sorted(found)
