"""The engine: plans a verification, fans out to departments, evaluates, audits."""

from verifier.engine._bulk import BulkOutcome
from verifier.engine._cache import CachePolicy, FactCache, InProcessFactCache
from verifier.engine._cache_redis import RedisFactCache
from verifier.engine._fanout import DepartmentOutcome
from verifier.engine._interceptors import (
    AuditedInput,
    AuthoriseInput,
    DepartmentInput,
    FetchInput,
    FetchOutput,
    Interceptor,
    Stages,
    VerifyInput,
)
from verifier.engine._planner import DepartmentPlan, plan_departments
from verifier.engine._resilience_policy import ResiliencePolicy
from verifier.engine._telemetry import TelemetryProviders
from verifier.engine._verifier import DEFAULT_TIMEOUT_SECONDS, Verifier

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "AuditedInput",
    "AuthoriseInput",
    "BulkOutcome",
    "CachePolicy",
    "DepartmentInput",
    "DepartmentOutcome",
    "DepartmentPlan",
    "FactCache",
    "FetchInput",
    "FetchOutput",
    "InProcessFactCache",
    "Interceptor",
    "RedisFactCache",
    "ResiliencePolicy",
    "Stages",
    "TelemetryProviders",
    "Verifier",
    "VerifyInput",
    "plan_departments",
]
