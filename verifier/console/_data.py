"""What each console page shows, read from the audit log: no web framework here.

The readers are the auditor commands' own (``verifier.cli._audit_source``): every page
streams the log one record at a time, so memory is bounded by what a page shows (at most
``max_rows`` rows, and figures per department, item and time bucket), never by the log.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from verifier._errors import ConfigurationError
from verifier.audit import (
    AlertRecord,
    AuditedFact,
    AuditedRefusal,
    AuditLogError,
    AuditRecord,
    ChainVerification,
    Pseudonymiser,
    RefusalRecord,
    UnauthenticatedRecord,
    Witness,
    WitnessError,
    load_public_key,
)
from verifier.catalogue import Catalogue
from verifier.cli._audit import facts_about, refusals_about
from verifier.cli._audit_report import LatencyHistogram, SharingReport
from verifier.cli._audit_source import (
    LocatedRequest,
    Period,
    RecordFilter,
    other_pseudonym_keys,
    read_events,
    requests,
    wrong_pseudonym_key,
)
from verifier.cli._audit_stores import AuditSource
from verifier.model import FactStatus
from verifier.rules import ItemRegistry


@dataclass(frozen=True, slots=True)
class KeyNote:
    """What the console says when the pseudonym key does not fit the log."""

    wrong: bool
    logged: tuple[str, ...]
    given: str
    other_requests: int


def key_note(given: Pseudonymiser, keys: Counter[str], found: int) -> KeyNote | None:
    other = other_pseudonym_keys(given, keys)
    if not other:
        return None
    return KeyNote(
        wrong=wrong_pseudonym_key(given, keys, found),
        logged=tuple(other),
        given=given.fingerprint,
        other_requests=sum(keys[fingerprint] for fingerprint in other),
    )


@dataclass(frozen=True, slots=True)
class Search:
    rows: list[LocatedRequest]
    total: int
    keys: Counter[str]


def search(source: AuditSource, criteria: RecordFilter, limit: int) -> Search:
    """The first ``limit`` matching requests (log order) and how many matched in all."""
    rows: list[LocatedRequest] = []
    total = 0
    keys: Counter[str] = Counter()
    for found in requests(source, criteria, keys):
        total += 1
        if len(rows) < limit:
            rows.append(found)
    return Search(rows, total, keys)


def find_request(source: AuditSource, request_id: str) -> LocatedRequest | None:
    for found in requests(source, RecordFilter()):
        if found.record.request_id == request_id:
            return found
    return None


@dataclass(slots=True)
class Incidents:
    """Refused requests, high-risk alerts and unauthenticated calls of a period."""

    refusals: list[LocatedRequest] = field(default_factory=list)
    refusal_total: int = 0
    alerts: list[AlertRecord] = field(default_factory=list)
    alert_total: int = 0
    unauthenticated: list[UnauthenticatedRecord] = field(default_factory=list)
    unauthenticated_total: int = 0


def incidents(source: AuditSource, period: Period, limit: int) -> Incidents:
    found = Incidents()
    for located in read_events(source):
        event = located.event
        if isinstance(event, AuditRecord) or not period.contains(event.time):
            continue
        if isinstance(event, RefusalRecord):
            found.refusal_total += 1
            if len(found.refusals) < limit:
                found.refusals.append(LocatedRequest(event, located))
        elif isinstance(event, AlertRecord):
            found.alert_total += 1
            if len(found.alerts) < limit:
                found.alerts.append(event)
        else:
            found.unauthenticated_total += 1
            if len(found.unauthenticated) < limit:
                found.unauthenticated.append(event)
    return found


@dataclass(frozen=True, slots=True)
class ChainStatus:
    name: str
    result: ChainVerification | None
    error: str | None
    """Why it could not be checked (no public key, unreadable file, witness down)."""


def chain_status(source: AuditSource, witness: Witness | None) -> list[ChainStatus]:
    """``verifier audit verify --allow-open-tail`` for each chain: the console reads a
    live log, whose last entries are not yet sealed by a checkpoint."""
    if not source.chains:
        return [ChainStatus(source.description, None, "no audit chain")]
    statuses = []
    for chain in source.chains:
        try:
            if not chain.public_key_file.is_file():
                raise AuditLogError(f"public key {chain.public_key_file} does not exist")
            result = chain.verify(load_public_key(chain.public_key_file), True, witness)
        except (AuditLogError, WitnessError, ConfigurationError) as exc:
            statuses.append(ChainStatus(chain.name, None, str(exc)))
            continue
        statuses.append(ChainStatus(chain.name, result, None))
    return statuses


BUCKETS = (
    ("minute", timedelta(minutes=1)),
    ("hour", timedelta(hours=1)),
    ("day", timedelta(days=1)),
    ("week", timedelta(weeks=1)),
)
MAX_BUCKETS = 400
"""Past this many time buckets the timeline merges into the next coarser size."""
MAX_POINTS = 60
"""Points a chart shows at most: the finest bucket size that fits is drawn."""


@dataclass
class BucketFigures:
    facts: int = 0
    unknown: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def merge(self, other: BucketFigures) -> None:
        self.facts += other.facts
        self.unknown += other.unknown
        self.latency.count += other.latency.count
        self.latency.maximum = max(self.latency.maximum, other.latency.maximum)
        self.latency.buckets.update(other.latency.buckets)


class Timeline:
    """Per department and time bucket: facts, UNKNOWN facts and call latencies.

    Buckets start a minute wide and grow (hour, day, week) whenever there would be more than
    ``MAX_BUCKETS``: memory stays bounded over any period, and a short log still shows its
    shape."""

    def __init__(self) -> None:
        self.level = 0
        self.buckets: defaultdict[int, defaultdict[str, BucketFigures]] = defaultdict(
            lambda: defaultdict(BucketFigures)
        )

    @property
    def size(self) -> timedelta:
        return BUCKETS[self.level][1]

    @property
    def name(self) -> str:
        return BUCKETS[self.level][0]

    def add(self, record: AuditRecord) -> None:
        bucket = self.buckets[self._index(record.time)]
        for fact in record.facts:
            figures = bucket[fact.department]
            figures.facts += 1
            figures.unknown += fact.status is FactStatus.UNKNOWN
        for call in record.department_calls:
            bucket[call.department].latency.add(call.duration_ms)
        while len(self.buckets) > MAX_BUCKETS and self.level < len(BUCKETS) - 1:
            self._coarsen()

    def _index(self, moment: datetime) -> int:
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return int(aware.timestamp() // self.size.total_seconds())

    def _coarsen(self) -> None:
        self.buckets = self._merged(self.level, self.level + 1)
        self.level += 1

    def _merged(self, level: int, target: int) -> defaultdict[int, defaultdict[str, BucketFigures]]:
        ratio = BUCKETS[target][1] / BUCKETS[level][1]
        merged: defaultdict[int, defaultdict[str, BucketFigures]] = defaultdict(
            lambda: defaultdict(BucketFigures)
        )
        for index, departments in self.buckets.items():
            into = merged[int(index // ratio)]
            for department, figures in departments.items():
                into[department].merge(figures)
        return merged

    def span(
        self, most: int = MAX_POINTS
    ) -> tuple[str, list[tuple[datetime, dict[str, BucketFigures]]]]:
        """The bucket size shown and every bucket from the first to the last, at the finest
        size that needs at most ``most`` points (empty buckets included: a gap in time is a
        gap in the chart)."""
        if not self.buckets:
            return self.name, []
        level, buckets = self.level, self.buckets
        while max(buckets) - min(buckets) + 1 > most and level < len(BUCKETS) - 1:
            buckets = self._merged(self.level, level + 1)
            level += 1
        seconds = BUCKETS[level][1].total_seconds()
        first, last = min(buckets), max(buckets)
        return BUCKETS[level][0], [
            (datetime.fromtimestamp(index * seconds, UTC), dict(buckets.get(index, {})))
            for index in range(first, last + 1)
        ]

    def departments(self) -> list[str]:
        return sorted({name for figures in self.buckets.values() for name in figures})


def dashboard(
    source: AuditSource, catalogue: Catalogue, period: Period
) -> tuple[SharingReport, Timeline]:
    report = SharingReport(catalogue, period)
    timeline = Timeline()
    for located in read_events(source):
        event = located.event
        if not period.contains(event.time):
            continue
        report.add(event)
        if isinstance(event, AuditRecord):
            timeline.add(event)
    return report, timeline


@dataclass(frozen=True, slots=True)
class StatementAccess:
    """One request about the citizen: what was read about them, or why it was refused."""

    found: LocatedRequest
    roles: list[str]
    facts: list[AuditedFact]
    unattributed: int
    refusals: list[AuditedRefusal]
    refusals_about_others: list[str]


@dataclass(frozen=True, slots=True)
class Statement:
    accesses: list[StatementAccess]
    masked: str | None
    """The citizen's masked ID as the records hold it (None: no record names them)."""
    keys: Counter[str]

    @property
    def read(self) -> int:
        return sum(isinstance(a.found.record, AuditRecord) for a in self.accesses)

    @property
    def refused(self) -> int:
        return len(self.accesses) - self.read


def statement(
    source: AuditSource, pseudonym: str, period: Period, items: ItemRegistry
) -> Statement:
    """Every request about the subject with this pseudonym in the period, as ``verifier
    audit statement`` shows it: only the facts read about them, never their family's."""
    accesses = []
    masked = None
    keys: Counter[str] = Counter()
    for found in requests(source, RecordFilter(period=period, pseudonym=pseudonym), keys):
        record = found.record
        mine = [s for s in record.subjects if s.pseudonym == pseudonym]
        masked = masked or mine[0].masked
        roles = [s.role for s in mine]
        accesses.append(_access(found, roles, items))
    return Statement(accesses, masked, keys)


def _access(found: LocatedRequest, roles: list[str], items: ItemRegistry) -> StatementAccess:
    record = found.record
    if isinstance(record, RefusalRecord):
        refused, others, unattributed = refusals_about(record, set(roles), items)
        return StatementAccess(found, roles, [], 0, refused, [*others, *unattributed])
    facts, unattributed_facts = facts_about(record, set(roles), items)
    return StatementAccess(found, roles, facts, unattributed_facts, [], [])
