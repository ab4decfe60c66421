"""docs/integrators.md, step 6, as a new integrator writes it: the courts package's own
test data (a few rows, SQLite and PostgreSQL) and the conformance suite in one line."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, make_url, text
from support import POSTGRES_URL, reachable_postgres

from adapters.courts import create_adapter
from adapters.courts._tables import consumption_restrictions, dishonest_debtors, metadata
from adapters.courts._tables import refresh_log as courts_refresh_log
from verifier.adapter.conformance import ConformanceTarget, conformance_suite
from verifier.catalogue import load_catalogue
from verifier.model import credit_code_check_character, resident_id_check_character


def resident(first17: str) -> str:
    return first17 + resident_id_check_character(first17)


PERSON = resident("44030519800101123")
CLEARED = resident("44030519750607002")
NOBODY = resident("11010119900101950")  # well-formed, held by nobody
COMPANY = "91440300MA5F0000X" + credit_code_check_character("91440300MA5F0000X")


def write_test_data(url: str) -> None:
    """The tables and a few rows: listed, a listed company, one removed and restricted."""
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(dishonest_debtors),
                [
                    {"case_no": "(2025)粤0305执1号", "court_name": "南山区人民法院",
                     "debtor_id": PERSON, "debtor_name": "张三", "obligation": "偿还借款",
                     "listed_on": date(2025, 3, 1), "removed_on": None},
                    {"case_no": "(2025)粤0305执2号", "court_name": "南山区人民法院",
                     "debtor_id": COMPANY, "debtor_name": "某某有限公司", "obligation": "支付货款",
                     "listed_on": date(2026, 1, 5), "removed_on": None},
                    {"case_no": "(2024)粤0304执9号", "court_name": "福田区人民法院",
                     "debtor_id": CLEARED, "debtor_name": "李四", "obligation": "支付租金",
                     "listed_on": date(2024, 5, 1), "removed_on": date(2025, 2, 1)},
                ],
            )  # fmt: skip
            connection.execute(
                insert(consumption_restrictions),
                [{"case_no": "(2024)粤0304执9号", "debtor_id": CLEARED,
                  "restricted_since": date(2024, 4, 1), "lifted_on": None}],
            )  # fmt: skip
            connection.execute(
                insert(courts_refresh_log),
                [{"refreshed_at": datetime(2026, 8, 31, 6, 10, tzinfo=UTC), "rows_loaded": 4,
                  "source_system": "失信被执行人名单信息公布与查询平台", "operator": "etl"}],
            )  # fmt: skip
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def sqlite_courts(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{(tmp_path_factory.mktemp('courts') / 'courts.db').as_posix()}"
    write_test_data(url)
    return url


@pytest.fixture(scope="module")
def postgres_courts() -> Iterator[str]:
    """A fresh schema on the test server, its connections' search_path set to it."""
    engine = reachable_postgres(POSTGRES_URL)
    schema = f"courts_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(POSTGRES_URL)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    write_test_data(url)
    try:
        yield url
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def courts_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_courts")
    return url


COURTS = ConformanceTarget(
    department="courts",
    create_adapter=create_adapter,
    catalogue=load_catalogue(),
    samples=[PERSON, COMPANY, CLEARED],
    unknown_subject=NOBODY,
)

TestCourtsConformance = conformance_suite(COURTS, database="courts_url")


def test_the_guide_shows_this_test() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs/integrators.md").read_text("utf-8")
    assert 'TestCourtsConformance = conformance_suite(COURTS, database="courts_url")' in guide
    assert "tests/conformance/test_courts_as_the_guide_says.py" in guide
