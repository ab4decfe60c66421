"""``verifier audit retire``: the PostgreSQL store's retention, months dropped behind a
signed checkpoint exported first (see ``verifier.audit._pg_retire`` and the auditor guide).

    verifier audit retire --before 2026-01 --export DIR [--public-key PATH]

Every chain is verified first; a chain that does not, or is not sealed at the cut, retires
nothing. The exported checkpoints are the auditor's proof of where the retired months
ended: keep them (and the witness) for as long as the records had to be kept.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from verifier._errors import ConfigurationError
from verifier.audit import AuditLogError, load_public_key
from verifier.cli._audit_stores import PUBLIC_KEY_FILE
from verifier.cli._local import config_from


def month(text: str) -> date:
    """argparse type for ``--before``: ``YYYY-MM``, the first month kept."""
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM)") from None


def add_retire_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--before", type=month, required=True, metavar="YYYY-MM",
                        help="drop the months before this one (the first month kept)")  # fmt: skip
    parser.add_argument("--export", type=Path, required=True, metavar="DIR",
                        help="where the sealing checkpoints are written first")  # fmt: skip
    parser.add_argument(
        "--public-key", metavar="PATH", help=f"default: <audit dir>/{PUBLIC_KEY_FILE}"
    )


def run_retire(args: argparse.Namespace) -> int:
    config = config_from(args)
    url = args.audit_url or (config.audit.url.get_secret_value() if config.audit.url else None)
    if url is None or args.audit_dir:
        raise AuditLogError("retire is for the PostgreSQL store (pass --audit-url or audit.url)")
    key_path = (
        Path(args.public_key) if args.public_key else config.audit_directory() / PUBLIC_KEY_FILE
    )
    if not key_path.is_file():
        raise ConfigurationError(f"public key {key_path} does not exist (pass --public-key)")
    from verifier.audit import PostgresAuditStore

    schema = args.audit_schema or config.audit.postgres_schema
    with PostgresAuditStore(url, schema=schema) as store:
        retired = store.retire(args.before, load_public_key(key_path), args.export)
    months = ", ".join(m.strftime("%Y-%m") for m in retired.months) or "none"
    print(f"retired months: {months}")
    for replica, checkpoint in sorted(retired.checkpoints.items()):
        print(
            f"  replica {replica}: sealed by its {checkpoint.reason} checkpoint, seq "
            f"{checkpoint.through_seq + 1} ({checkpoint.records} records, {checkpoint.time})"
        )
    for path in retired.exported:
        print(f"  exported {path}")
    return 0
