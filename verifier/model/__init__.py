"""The domain model: subjects and applications, facts, decisions, time windows."""

from verifier.model._application import (
    EMBEDDED_CALLER,
    Application,
    ApplicationSubject,
    CallerIdentity,
    Identifier,
    SubjectKind,
    parse_application,
    violations_from,
)
from verifier.model._decision import (
    ClauseExplanation,
    Decision,
    DecisionOutcome,
    ScoreComponent,
    Truth,
)
from verifier.model._facts import (
    FactResult,
    FactStatus,
    FactValue,
    Provenance,
    UnknownReason,
    ValueType,
)
from verifier.model._identifiers import (
    credit_code_check_character,
    mask_identifier,
    parse_credit_code,
    parse_resident_id,
    resident_id_birth_date,
    resident_id_check_character,
)
from verifier.model._result import CallOutcome, DepartmentCall, VerificationResult
from verifier.model._time_windows import (
    continuous_months_covering,
    continuous_months_up_to,
    month_index,
    months_from_spans,
    months_paid_within,
    period_contains,
    whole_months_between,
)

__all__ = [
    "EMBEDDED_CALLER",
    "Application",
    "ApplicationSubject",
    "CallOutcome",
    "CallerIdentity",
    "ClauseExplanation",
    "Decision",
    "DecisionOutcome",
    "DepartmentCall",
    "FactResult",
    "FactStatus",
    "FactValue",
    "Identifier",
    "Provenance",
    "ScoreComponent",
    "SubjectKind",
    "Truth",
    "UnknownReason",
    "ValueType",
    "VerificationResult",
    "continuous_months_covering",
    "continuous_months_up_to",
    "credit_code_check_character",
    "mask_identifier",
    "month_index",
    "months_from_spans",
    "months_paid_within",
    "parse_application",
    "parse_credit_code",
    "parse_resident_id",
    "period_contains",
    "resident_id_birth_date",
    "resident_id_check_character",
    "violations_from",
    "whole_months_between",
]
