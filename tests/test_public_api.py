"""The public surface is deliberate: changing it must change this test."""

from __future__ import annotations

import verifier
import verifier.access
import verifier.adapter
import verifier.audit
import verifier.caseload
import verifier.catalogue
import verifier.rules
import verifier.spark

EXPECTED = [
    "AccessDenied", "Application", "ApplicationSubject", "AuditUnavailable", "BulkOutcome",
    "CallOutcome",
    "CallerIdentity", "CatalogueError", "ClauseExplanation", "ConfigurationError", "Decision",
    "DecisionOutcome", "DepartmentAdapter", "DepartmentAnswer", "DepartmentAnswerInvalid",
    "DepartmentCall", "DepartmentError", "DepartmentQuery", "DepartmentUnavailable",
    "FactRequest", "FactResult", "FactStatus", "FieldViolation", "InvalidApplication",
    "MockAdapter", "Provenance", "Refusal", "ScoreComponent", "SubjectKind", "Truth", "Unknown",
    "UnknownReason", "UnknownServiceItem", "VerificationResult", "Verifier", "VerifierConfig",
    "VerifierError", "__version__", "build_verifier", "ensure_demo_city", "load_config",
    "parse_application",
]  # fmt: skip


def test_top_level_exports_are_pinned() -> None:
    assert verifier.__all__ == EXPECTED


CASELOAD = [
    "DECISION_ORDER", "LIST_COLUMNS", "REJECT_COLUMNS", "RESULT_COLUMNS", "Rejected",
    "application_of", "outcome_row", "rejected_for", "result_row", "subject_columns",
    "text_cells",
]  # fmt: skip
SPARK = ["OUTPUT_COLUMNS", "recheck_dataframe", "result_schema", "split_results"]


def test_caseload_and_spark_exports_are_pinned() -> None:
    assert verifier.caseload.__all__ == CASELOAD
    assert verifier.spark.__all__ == SPARK


def test_every_package_all_is_sorted_and_importable() -> None:
    packages = (
        verifier,
        verifier.access,
        verifier.adapter,
        verifier.audit,
        verifier.caseload,
        verifier.catalogue,
        verifier.rules,
        verifier.spark,
    )
    for package in packages:
        assert package.__all__ == sorted(package.__all__), package.__name__
        for name in package.__all__:
            assert hasattr(package, name), f"{package.__name__}.{name}"


def test_every_error_shares_one_root() -> None:
    exported = [getattr(verifier, name) for name in verifier.__all__]
    errors = [obj for obj in exported if isinstance(obj, type) and issubclass(obj, Exception)]
    assert len(errors) == 10
    assert all(issubclass(error, verifier.VerifierError) for error in errors)
    assert verifier.DepartmentUnavailable("x").retryable
    assert not verifier.DepartmentAnswerInvalid("x").retryable
