"""Replay and what-if: recorded decisions re-evaluated from their recorded facts.

A verification's audit record holds every fact its decision read, as a status value (or
UNKNOWN), with the roles the application named and its reference date. That is all a rule
needs: ``replay`` evaluates each record's facts under the items given — another rule
version (an item file), or the same item with changed dated parameters — and reports which
decisions would change. No department is asked again; nothing but the records is read.

A fact the replayed rule reads that the record does not hold (a new rule's new clause) is
UNKNOWN in the replay, as a department that did not answer would be, and is reported
(``not_recorded``), so a NEEDS_REVIEW that only a missing fact caused is told apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from verifier._errors import InvalidApplication, UnknownServiceItem
from verifier.audit._record import AuditRecord, ThresholdValue
from verifier.model import DecisionOutcome
from verifier.rules import ItemRegistry

MAX_REPORTED_IDS = 1_000
"""Request ids kept per change (recorded → replayed): the counts are exact however many
records a replay reads; the ids an auditor follows up are bounded."""


class SkipReason(StrEnum):
    """Why a record was not replayed."""

    CANCELLED = "cancelled"
    """The verification was cancelled: it has no decision to compare."""
    UNKNOWN_ITEM = "unknown_item"
    """The items replayed under have no item of the record's id."""
    BEFORE_THRESHOLDS = "before_thresholds"
    """A threshold of the replayed item had no value yet on the record's reference date."""


@dataclass(frozen=True, slots=True)
class ReplayedDecision:
    """One recorded decision and what it would be under the replayed items."""

    request_id: str
    service_item: str
    reference_date: date
    recorded_rule: str
    """``<item>@<version>`` the decision was made under."""
    replayed_rule: str
    recorded: DecisionOutcome
    replayed: DecisionOutcome
    not_recorded: tuple[str, ...]
    """Facts the replayed rule reads that the record does not hold: UNKNOWN in the replay."""
    threshold_changes: Mapping[str, tuple[ThresholdValue | None, ThresholdValue | None]]
    """Thresholds in force that differ (recorded, replayed); None where one side has none.
    Empty for a record written before traces were kept."""

    @property
    def changed(self) -> bool:
        return self.recorded is not self.replayed


@dataclass(slots=True)
class ReplayReport:
    """What a replay found: counts per change, and (bounded) the decisions that changed."""

    replayed: int = 0
    unchanged: int = 0
    changes: Counter[tuple[DecisionOutcome, DecisionOutcome]] = field(default_factory=Counter)
    """(recorded, replayed) → how many decisions changed so."""
    changed: list[ReplayedDecision] = field(default_factory=list)
    """The changed decisions, in log order: at most ``MAX_REPORTED_IDS`` per change."""
    not_recorded: Counter[str] = field(default_factory=Counter)
    """Fact name → replayed decisions that read it though their record does not hold it."""
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    """Replayed rule version (``<item>@<version>``) → decisions replayed under it."""

    @property
    def changed_count(self) -> int:
        return sum(self.changes.values())

    def add(self, decision: ReplayedDecision) -> None:
        self.replayed += 1
        self.rules[decision.replayed_rule] += 1
        self.not_recorded.update(decision.not_recorded)
        if not decision.changed:
            self.unchanged += 1
            return
        key = (decision.recorded, decision.replayed)
        self.changes[key] += 1
        if self.changes[key] <= MAX_REPORTED_IDS:
            self.changed.append(decision)


def replay(records: Iterable[AuditRecord], items: ItemRegistry) -> ReplayReport:
    """Re-evaluate each record's facts under ``items`` (the what-if rules) and count the
    decisions that would change. Reads nothing but ``records``; one at a time."""
    report = ReplayReport()
    for record in records:
        if record.decision is None:
            report.skipped[SkipReason.CANCELLED] += 1
            continue
        try:
            decision = replay_decision(record, items)
        except UnknownServiceItem:
            report.skipped[SkipReason.UNKNOWN_ITEM] += 1
        except InvalidApplication:
            report.skipped[SkipReason.BEFORE_THRESHOLDS] += 1
        else:
            report.add(decision)
    return report


def replay_decision(record: AuditRecord, items: ItemRegistry) -> ReplayedDecision:
    """One record's decision under ``items``. Raises ``UnknownServiceItem`` if they have no
    item of its id, ``InvalidApplication`` if that item's thresholds had no value yet on
    its reference date, ``ValueError`` for a cancelled record (no decision)."""
    if record.decision is None:
        raise ValueError(f"request {record.request_id!r} was cancelled: it has no decision")
    item = items.get(record.service_item)
    rule = item.rule_at(record.reference_date)
    values = {fact.name: fact.value for fact in record.facts}
    roles = {subject.role for subject in record.subjects}
    replayed = rule.evaluate(values, roles)
    recorded_thresholds = record.trace.thresholds if record.trace is not None else None
    return ReplayedDecision(
        request_id=record.request_id,
        service_item=record.service_item,
        reference_date=record.reference_date,
        recorded_rule=f"{record.service_item}@{record.item_version}",
        replayed_rule=item.rule_version,
        recorded=record.decision,
        replayed=replayed.outcome,
        not_recorded=tuple(name for name in item.fact_names_for(roles) if name not in values),
        threshold_changes=_threshold_changes(recorded_thresholds, rule.thresholds),
    )


def _threshold_changes(
    recorded: Mapping[str, ThresholdValue] | None, replayed: Mapping[str, ThresholdValue]
) -> dict[str, tuple[ThresholdValue | None, ThresholdValue | None]]:
    if recorded is None:
        return {}
    return {
        name: (recorded.get(name), replayed.get(name))
        for name in sorted(recorded.keys() | replayed.keys())
        if recorded.get(name) != replayed.get(name)
    }
