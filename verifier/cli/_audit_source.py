"""Reading the audit log for the auditor commands: where it is, which records match, what
they are about.

The log holds four kinds of record: verifications (a request answered), refusals (a request
refused by access control before any department was asked), high-risk alerts, and counts
of unauthenticated calls (per peer host and minute). ``query``,
``statement`` and the filters here deal in *requests*: verifications and refusals, both of
which name a caller, a service item and subjects.

Everything here streams: entries are read one at a time in sequence order and parsed into
the audit models as they go, so a query over a year of records holds one record at a time.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter, ValidationError

from verifier._errors import ConfigurationError
from verifier.audit import (
    AlertRecord,
    AuditEntry,
    AuditEvent,
    AuditLogError,
    AuditRecord,
    Pseudonymiser,
    RefusalRecord,
    UnauthenticatedRecord,
)
from verifier.cli._audit_stores import PUBLIC_KEY_FILE as PUBLIC_KEY_FILE
from verifier.cli._audit_stores import AuditSource, file_source
from verifier.cli._audit_stores import chains_in as chains_in
from verifier.config import VerifierConfig, pseudonymiser_for
from verifier.model import DecisionOutcome, parse_credit_code, parse_resident_id


def _local_zone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # no tz database on this host: China has kept +08:00 since 1991
        return timezone(timedelta(hours=8), "CST")


LOCAL_TIME = _local_zone()
Event = AuditRecord | AlertRecord | RefusalRecord | UnauthenticatedRecord
"""Any record of the log (``AuditEvent`` without its discriminator annotation)."""
Request = AuditRecord | RefusalRecord
"""A record of one request: answered (a verification) or refused by access control."""
_EVENT = TypeAdapter[Event](AuditEvent)


class RequestKind(StrEnum):
    """``--kind``: which requests to keep (the ``kind`` their records carry)."""

    VERIFICATION = "verification"
    REFUSAL = "refusal"


def pseudonymiser_from(config: VerifierConfig) -> Pseudonymiser:
    """The key the engine pseudonymised subjects with; read, never created here."""
    return pseudonymiser_for(config, create=False)


def subject_id(text: str) -> str:
    """argparse type for ``--subject``: a resident ID or credit code, normalised as the engine
    does (so ``…918x`` finds ``…918X``); ``-`` reads it from standard input, out of the shell
    history and the process list. Error messages never repeat the ID."""
    if text == "-":
        text = sys.stdin.readline().strip()
    try:
        return parse_subject(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_subject(text: str) -> str:
    """A resident ID or credit code, normalised as the engine does; ValueError (never
    repeating the ID) if it is neither."""
    problems = []
    for parse in (parse_resident_id, parse_credit_code):
        try:
            return parse(text)
        except ValueError as exc:
            problems.append(str(exc))
    raise ValueError(
        "not a valid resident ID or unified social credit code (" + "; ".join(problems) + ")"
    )


def moment(text: str) -> tuple[datetime, bool]:
    """An ISO date or date-time; without an offset it is local time (Asia/Shanghai).
    Returns the instant and whether only a date was given."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time(), LOCAL_TIME), True
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date (2026-08-31) or date-time (2026-08-31T09:30[+08:00])"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TIME)
    return parsed, False


def local_time(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class Period:
    """``[since, until)``; ``--until 2026-08-31`` includes that whole (local) day."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Period:
        return cls.between(args.since, args.until)

    @classmethod
    def between(
        cls, since: tuple[datetime, bool] | None, until: tuple[datetime, bool] | None
    ) -> Period:
        """From two ``moment`` values (either may be missing): a date ``until`` includes
        that whole day, a date-time ``until`` that instant."""
        start = since[0] if since else None
        end = None
        if until:
            instant, whole_day = until
            end = instant + (timedelta(days=1) if whole_day else timedelta(microseconds=1))
        if start is not None and end is not None and end <= start:
            raise ConfigurationError("--until must be later than --since")
        return cls(start, end)

    def contains(self, value: datetime) -> bool:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if self.since is not None and aware < self.since:
            return False
        return self.until is None or aware < self.until

    def describe(self) -> str:
        if self.since is None and self.until is None:
            return "all records"
        since = local_time(self.since) if self.since else "the first record"
        until = local_time(self.until) if self.until else "the last record"
        return f"{since} to {until} (Asia/Shanghai, end exclusive)"


@dataclass(frozen=True, slots=True)
class Located:
    """A parsed audit event with where it sits in the log."""

    event: Event
    entry: AuditEntry

    def where(self, directory: Path) -> str:
        file = self.entry.file
        try:
            shown = file.relative_to(directory)
        except ValueError:
            shown = file
        return f"{shown}:{self.entry.line}"


def read_events(source: AuditSource | Path) -> Iterator[Located]:
    """Every record entry of the trail (checkpoints and recovery markers skipped), parsed:
    chain by chain where workers or replicas wrote one each. A directory is its files'."""
    if isinstance(source, Path):
        source = file_source(source)
    for entry in (entry for chain in source.chains for entry in chain.entries()):
        if entry.type != "record":
            continue
        try:
            event = _EVENT.validate_python(entry.body)
        except ValidationError as exc:
            problem = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise AuditLogError(
                f"{entry.file}:{entry.line} (seq {entry.seq}): not an audit record "
                f"({where}: {problem['msg']})"
            ) from None
        yield Located(event, entry)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """What ``query`` (and ``statement``) keep; every given criterion must hold.

    A ``decision`` is only ever reached by a verification, so it keeps no refusal; a refusal
    ``rule`` only ever refuses, so it keeps no verification."""

    period: Period = Period()
    pseudonym: str | None = None
    caller: str | None = None
    item: str | None = None
    decision: DecisionOutcome | None = None
    kind: RequestKind | None = None
    rule: str | None = None

    def matches(self, record: Request) -> bool:
        if self.kind is not None and record.kind != self.kind:
            return False
        if not self.period.contains(record.time):
            return False
        if self.item is not None and record.service_item != self.item:
            return False
        if self.decision is not None and (
            not isinstance(record, AuditRecord) or record.decision != self.decision
        ):
            return False
        if self.rule is not None and (
            not isinstance(record, RefusalRecord)
            or all(refusal.rule != self.rule for refusal in record.refusals)
        ):
            return False
        if self.caller is not None and self.caller not in (
            record.caller_system,
            record.caller_department,
        ):
            return False
        return self.pseudonym is None or any(
            subject.pseudonym == self.pseudonym for subject in record.subjects
        )


@dataclass(frozen=True, slots=True)
class LocatedRequest:
    """A verification or refusal with where it sits in the log (``Located``, narrowed)."""

    record: Request
    located: Located


def requests(
    source: AuditSource | Path, criteria: RecordFilter, keys: Counter[str] | None = None
) -> Iterator[LocatedRequest]:
    """The verifications and refusals that match, in log order (alerts are not requests).

    ``keys`` counts the pseudonym-key fingerprints of every request read, matching or not
    (for ``check_pseudonym_key``)."""
    for located in read_events(source):
        event = located.event
        if not isinstance(event, AuditRecord | RefusalRecord):
            continue
        if keys is not None and event.pseudonym_key_fingerprint is not None:
            keys[event.pseudonym_key_fingerprint] += 1
        if criteria.matches(event):
            yield LocatedRequest(event, located)


def other_pseudonym_keys(given: Pseudonymiser, keys: Counter[str]) -> list[str]:
    """The fingerprints of the keys, other than ``given``, that requests were written with."""
    return sorted(fingerprint for fingerprint in keys if fingerprint != given.fingerprint)


def wrong_pseudonym_key(given: Pseudonymiser, keys: Counter[str], found: int) -> bool:
    """No request was written with ``given`` and nothing was found: the search was made with
    a key the log was not written with, and "nobody asked about this person" would be false."""
    return bool(other_pseudonym_keys(given, keys)) and given.fingerprint not in keys and not found


def check_pseudonym_key(given: Pseudonymiser, keys: Counter[str], found: int) -> None:
    """After a subject search found ``found`` requests: a search with a key the log was not
    written with finds nothing, which must not read as "nobody asked about this person".

    Raises ConfigurationError naming both fingerprints if no record was made with the given
    key; warns (standard error) of records made with another key it cannot search."""
    other = other_pseudonym_keys(given, keys)
    if not other:
        return
    if wrong_pseudonym_key(given, keys, found):
        raise ConfigurationError(
            f"wrong pseudonym key: the log's records were written with key "
            f"{', '.join(other)}, the key given is {given.fingerprint}; no subject can be "
            "found with it (set audit.pseudonym_key or audit.pseudonym_key_file)"
        )
    print(
        f"note: {sum(keys[fingerprint] for fingerprint in other)} request(s) were written with "
        f"another pseudonym key ({', '.join(other)}) and cannot be searched with this one "
        f"({given.fingerprint})",
        file=sys.stderr,
    )


def add_period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", type=moment, metavar="WHEN", help="ISO date or date-time (local unless offset)"
    )
    parser.add_argument(
        "--until", type=moment, metavar="WHEN", help="ISO date (whole day) or date-time, inclusive"
    )
