"""``verifier audit …``: the auditor's commands over the tamper-evident audit log.

    verify      is the log intact? (hash chain + signed checkpoints + the witness's latest
                checkpoint: INTACT, UNSEALED, TRUNCATED or BROKEN; exit 1 if not INTACT)
    query       which requests match: verifications and refusals (subject, caller, item,
                period, decision, kind, refusal rule)
    show        one verification or refusal in full, with its place in the log
    explain     why one decision came out as it did: its clauses, thresholds, parameters
                and rule version, with the facts each clause read (from its trace)
    replay      which recorded decisions of a period would change under another rule
                version or changed dated parameters (what-if), asking no department
    report      sharing-performance figures for a period, refusals and alerts included
    retire      (PostgreSQL store) drop months before a date, each chain sealed there by a
                signed checkpoint exported first
    statement   for a citizen: who read which facts about them, when, and why; and which
                requests about them access control refused (nothing was read for those)

Errors (no log, a bad key, an unreadable line) print one message naming the file and line
and exit 2, so a script can tell "broken" (1) from "could not check" (2).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from verifier._errors import ConfigurationError
from verifier.audit import (
    AuditedFact,
    AuditedRefusal,
    AuditLogError,
    AuditRecord,
    ChainVerification,
    RefusalRecord,
    Witness,
    WitnessError,
    load_public_key,
    open_witness,
)
from verifier.catalogue import load_catalogue
from verifier.cli._audit_explain import explanation_json, render_explanation
from verifier.cli._audit_replay import add_replay_arguments, run_replay
from verifier.cli._audit_report import SharingReport
from verifier.cli._audit_retire import add_retire_arguments, run_retire
from verifier.cli._audit_source import (
    Located,
    Period,
    RecordFilter,
    RequestKind,
    add_period_arguments,
    check_pseudonym_key,
    pseudonymiser_from,
    read_events,
    requests,
    subject_id,
)
from verifier.cli._audit_stores import (
    PUBLIC_KEY_FILE,
    AuditChain,
    AuditSource,
    add_source_arguments,
    audit_source,
)
from verifier.cli._audit_text import (
    QUERY_HEADER,
    StreamingTable,
    json_line,
    mapping_json,
    query_cells,
    render_access,
    render_refusal,
    render_refused_access,
    render_verification,
)
from verifier.cli._local import add_config_arguments, config_from
from verifier.config import witness_for
from verifier.model import DecisionOutcome, mask_identifier
from verifier.rules import ItemRegistry, load_service_items

Command = Callable[[argparse.Namespace], int]


def add_audit_commands(commands: Any) -> None:
    """Register ``verifier audit`` and its sub-commands on the top-level sub-parsers."""
    audit = commands.add_parser("audit", help="verify and inspect the audit log (auditors)")
    actions = audit.add_subparsers(dest="audit_command", required=True)

    verify = _command(actions, "verify", "check the hash chain and checkpoint signatures")
    verify.add_argument(
        "--public-key", metavar="PATH", help=f"default: <audit dir>/{PUBLIC_KEY_FILE}"
    )
    verify.add_argument(
        "--allow-open-tail", action="store_true",
        help="a live log: accept entries after the last checkpoint (and count them)",
    )  # fmt: skip
    witness = verify.add_mutually_exclusive_group()
    witness.add_argument(
        "--witness", metavar="URL_OR_PATH",
        help="the witness of the log's checkpoints: a witness file, postgresql+psycopg://… or "
        "redis://… (default: audit.witness from the configuration)",
    )  # fmt: skip
    witness.add_argument(
        "--no-witness", action="store_true",
        help="check the log alone (a log cut back to an earlier checkpoint then goes unseen)",
    )  # fmt: skip
    verify.set_defaults(run=run_verify)

    query = _command(actions, "query", "list the requests (verifications, refusals) that match")
    query.add_argument(
        "--subject", type=subject_id, metavar="ID",
        help="resident ID or credit code, hashed with the pseudonym key (- reads it from stdin)",
    )  # fmt: skip
    query.add_argument("--caller", help="caller system or department")
    query.add_argument("--item", help="service item id")
    query.add_argument(
        "--decision", type=str.upper, choices=[d.value for d in DecisionOutcome],
        help="verifications that reached this decision (refusals reach none)",
    )  # fmt: skip
    query.add_argument(
        "--kind", type=str.lower, choices=[k.value for k in RequestKind],
        help="only verifications, or only requests refused by access control",
    )  # fmt: skip
    query.add_argument(
        "--rule", metavar="RULE",
        help="refusals by this access rule, e.g. not_shared, no_consent, item_not_granted",
    )  # fmt: skip
    add_period_arguments(query)
    query.add_argument("--json", action="store_true", help="one JSON object per line")
    query.set_defaults(run=run_query)

    show = _command(actions, "show", "one verification or refusal in full")
    show.add_argument("request_id", metavar="REQUEST_ID")
    show.add_argument("--json", action="store_true", help="the record as JSON")
    show.set_defaults(run=run_show)

    explain = _command(actions, "explain", "why one decision came out as it did")
    explain.add_argument("request_id", metavar="REQUEST_ID")
    explain.add_argument("--json", action="store_true", help="the trace and facts as JSON")
    explain.set_defaults(run=run_explain)

    replay = _command(
        actions, "replay", "re-evaluate recorded decisions under other rules (what-if)"
    )
    add_period_arguments(replay)
    add_replay_arguments(replay)
    replay.set_defaults(run=_reports_log_errors(run_replay))

    report = _command(actions, "report", "sharing-performance figures for a period")
    add_period_arguments(report)
    report.add_argument("--json", action="store_true", help="the figures as one JSON document")
    report.set_defaults(run=run_report)

    statement = _command(
        actions, "statement", "for a citizen: who read what about them, and what was refused"
    )
    statement.add_argument("--subject", type=subject_id, metavar="ID", required=True,
                           help="resident ID or credit code (- reads it from stdin)")  # fmt: skip
    add_period_arguments(statement)
    statement.add_argument("--json", action="store_true", help="one JSON object per access")
    statement.set_defaults(run=run_statement)

    retire = _command(actions, "retire", "PostgreSQL store: drop old months behind a checkpoint")
    add_retire_arguments(retire)
    retire.set_defaults(run=_reports_log_errors(run_retire))


def _command(actions: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
    add_config_arguments(parser)
    add_source_arguments(parser)
    return parser


def _reports_log_errors(command: Command) -> Command:
    """An unreadable log is "could not check" (exit 2), never confused with "broken" (1)."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except AuditLogError as exc:
            print(f"audit log error: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            # `verifier audit query | head`: the reader has seen enough; no traceback.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return run


@_reports_log_errors
def run_verify(args: argparse.Namespace) -> int:
    config = config_from(args)
    witness = (
        None
        if args.no_witness
        else open_witness(args.witness)
        if args.witness
        else witness_for(config)
    )
    # One chain, or one per worker of `verifier serve --workers` or per replica of the
    # PostgreSQL store: each verified alone.
    reports = []
    try:
        with audit_source(args, config) as source:
            if not source.chains:
                raise AuditLogError(f"{source.description}: no audit chain")
            for chain in source.chains:
                key_path = Path(args.public_key) if args.public_key else chain.public_key_file
                if not key_path.is_file():
                    raise ConfigurationError(
                        f"public key {key_path} does not exist (pass --public-key)"
                    )
                public_key = load_public_key(key_path)  # ConfigurationError naming the file
                result = chain.verify(public_key, args.allow_open_tail, witness)
                reports.append((chain, key_path, result, source.root))
    except WitnessError as exc:
        print(f"witness error: {exc}", file=sys.stderr)
        return 2
    finally:
        if witness is not None:
            witness.close()
    # A log whose only fault is a missing closing checkpoint is live or cut short: not
    # proven, and worth telling apart from one whose bytes were changed.
    print(
        "\n\n".join(
            "\n".join(_verification_lines(chain, root, key_path, result, witness))
            for chain, key_path, result, root in reports
        )
    )
    return 0 if all(result.ok for _, _, result, _ in reports) else 1


def _verification_lines(
    chain: AuditChain, root: Path, key: Path, result: ChainVerification, witness: Witness | None
) -> list[str]:
    sealed, unsealed = result.sealed_through, result.unsealed
    state = result.state
    lines = [
        f"audit log {chain.name}: {state}",
        f"  public key      {key}",
        f"  log id          {result.log_id[:16] if result.log_id else 'none (no entry)'}",
        f"  witness         {_witnessed(result, witness)}",
        f"  entries         {result.entries} ({_count(result.records, 'record')}, "
        f"{_count(result.checkpoints, 'signed checkpoint')})"
        + (" before the break" if state == "BROKEN" else ""),
        f"  sealed through  seq {sealed}" if sealed is not None else "  sealed through  nothing",
    ]
    if result.retired is not None:
        retired = result.retired
        lines.append(
            f"  retired         seq 1 to {retired.through_seq + 1} ({retired.reason} checkpoint "
            f"of {retired.time}, {_count(retired.records, 'record')}): verified from there"
        )
    if result.ok or unsealed or result.truncated:
        tail = _count(result.open_tail, "entry", "entries")
        lines.append(f"  open tail       {tail} not yet sealed by a checkpoint")
    broken = result.first_break
    if broken is None:
        return lines
    directory = Path(chain.name) if root.parts else root
    try:
        where = broken.file.relative_to(directory)
    except ValueError:
        where = broken.file
    place = f"{where}:{broken.line}" if broken.line else str(where)
    seq = f" (seq {broken.seq})" if broken.seq is not None else ""
    lines.append(f"  first break     {place}{seq}: {broken.reason}")
    if unsealed:
        lines.append("  (a live log? --allow-open-tail accepts entries not yet sealed)")
    else:
        proven = (
            f"seq 1 to {sealed} (sealed by a valid checkpoint before the break)"
            if sealed is not None
            else "no entry (no valid checkpoint before the break)"
        )
        lines.append(f"  proven intact   {proven}")
    return lines


def _witnessed(result: ChainVerification, witness: Witness | None) -> str:
    if witness is None:
        return "not consulted: a log cut back to an earlier checkpoint would go unseen"
    held = result.witnessed
    if held is None:
        return f"{witness!r} holds no checkpoint of this log"
    return (
        f"{witness!r}: latest checkpoint seq {held.through_seq + 1} ({held.reason}, "
        f"{_count(held.records, 'record')}, {held.time})"
    )


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


@_reports_log_errors
def run_query(args: argparse.Namespace) -> int:
    config = config_from(args)
    with audit_source(args, config) as source:
        pseudonymiser = pseudonymiser_from(config) if args.subject else None
        criteria = RecordFilter(
            period=Period.from_args(args),
            pseudonym=pseudonymiser.pseudonym(args.subject) if pseudonymiser else None,
            caller=args.caller,
            item=args.item,
            decision=DecisionOutcome(args.decision) if args.decision else None,
            kind=RequestKind(args.kind) if args.kind else None,
            rule=args.rule,
        )
        rows = StreamingTable(QUERY_HEADER, print)
        refused = found_count = 0
        keys: Counter[str] = Counter()
        for found in requests(source, criteria, keys):
            found_count += 1
            refused += isinstance(found.record, RefusalRecord)
            if args.json:
                print(json_line(found.located, source.root))
            else:
                rows.add(query_cells(found.record))
        if pseudonymiser is not None:
            check_pseudonym_key(pseudonymiser, keys, found_count)
        if not args.json:
            rows.flush()
            print(_matched(rows.rows, refused))
        return 0


def _matched(total: int, refused: int) -> str:
    verified = total - refused
    if not total:
        return "no verification or refused request matched"
    if not refused:
        return f"{verified} verification(s) matched"
    if not verified:
        return f"{refused} refused request(s) matched"
    return f"{total} request(s) matched: {verified} verification(s), {refused} refused"


@_reports_log_errors
def run_show(args: argparse.Namespace) -> int:
    with audit_source(args, config_from(args)) as source:
        located = _requested(source, args.request_id)
        if located is None:
            return 1
        if args.json:
            print(json_line(located, source.root))
        elif isinstance(located.event, RefusalRecord):
            print(render_refusal(located, source.root))
        else:
            print(render_verification(located, source.root))
        return 0


@_reports_log_errors
def run_explain(args: argparse.Namespace) -> int:
    with audit_source(args, config_from(args)) as source:
        located = _requested(source, args.request_id)
        if located is None:
            return 1
        if isinstance(located.event, RefusalRecord):
            print(render_refusal(located, source.root))
            print("\nrefused by access control: no rule was evaluated, no department asked")
        elif args.json:
            print(mapping_json(explanation_json(located)))
        else:
            print(render_explanation(located))
        return 0


def _requested(source: AuditSource, request_id: str) -> Located | None:
    """The verification or refusal of ``request_id`` (None, said on stderr, if none)."""
    for located in read_events(source):
        record = located.event
        # Alerts and unauthenticated counts answer no request.
        if isinstance(record, AuditRecord | RefusalRecord) and record.request_id == request_id:
            return located
    print(
        f"no verification or refusal with request id {request_id!r} in {source.description}",
        file=sys.stderr,
    )
    return None


@_reports_log_errors
def run_report(args: argparse.Namespace) -> int:
    config = config_from(args)
    with audit_source(args, config) as source:
        period = Period.from_args(args)
        report = SharingReport(load_catalogue(config.catalogue), period)
        for located in read_events(source):
            if period.contains(located.event.time):
                report.add(located.event)
        print(mapping_json(report.as_json()) if args.json else report.render())
        return 0


@_reports_log_errors
def run_statement(args: argparse.Namespace) -> int:
    config = config_from(args)
    with audit_source(args, config) as source:
        pseudonymiser = pseudonymiser_from(config)
        pseudonym = pseudonymiser.pseudonym(args.subject)
        catalogue = load_catalogue(config.catalogue)
        items = load_service_items(catalogue, config.items_dir, config.parameters_dir)
        criteria = RecordFilter(period=Period.from_args(args), pseudonym=pseudonym)
        if not args.json:
            print(f"access statement for subject {mask_identifier(args.subject)}")
            print(f"period: {criteria.period.describe()}\n")
        accesses = refused = 0
        keys: Counter[str] = Counter()
        for found in requests(source, criteria, keys):
            record, seq = found.record, found.located.entry.seq
            roles = [s.role for s in record.subjects if s.pseudonym == pseudonym]
            if isinstance(record, RefusalRecord):
                about = refusals_about(record, set(roles), items)
                refused += 1
                if args.json:
                    print(json.dumps(_refused_json(seq, record, roles, about), ensure_ascii=False))
                else:
                    print(render_refused_access(record, roles, *about) + "\n")
                continue
            facts, unattributed = facts_about(record, set(roles), items)
            accesses += 1
            if args.json:
                print(json.dumps(_access_json(seq, record, roles, facts, unattributed),
                                 ensure_ascii=False))  # fmt: skip
            else:
                print(render_access(record, roles, facts, unattributed) + "\n")
        check_pseudonym_key(pseudonymiser, keys, accesses + refused)
        if not args.json:
            print(f"{accesses} access(es) recorded")
            if refused:
                print(
                    f"{refused} request(s) refused by access control: no department data was read"
                )
        return 0


def facts_about(
    record: AuditRecord, roles: set[str], items: ItemRegistry
) -> tuple[list[AuditedFact], int]:
    """The facts of a verification whose subject slots were bound to one of ``roles``, and
    how many could not be attributed (older records without roles, whose item definition
    no longer names that fact).

    The record names each fact by the item's own name for it; the item binds that name's
    subject slots to application roles (``spouse_owns_no_home`` → ``spouse``), so a citizen's
    statement never shows what was read about their spouse or child."""
    item = items.get(record.service_item) if record.service_item in items else None
    about, unattributed = [], 0
    for fact in record.facts:
        if fact.roles:  # recorded with the fact: exact whatever the item's later versions say
            if roles & set(fact.roles):
                about.append(fact)
            continue
        use = item.facts.get(fact.name) if item is not None else None
        if use is not None:
            if roles & set(use.subjects.values()):
                about.append(fact)
        elif len(record.subjects) == 1:
            about.append(fact)  # the only subject: every fact is about them
        else:
            unattributed += 1
    return about, unattributed


RefusalsAbout = tuple[list[AuditedRefusal], list[str], list[str]]
"""(refusals about the subject or the whole request, rules of those about other people,
rules of those that could not be attributed)."""


def refusals_about(record: RefusalRecord, roles: set[str], items: ItemRegistry) -> RefusalsAbout:
    """Which refusals of a refused request concern a citizen holding ``roles``.

    A refusal of the whole request (no fact: an item the caller may not use, a caller not
    registered) concerns everyone it names. A refused fact is attributed to roles as the
    verification facts of older records are (``facts_about``): through the item's binding
    of its subject slots. Only the rules of the others are kept, so a buyer's statement
    says a request was refused for a fact about their spouse without naming that fact."""
    item = items.get(record.service_item) if record.service_item in items else None
    about: list[AuditedRefusal] = []
    others: list[str] = []
    unattributed: list[str] = []
    for refusal in record.refusals:
        if refusal.fact is None:
            about.append(refusal)
            continue
        use = item.facts.get(refusal.fact) if item is not None else None
        if use is not None:
            if roles & set(use.subjects.values()):
                about.append(refusal)
            else:
                others.append(refusal.rule)
        elif len(record.subjects) == 1:
            about.append(refusal)  # the only subject: every fact is about them
        else:
            unattributed.append(refusal.rule)
    return about, others, unattributed


_REQUEST_FIELDS = {
    "request_id", "time", "caller_system", "caller_department", "operator", "service_item",
    "item_version", "purpose", "legal_basis", "consent_reference", "case_number",
}  # fmt: skip


def _refused_json(
    seq: int, record: RefusalRecord, roles: Iterable[str], about: RefusalsAbout
) -> dict[str, Any]:
    refused, about_others, unattributed = about
    return {
        "seq": seq,
        "kind": record.kind,
        **record.model_dump(mode="json", include=_REQUEST_FIELDS),
        "decision": None,
        "roles": list(roles),
        "refusals": [
            refusal.model_dump(mode="json", include={"rule", "fact", "department", "sharing"})
            for refusal in refused
        ],
        "refusals_about_others": about_others,
        "unattributed_refusals": unattributed,
        "facts": [],
        "department_data_read": False,
    }


def _access_json(
    seq: int, record: AuditRecord, roles: Iterable[str], facts: list[AuditedFact], unattributed: int
) -> dict[str, Any]:
    shown = record.model_dump(mode="json", include={*_REQUEST_FIELDS, "decision"})
    return {
        "seq": seq,
        "kind": record.kind,
        **shown,
        "roles": list(roles),
        "facts": [
            fact.model_dump(
                mode="json", include={"name", "fact", "department", "status", "value", "reason"}
            )
            for fact in facts
        ],
        "unattributed_facts": unattributed,
    }
