"""Helpers shared by the tests (importable as ``support``: pytest puts tests/ on the path)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from verifier.adapter import DepartmentAdapter, MockAdapter
from verifier.engine import Verifier
from verifier.model import FactValue, resident_id_check_character

DEPARTMENTS = (
    "household",
    "social_insurance",
    "housing",
    "tax",
    "vehicle_registration",
    "market_regulation",
    "civil_affairs",
    "courts",
)
"""Every department of the demo city and the packaged catalogue."""

SAMPLED_DEPARTMENTS = tuple(d for d in DEPARTMENTS if d != "courts")
"""The departments the demo city's samples ask: no item uses the courts' facts yet (their
rows are checked in tests/departments/test_courts.py)."""

SMALL_CITY_PEOPLE = 2_000
"""People in the demo city generated once per test session (``demo_city``)."""

TEST_PSEUDONYM_KEY = bytes(range(32))

# Values that make both shipped items ELIGIBLE; tests override what they exercise.
ELIGIBLE_FACTS: dict[str, dict[str, FactValue]] = {
    "household": {
        # The population register holds every subject: negative facts are evidence.
        "registered_in_population_register": True,
        "local_household_registration": True,
        "household_registered_in_district": True,
        "guardian_of": True,
    },
    "social_insurance": {
        "social_insurance_continuous_months": 30,
        "social_insurance_months_in_window": 30,
        "social_insurance_enrolled": True,
    },
    "housing": {
        "homes_owned_in_city": 0,
        "owns_no_home_in_city": True,
        "registered_rental_months_in_district": 20,
    },
    "tax": {"income_tax_months_in_window": 30, "has_overdue_tax": False},
}

# What the catalogue's sharing rules require of an application that is to be served
# (verifier/access): a legal basis for every conditional fact, and for the property and tax
# facts of first_home_purchase the subject's consent (授权书) cited by number.
SCHOOL_PLACE_ACCESS: dict[str, str] = {
    "purpose": "compulsory_education_admission",
    "legal_basis": "《义务教育法》第十二条",
}
FIRST_HOME_ACCESS: dict[str, str] = {
    "purpose": "first_home_purchase_qualification",
    "legal_basis": "《不动产登记暂行条例》第二十七条",
    "consent_reference": "AUTH-HOUSE-2026-000001",
}
ACCESS_FIELDS: dict[str, dict[str, str]] = {
    "school_place": SCHOOL_PLACE_ACCESS,
    "first_home_purchase": FIRST_HOME_ACCESS,
}
"""The access fields above, by service item."""


REDIS_URL = os.environ.get("VERIFIER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
"""The Redis the service-backed tests use (db 15: nothing else's)."""


def services_required() -> bool:
    """CI sets VERIFIER_REQUIRE_SERVICES=1: a test that needs PostgreSQL or Redis then fails
    instead of skipping when the service is unreachable."""
    return os.environ.get("VERIFIER_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (VERIFIER_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def java_missing() -> str | None:
    """Why Spark cannot start its JVM here (then a Spark test skips, or fails in CI), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return None
    if shutil.which("java"):
        return None
    return "no Java runtime (JAVA_HOME unset, no java on PATH): Spark needs OpenJDK 17"


POSTGRES_URL = os.environ.get(
    "VERIFIER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
"""The PostgreSQL the service-backed tests use (each test makes its own tables or schemas)."""


def reachable_postgres(url: str = POSTGRES_URL) -> Engine:
    """An engine on ``url`` once a connection succeeds; else skip (fail in CI) with why."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        service_unavailable(f"PostgreSQL not reachable at {shown}: {cause}")
    return engine


def reachable_redis(url: str = REDIS_URL) -> redis.Redis:
    """A client on ``url`` once it answers PING; else skip (fail in CI) with why."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        client.close()
        service_unavailable(f"Redis not reachable at {url}: {type(error).__name__}")
    return client


def mock_departments(**overrides: MockAdapter) -> dict[str, DepartmentAdapter]:
    """Four mock departments answering ELIGIBLE_FACTS, with some replaced by ``overrides``."""
    adapters: dict[str, DepartmentAdapter] = {
        department: MockAdapter(department, values=values)
        for department, values in ELIGIBLE_FACTS.items()
    }
    adapters.update(overrides)
    return adapters


def resident_id(first17: str) -> str:
    """A valid resident ID from its first 17 digits."""
    return first17 + resident_id_check_character(first17)


MakeVerifier = Callable[..., Verifier]
"""The type of the ``make_test_verifier`` fixture."""


@contextlib.contextmanager
def disk_full(audit_file: Path) -> Iterator[None]:
    """Writes to the open ``audit_file`` fail with ENOSPC, as on a full disk, until the
    block ends: the writer's own descriptor is pointed at /dev/full meanwhile (and
    truncating it fails too, so the writer must cut its failed batch later)."""
    target = os.path.realpath(audit_file)
    fd = next(
        int(n) for n in os.listdir("/proc/self/fd")
        if os.path.realpath(f"/proc/self/fd/{n}") == target
    )  # fmt: skip
    saved, full = os.dup(fd), os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(full)
