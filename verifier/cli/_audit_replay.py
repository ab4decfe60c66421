"""``verifier audit replay``: which recorded decisions would change under other rules.

The records of a period are re-evaluated from their recorded facts (``verifier.audit.replay``)
under the configured items, with ``--item-file`` items and ``--parameters`` dated parameters
in place of those of the same id or name: a new rule version, or a policy officer's "what if
the rental requirement were 6 months?". No department is asked, no adapter built.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from verifier.audit import AuditRecord, ReplayedDecision, ReplayReport, replay
from verifier.catalogue import load_catalogue
from verifier.cli._audit_source import Period, read_events
from verifier.cli._audit_stores import AuditSource, audit_source
from verifier.cli._audit_text import clean, mapping_json, table
from verifier.cli._local import config_from
from verifier.rules import load_what_if_items


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--item-file", action="append", type=Path, default=[], metavar="PATH",
        help="an item YAML replacing the configured item of its id (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--parameters", action="append", type=Path, default=[], metavar="PATH",
        help="a dated-parameter YAML whose parameters replace those of the same name "
        "(repeatable)",
    )  # fmt: skip
    parser.add_argument("--item", help="only records of this service item")
    parser.add_argument("--json", action="store_true", help="the report as one JSON document")


def run_replay(args: argparse.Namespace) -> int:
    config = config_from(args)
    items = load_what_if_items(
        load_catalogue(config.catalogue),
        config.items_dir,
        config.parameters_dir,
        item_files=args.item_file,
        parameter_files=args.parameters,
    )
    period = Period.from_args(args)
    with audit_source(args, config) as source:
        report = replay(_records(source, period, args.item), items)
    print(mapping_json(report_json(report)) if args.json else render_report(report))
    return 0


def _records(source: AuditSource, period: Period, item: str | None) -> Iterator[AuditRecord]:
    for located in read_events(source):
        record = located.event
        if not isinstance(record, AuditRecord) or not period.contains(record.time):
            continue
        if item is None or record.service_item == item:
            yield record


def render_report(report: ReplayReport) -> str:
    under = ", ".join(f"{rule} ({count})" for rule, count in sorted(report.rules.items()))
    lines = [
        "replay of recorded decisions (no department asked)",
        f"  under         {under or '-'}",
        f"  replayed      {report.replayed}",
        f"  unchanged     {report.unchanged}",
        f"  changed       {report.changed_count}",
    ]
    if report.skipped:
        skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(report.skipped.items()))
        lines.append(f"  not replayed  {skipped}")
    lines.append("")
    lines += table(
        "changes (recorded → replayed):",
        ("recorded", "replayed", "decisions"),
        [(old, new, count) for (old, new), count in sorted(report.changes.items())],
    )
    if report.not_recorded:
        lines.append("")
        lines += table(
            "facts the replayed rules read that the records do not hold (UNKNOWN in the replay):",
            ("fact", "decisions"),
            sorted(report.not_recorded.items()),
        )
    if report.changed:
        lines += ["", "changed decisions:"]
        lines += table(
            "",
            ("request", "item", "reference date", "recorded", "replayed", "why"),
            [_changed_row(decision) for decision in report.changed],
        )[1:]
    return "\n".join(lines)


def _changed_row(decision: ReplayedDecision) -> tuple[str, ...]:
    return (
        clean(decision.request_id),
        clean(decision.service_item),
        decision.reference_date.isoformat(),
        f"{decision.recorded} ({clean(decision.recorded_rule)})",
        f"{decision.replayed} ({clean(decision.replayed_rule)})",
        _why(decision),
    )


def _why(decision: ReplayedDecision) -> str:
    reasons = [
        f"{clean(name)} {clean(old)} → {clean(new)}"
        for name, (old, new) in decision.threshold_changes.items()
    ]
    if decision.recorded_rule != decision.replayed_rule:
        reasons.append("another rule version")
    if decision.not_recorded:
        reasons.append("not recorded: " + ", ".join(clean(n) for n in decision.not_recorded))
    return "; ".join(reasons) or "-"


def report_json(report: ReplayReport) -> dict[str, Any]:
    return {
        "under": dict(sorted(report.rules.items())),
        "replayed": report.replayed,
        "unchanged": report.unchanged,
        "changed": report.changed_count,
        "changes": [
            {"recorded": old, "replayed": new, "decisions": count}
            for (old, new), count in sorted(report.changes.items())
        ],
        "not_recorded": dict(sorted(report.not_recorded.items())),
        "skipped": {str(reason): count for reason, count in sorted(report.skipped.items())},
        "changed_decisions": [
            {
                "request_id": d.request_id,
                "service_item": d.service_item,
                "reference_date": d.reference_date.isoformat(),
                "recorded": d.recorded,
                "recorded_rule": d.recorded_rule,
                "replayed": d.replayed,
                "replayed_rule": d.replayed_rule,
                "not_recorded": list(d.not_recorded),
                "threshold_changes": {
                    name: {"recorded": old, "replayed": new}
                    for name, (old, new) in d.threshold_changes.items()
                },
            }
            for d in report.changed
        ],
    }
