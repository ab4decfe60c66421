"""The public surface is deliberate: changing it must change this test."""

from __future__ import annotations

import verifier
import verifier.access
import verifier.adapter
import verifier.adapter.conformance
import verifier.adapter.sql
import verifier.audit
import verifier.caseload
import verifier.catalogue
import verifier.rules
import verifier.scenarios
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


# The integrator kit (issue 13): what a department's own package builds and tests on.
EXPECTED_SQL_KIT = [
    "Answer", "BranchBuilder", "Reader", "Row", "SqlBackend", "SqlDepartmentAdapter",
    "SubjectRead", "as_date", "as_optional_date", "as_utc_datetime", "backend_from_settings",
    "date_parameter", "derives", "int_parameter", "latest_refresh", "refresh_log_table", "subject",
    "subject_rows", "text_parameter",
]  # fmt: skip
EXPECTED_CONFORMANCE = [
    "AdapterFactory", "ConformanceDatabase", "ConformanceFailure", "ConformanceTarget",
    "check_backend_errors_are_mapped", "check_batch_equals_single",
    "check_every_fact_answers_for_every_sample", "check_facts_cover_the_catalogue",
    "check_no_raw_value_in_errors", "check_unknown_subject_is_not_found", "conformance_suite",
]  # fmt: skip
EXPECTED_SCENARIOS = [
    "Expectation", "Scenario", "ScenarioEntry", "ScenarioFileError", "ScenarioOutcome",
    "read_scenario_file", "run_scenario", "scenario_items",
]  # fmt: skip


def test_top_level_exports_are_pinned() -> None:
    assert verifier.__all__ == EXPECTED


def test_integrator_kit_exports_are_pinned() -> None:
    assert verifier.adapter.sql.__all__ == EXPECTED_SQL_KIT
    assert verifier.adapter.conformance.__all__ == EXPECTED_CONFORMANCE
    assert verifier.scenarios.__all__ == EXPECTED_SCENARIOS


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
        verifier.adapter.conformance,
        verifier.adapter.sql,
        verifier.audit,
        verifier.caseload,
        verifier.catalogue,
        verifier.rules,
        verifier.scenarios,
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


def test_replay_and_what_if_are_public_for_embedders() -> None:
    """``verifier audit replay``'s library call: records in, changed decisions out."""
    assert {
        "DecisionTrace", "ReplayReport", "ReplayedDecision", "SkipReason", "replay",
        "replay_decision",
    } <= set(verifier.audit.__all__)  # fmt: skip
    assert {"load_what_if_items", "trace_size_bound"} <= set(verifier.rules.__all__)
