"""Sharing-performance figures for a period, aggregated one record at a time: verifications,
requests refused by access control, and high-risk alerts.

Memory grows with the number of items, departments, documents, callers and rules, never with
the number of records: latency percentiles come from a log-scale histogram (1 % wide
buckets), so p50/p95 are within 1 % of the exact value and the maximum is exact.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from verifier.audit import AlertRecord, AuditRecord, RefusalRecord, UnauthenticatedRecord
from verifier.catalogue import Catalogue
from verifier.cli._audit_source import Period
from verifier.cli._audit_text import decision_text, table
from verifier.model import CallOutcome, DecisionOutcome, FactStatus

_BUCKET_GROWTH = 1.01
_LOG_GROWTH = math.log(_BUCKET_GROWTH)
DECISIONS = tuple(DecisionOutcome)


TOP_HOSTS = 20
"""Peer hosts shown with their unauthenticated calls (a scan can come from many)."""


def documents_spared(record: AuditRecord, catalogue: Catalogue) -> list[str]:
    """The paper documents a verification's KNOWN facts stood in for, each once, in fact
    order. Records written before facts carried their document use today's catalogue."""
    documents: dict[str, None] = {}
    for fact in record.facts:
        if fact.status is not FactStatus.KNOWN:
            continue
        definition = catalogue.facts.get(fact.fact)
        document = fact.replaces_document or (
            definition.replaces_document if definition is not None else None
        )
        if document:
            documents[document] = None
    return list(documents)


@dataclass
class LatencyHistogram:
    count: int = 0
    maximum: float = 0.0
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, milliseconds: float) -> None:
        self.count += 1
        self.maximum = max(self.maximum, milliseconds)
        bucket = math.ceil(math.log(milliseconds) / _LOG_GROWTH) if milliseconds > 0 else -(10**6)
        self.buckets[bucket] += 1

    def percentile(self, percent: float) -> float | None:
        if not self.count:
            return None
        rank = max(1, math.ceil(percent / 100 * self.count))
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                upper = _BUCKET_GROWTH**bucket if bucket > -(10**6) else 0.0
                return min(upper, self.maximum)
        return self.maximum


@dataclass
class DepartmentFigures:
    facts: int = 0
    known: int = 0
    cached: int = 0
    stale: int = 0
    unknown_by_reason: Counter[str] = field(default_factory=Counter)
    calls_not_ok: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @property
    def unknown(self) -> int:
        return self.facts - self.known

    def as_json(self) -> dict[str, Any]:
        return {
            "facts": self.facts,
            "known": self.known,
            "unknown": self.unknown,
            "unknown_rate": round(self.unknown / self.facts, 4) if self.facts else None,
            "unknown_by_reason": dict(sorted(self.unknown_by_reason.items())),
            "cached": self.cached,
            "stale": self.stale,
            "calls": self.latency.count,
            "calls_not_ok": self.calls_not_ok,
            "latency_ms": {
                "p50": _round(self.latency.percentile(50)),
                "p95": _round(self.latency.percentile(95)),
                "max": _round(self.latency.maximum if self.latency.count else None),
            },
        }


@dataclass
class AlertFigures:
    alerts: int = 0
    max_observed: int = 0
    threshold: int = 0


@dataclass
class RuleFigures:
    """One access rule: the refused requests it applied to, and the refused facts under it
    (0 for a rule that refuses a whole request, such as ``item_not_granted``)."""

    requests: int = 0
    facts: int = 0


class SharingReport:
    """Feed it records with ``add``; read the figures with ``as_json`` or ``render``."""

    def __init__(self, catalogue: Catalogue, period: Period) -> None:
        self._catalogue = catalogue
        self.period = period
        self.verifications = 0
        self.by_item: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.departments: defaultdict[str, DepartmentFigures] = defaultdict(DepartmentFigures)
        self.documents: Counter[str] = Counter()
        self.sparing_verifications = 0
        self.alerts: defaultdict[str, AlertFigures] = defaultdict(AlertFigures)
        self.refusals = 0
        self.refusal_rules: defaultdict[str, RuleFigures] = defaultdict(RuleFigures)
        self.refusal_callers: Counter[str] = Counter()
        self.refusal_items: Counter[str] = Counter()
        self.unauthenticated: Counter[str] = Counter()  # calls per reason
        self.unauthenticated_hosts: Counter[str] = Counter()

    def add(self, event: AuditRecord | AlertRecord | RefusalRecord | UnauthenticatedRecord) -> None:
        if isinstance(event, AlertRecord):
            self._add_alert(event)
        elif isinstance(event, UnauthenticatedRecord):
            self.unauthenticated.update(event.reasons)
            self.unauthenticated_hosts[event.peer_host or "(other hosts)"] += event.attempts
        elif isinstance(event, RefusalRecord):
            self._add_refusal(event)
        else:
            self._add_verification(event)

    def _add_refusal(self, record: RefusalRecord) -> None:
        self.refusals += 1
        self.refusal_callers[record.caller_system] += 1
        self.refusal_items[record.service_item] += 1
        for rule in dict.fromkeys(refusal.rule for refusal in record.refusals):
            self.refusal_rules[rule].requests += 1
        for refusal in record.refusals:
            self.refusal_rules[refusal.rule].facts += refusal.fact is not None

    def _add_alert(self, alert: AlertRecord) -> None:
        figures = self.alerts[alert.rule]
        figures.alerts += 1
        figures.max_observed = max(figures.max_observed, alert.observed)
        figures.threshold = alert.threshold

    def _add_verification(self, record: AuditRecord) -> None:
        self.verifications += 1
        self.by_item[record.service_item][decision_text(record)] += 1
        for fact in record.facts:
            department = self.departments[fact.department]
            department.facts += 1
            department.cached += fact.cached
            department.stale += fact.stale
            if fact.status is FactStatus.KNOWN:
                department.known += 1
            else:
                department.unknown_by_reason[str(fact.reason)] += 1
        documents = documents_spared(record, self._catalogue)
        self.documents.update(documents)
        self.sparing_verifications += bool(documents)
        for call in record.department_calls:
            department = self.departments[call.department]
            department.latency.add(call.duration_ms)
            department.calls_not_ok += call.outcome is not CallOutcome.OK

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {
                "since": self.period.since.isoformat() if self.period.since else None,
                "until": self.period.until.isoformat() if self.period.until else None,
            },
            "verifications": self.verifications,
            "by_item": {
                item: {"total": sum(counts.values()), **{d: counts[d] for d in DECISIONS}}
                for item, counts in sorted(self.by_item.items())
            },
            "by_decision": {d: sum(c[d] for c in self.by_item.values()) for d in DECISIONS},
            "departments": {
                name: figures.as_json() for name, figures in sorted(self.departments.items())
            },
            "documents_not_required": dict(self.documents.most_common()),
            "verifications_sparing_documents": self.sparing_verifications,
            "refusals": self.refusals,
            "refusals_by_rule": {
                rule: vars(figures) for rule, figures in sorted(self.refusal_rules.items())
            },
            "refusals_by_caller": dict(sorted(self.refusal_callers.items())),
            "refusals_by_item": dict(sorted(self.refusal_items.items())),
            "unauthenticated_calls": self.unauthenticated.total(),
            "unauthenticated_by_reason": dict(sorted(self.unauthenticated.items())),
            "unauthenticated_by_host": dict(self.unauthenticated_hosts.most_common(TOP_HOSTS)),
            "alerts": sum(figures.alerts for figures in self.alerts.values()),
            "alerts_by_rule": {
                rule: vars(figures) for rule, figures in sorted(self.alerts.items())
            },
        }

    def render(self) -> str:
        figures = self.as_json()
        departments: dict[str, dict[str, Any]] = figures["departments"]
        by_item = [
            (item, counts["total"], *(counts[d] for d in DECISIONS))
            for item, counts in figures["by_item"].items()
        ]
        by_item.append(("(all)", self.verifications, *figures["by_decision"].values()))
        sections = [
            [
                f"sharing report: {self.period.describe()}",
                f"{self.verifications} verifications; {self.sparing_verifications} spared the "
                "applicant at least one paper document",
                f"{self.refusals} request(s) refused by access control (no department called); "
                f"{figures['alerts']} high-risk alerts; "
                f"{figures['unauthenticated_calls']} unauthenticated call(s)",
            ],
            table("verifications per item and decision:", ("item", "total", *DECISIONS), by_item),
            table(
                "facts per department:",
                ("department", "facts", "known", "unknown", "unknown %", "cached", "stale"),
                [_fact_row(name, d) for name, d in departments.items()],
            ),
            table(
                "UNKNOWN facts by department and reason:",
                ("department", "reason", "facts", "% of its facts"),
                [
                    (name, reason, count, _percent(count / d["facts"]))
                    for name, d in departments.items()
                    for reason, count in d["unknown_by_reason"].items()
                ],
            ),
            table(
                "department latency (ms):",
                ("department", "calls", "not OK", "p50", "p95", "max"),
                [
                    (name, d["calls"], d["calls_not_ok"], *_latencies(d["latency_ms"]))
                    for name, d in departments.items()
                    if d["calls"]
                ],
            ),
            table(
                "documents no longer required (verifications that did without each):",
                ("document", "verifications"),
                figures["documents_not_required"].items(),
            ),
            table(
                "refused requests per access rule (requests it refused, facts it refused):",
                ("rule", "requests", "facts"),
                [
                    (rule, counts["requests"], counts["facts"])
                    for rule, counts in figures["refusals_by_rule"].items()
                ],
            ),
            table(
                "refused requests per caller system:",
                ("caller system", "requests"),
                figures["refusals_by_caller"].items(),
            ),
            table(
                "refused requests per item:",
                ("item", "requests"),
                figures["refusals_by_item"].items(),
            ),
            table(
                "unauthenticated calls per reason (no caller proven, no department called):",
                ("reason", "calls"),
                figures["unauthenticated_by_reason"].items(),
            ),
            table(
                f"unauthenticated calls per peer host (the {TOP_HOSTS} most):",
                ("peer host", "calls"),
                figures["unauthenticated_by_host"].items(),
            ),
            table(
                "alerts per rule:",
                ("rule", "alerts", "max observed", "threshold"),
                [
                    (rule, a["alerts"], a["max_observed"], a["threshold"])
                    for rule, a in figures["alerts_by_rule"].items()
                ],
            ),
        ]
        return "\n\n".join("\n".join(section) for section in sections)


def _fact_row(name: str, figures: dict[str, Any]) -> tuple[object, ...]:
    counts = (figures[key] for key in ("facts", "known", "unknown"))
    return (name, *counts, _percent(figures["unknown_rate"]), figures["cached"], figures["stale"])


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _latencies(latency: dict[str, float | None]) -> tuple[str, ...]:
    return tuple("-" if v is None else f"{v:.2f}" for v in latency.values())
