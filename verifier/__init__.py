"""onestop-verifier: verify a public-service application across departments in one call.

The engine asks each department that holds evidence, concurrently and within a deadline,
for status facts ("first home: yes"), never raw records, evaluates the service item's rule
and answers with the facts, their provenance and a decision — after writing a durable audit
record.

    import asyncio
    import verifier

    async def main() -> None:
        config = verifier.load_config(data_dir="var/demo-city")
        verifier.ensure_demo_city(config.data_dir)
        async with verifier.build_verifier(config) as engine:
            result = await engine.verify(verifier.parse_application({...}))
            print(result.decision.outcome)
"""

from verifier._errors import (
    AccessDenied,
    AuditUnavailable,
    CatalogueError,
    ConfigurationError,
    DepartmentAnswerInvalid,
    DepartmentError,
    DepartmentUnavailable,
    FieldViolation,
    InvalidApplication,
    Refusal,
    UnknownServiceItem,
    VerifierError,
)
from verifier.adapter import (
    DepartmentAdapter,
    DepartmentAnswer,
    DepartmentQuery,
    FactRequest,
    MockAdapter,
    Unknown,
)
from verifier.config import VerifierConfig, build_verifier, ensure_demo_city, load_config
from verifier.engine import BulkOutcome, Verifier
from verifier.model import (
    Application,
    ApplicationSubject,
    CallerIdentity,
    CallOutcome,
    ClauseExplanation,
    Decision,
    DecisionOutcome,
    DepartmentCall,
    FactResult,
    FactStatus,
    Provenance,
    ScoreComponent,
    SubjectKind,
    Truth,
    UnknownReason,
    VerificationResult,
    parse_application,
)

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "Application",
    "ApplicationSubject",
    "AuditUnavailable",
    "BulkOutcome",
    "CallOutcome",
    "CallerIdentity",
    "CatalogueError",
    "ClauseExplanation",
    "ConfigurationError",
    "Decision",
    "DecisionOutcome",
    "DepartmentAdapter",
    "DepartmentAnswer",
    "DepartmentAnswerInvalid",
    "DepartmentCall",
    "DepartmentError",
    "DepartmentQuery",
    "DepartmentUnavailable",
    "FactRequest",
    "FactResult",
    "FactStatus",
    "FieldViolation",
    "InvalidApplication",
    "MockAdapter",
    "Provenance",
    "Refusal",
    "ScoreComponent",
    "SubjectKind",
    "Truth",
    "Unknown",
    "UnknownReason",
    "UnknownServiceItem",
    "VerificationResult",
    "Verifier",
    "VerifierConfig",
    "VerifierError",
    "__version__",
    "build_verifier",
    "ensure_demo_city",
    "load_config",
    "parse_application",
]
