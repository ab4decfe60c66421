"""Audit records of every verification, and the seam they are written through."""

from verifier.audit._jsonl import JsonLinesAuditLog, encode_record
from verifier.audit._pseudonym import Pseudonymiser, load_or_create_key
from verifier.audit._record import (
    AlertRecord,
    AuditedCall,
    AuditedFact,
    AuditedSubject,
    AuditEvent,
    AuditRecord,
    audit_record_for,
)
from verifier.audit._sink import AuditSink

__all__ = [
    "AlertRecord",
    "AuditEvent",
    "AuditRecord",
    "AuditSink",
    "AuditedCall",
    "AuditedFact",
    "AuditedSubject",
    "JsonLinesAuditLog",
    "Pseudonymiser",
    "audit_record_for",
    "encode_record",
    "load_or_create_key",
]
