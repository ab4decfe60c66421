"""Audit records of every verification, the seam they are written through, and the
tamper-evident log behind it: hash-chained, checkpoint-signed, read and verified here; and
the witnesses its signed checkpoints are published to, so that a log cut back is caught.

``SqlWitness``, ``PostgresAuditLog`` and ``PostgresAuditStore`` (the PostgreSQL audit store,
written and read) are loaded on first use (``from verifier.audit import SqlWitness``): they
need SQLAlchemy or psycopg, which a log with a file or Redis witness, and ``import
verifier``, should not pay for.
"""

from typing import TYPE_CHECKING, Any

from verifier.audit._alerts import ALERT_RULES, AlertThresholds, HighRiskMonitor
from verifier.audit._checkpoint import SignedCheckpoint
from verifier.audit._encode import EncodedRecord, encode_verification
from verifier.audit._format import AuditLogError
from verifier.audit._keys import (
    generate_signing_key_files,
    load_or_create_signing_key,
    load_public_key,
    load_signing_key,
    public_key_id,
)
from verifier.audit._log import ChainedAuditLog
from verifier.audit._pseudonym import Pseudonymiser, load_or_create_key
from verifier.audit._reader import AuditEntry, read_audit_entries
from verifier.audit._record import (
    AlertRecord,
    AuditedCall,
    AuditedFact,
    AuditedRefusal,
    AuditedSubject,
    AuditEvent,
    AuditRecord,
    DecisionTrace,
    RefusalRecord,
    UnauthenticatedRecord,
    audit_record_for,
    cancelled_record_for,
    refusal_record_for,
)
from verifier.audit._replay import (
    ReplayedDecision,
    ReplayReport,
    SkipReason,
    replay,
    replay_decision,
)
from verifier.audit._sink import AuditSink
from verifier.audit._verify import ChainBreak, ChainVerification, verify_audit_log
from verifier.audit._witness import FileWitness, Witness, WitnessError, open_witness
from verifier.audit._witness_redis import RedisWitness

if TYPE_CHECKING:
    from verifier.audit._pg_log import PostgresAuditLog
    from verifier.audit._pg_reader import PostgresAuditStore
    from verifier.audit._witness_sql import SqlWitness


def __getattr__(name: str) -> Any:
    if name == "SqlWitness":
        from verifier.audit._witness_sql import SqlWitness

        return SqlWitness
    if name == "PostgresAuditLog":
        from verifier.audit._pg_log import PostgresAuditLog

        return PostgresAuditLog
    if name == "PostgresAuditStore":
        from verifier.audit._pg_reader import PostgresAuditStore

        return PostgresAuditStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALERT_RULES",
    "AlertRecord",
    "AlertThresholds",
    "AuditEntry",
    "AuditEvent",
    "AuditLogError",
    "AuditRecord",
    "AuditSink",
    "AuditedCall",
    "AuditedFact",
    "AuditedRefusal",
    "AuditedSubject",
    "ChainBreak",
    "ChainVerification",
    "ChainedAuditLog",
    "DecisionTrace",
    "EncodedRecord",
    "FileWitness",
    "HighRiskMonitor",
    "PostgresAuditLog",
    "PostgresAuditStore",
    "Pseudonymiser",
    "RedisWitness",
    "RefusalRecord",
    "ReplayReport",
    "ReplayedDecision",
    "SignedCheckpoint",
    "SkipReason",
    "SqlWitness",
    "UnauthenticatedRecord",
    "Witness",
    "WitnessError",
    "audit_record_for",
    "cancelled_record_for",
    "encode_verification",
    "generate_signing_key_files",
    "load_or_create_key",
    "load_or_create_signing_key",
    "load_public_key",
    "load_signing_key",
    "open_witness",
    "public_key_id",
    "read_audit_entries",
    "refusal_record_for",
    "replay",
    "replay_decision",
    "verify_audit_log",
]
