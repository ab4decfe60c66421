"""The conformance suite is not a rubber stamp: each check fails on an adapter with the
fault it is there to find (built by bending the courts adapter over a real database)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pytest
from support import resident_id

from adapters.courts import CourtsAdapter
from adapters.demo_city import DemoCityManifest
from verifier._errors import DepartmentError
from verifier.adapter import (
    DepartmentAdapter,
    DepartmentAnswer,
    DepartmentQuery,
    FactRequest,
)
from verifier.adapter.conformance import (
    AdapterFactory,
    ConformanceTarget,
    check_backend_errors_are_mapped,
    check_batch_equals_single,
    check_every_fact_answers_for_every_sample,
    check_facts_cover_the_catalogue,
    check_no_raw_value_in_errors,
    check_unknown_subject_is_not_found,
)
from verifier.adapter.sql import Answer, Row, backend_from_settings, derives
from verifier.catalogue import catalogue_from_yaml, load_catalogue

NOBODY = resident_id("11010119900101950")
PACKAGED = Path(__file__).resolve().parents[2] / "verifier/catalogue/data/catalogue.yaml"


def factory(adapter_class: type[CourtsAdapter]) -> AdapterFactory:
    def create(settings: Mapping[str, object]) -> DepartmentAdapter:
        backend, seconds = backend_from_settings(settings, "courts")
        return adapter_class(backend, refresh_cache_seconds=seconds)

    return create


def debtor_ids(city: DemoCityManifest) -> list[str]:
    with sqlite3.connect(Path(city.urls["courts"].removeprefix("sqlite:///"))) as connection:
        rows = connection.execute("SELECT debtor_id FROM dishonest_debtors LIMIT 5").fetchall()
    return [row[0] for row in rows]


def target(city: DemoCityManifest, adapter: AdapterFactory, **changes: object) -> ConformanceTarget:
    fields: dict[str, object] = {
        "department": "courts",
        "create_adapter": adapter,
        "catalogue": load_catalogue(),
        "samples": debtor_ids(city),
        "unknown_subject": NOBODY,
        **changes,
    }
    return ConformanceTarget(**fields)  # type: ignore[arg-type]


class Leaky(CourtsAdapter):
    """Quotes the record it could not read."""

    def collect(self, rows: Mapping[str, list[Row]]) -> object:  # type: ignore[override]
        try:
            return super().collect(rows)
        except ValueError as failure:
            raise DepartmentError(f"courts: unreadable record ({failure})") from None


class ClaimsToKnow(CourtsAdapter):
    """Answers "listed" about anyone it holds nothing on."""

    @derives("dishonest_judgment_debtor")
    def _listed_anyway(self, request: FactRequest, records: object, as_of: date) -> Answer:
        return True


class BatchDiffers(CourtsAdapter):
    """Answers a batch differently from single queries."""

    async def fetch_many(self, queries: Sequence[DepartmentQuery]) -> list[DepartmentAnswer]:
        answers = await super().fetch_many(queries)
        if len(queries) > 1:
            flipped = {key: value is not True for key, value in answers[0].facts.items()}
            answers[0] = DepartmentAnswer(flipped)
        return answers


class RawSqlite(DepartmentAdapter):
    """Not on the kit: reads with sqlite3 and lets its exceptions out."""

    department = "courts"

    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite:///")

    def supported_facts(self) -> frozenset[str]:
        return frozenset({"dishonest_judgment_debtor", "consumption_restricted"})

    async def fetch(self, query: DepartmentQuery) -> DepartmentAnswer:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            connection.execute("SELECT count(*) FROM dishonest_debtors").fetchall()
        finally:
            connection.close()
        return DepartmentAnswer(dict.fromkeys((r.key for r in query.requests), False))


async def test_a_faultless_adapter_passes(demo_city: DemoCityManifest, tmp_path: Path) -> None:
    found = target(demo_city, factory(CourtsAdapter))
    url = demo_city.urls["courts"]
    assert await check_facts_cover_the_catalogue(found, url) == []
    assert await check_every_fact_answers_for_every_sample(found, url) == []
    assert await check_unknown_subject_is_not_found(found, url) == []
    assert await check_batch_equals_single(found, url) == []
    assert await check_no_raw_value_in_errors(found, url, tmp_path) == []
    assert await check_backend_errors_are_mapped(found, url, tmp_path) == []


async def test_a_quoted_record_is_found(demo_city: DemoCityManifest, tmp_path: Path) -> None:
    found = target(demo_city, factory(Leaky))
    problems = await check_no_raw_value_in_errors(found, demo_city.urls["courts"], tmp_path)
    assert "dishonest_debtors.listed_on: an error message quotes a raw value" in problems


async def test_a_known_answer_about_nobody_is_found(demo_city: DemoCityManifest) -> None:
    found = target(demo_city, factory(ClaimsToKnow))
    problems = await check_unknown_subject_is_not_found(found, demo_city.urls["courts"])
    assert problems == [
        "dishonest_judgment_debtor: about an unknown subject, not the catalogue's "
        "absence_value (False)"
    ]


async def test_a_batch_that_differs_is_found(demo_city: DemoCityManifest) -> None:
    found = target(demo_city, factory(BatchDiffers))
    problems = await check_batch_equals_single(found, demo_city.urls["courts"])
    assert any("the batch answer differs" in problem for problem in problems), problems


async def test_an_unmapped_driver_error_is_found(
    demo_city: DemoCityManifest, tmp_path: Path
) -> None:
    found = target(demo_city, lambda settings: RawSqlite(str(settings["url"])))
    problems = await check_backend_errors_are_mapped(found, demo_city.urls["courts"], tmp_path)
    assert "a missing database file: unmapped sqlite3.OperationalError" in problems
    assert "a file that is not a database: unmapped sqlite3.DatabaseError" in problems


async def test_a_catalogue_fact_without_derivation_is_found(demo_city: DemoCityManifest) -> None:
    text = PACKAGED.read_text(encoding="utf-8") + (
        "\n  debtor_assets_frozen:\n    department: courts\n    description: Frozen.\n"
        "    value_type: boolean\n    absence_value: false\n    sharing: unconditional\n"
        "    freshness: P1D\n    legal_reference: 《民事诉讼法》第二百五十三条\n"
    )
    found = target(demo_city, factory(CourtsAdapter), catalogue=catalogue_from_yaml(text))
    problems = await check_facts_cover_the_catalogue(found, demo_city.urls["courts"])
    assert problems == [
        "catalogue fact 'debtor_assets_frozen' of department 'courts' has no derivation"
    ]


class Misnamed(CourtsAdapter):
    """Calls its department by another name than the catalogue's."""

    department = "court"


async def test_an_adapter_misnaming_its_department_is_found(demo_city: DemoCityManifest) -> None:
    found = target(demo_city, factory(Misnamed))
    problems = await check_facts_cover_the_catalogue(found, demo_city.urls["courts"])
    assert problems == [
        "the adapter names its department 'court', the catalogue's is 'courts': set the "
        "class's department to the catalogue's id"
    ]


def test_a_target_names_a_catalogue_department(demo_city: DemoCityManifest) -> None:
    with pytest.raises(ValueError, match="'nowhere' is not in the catalogue"):
        target(demo_city, factory(CourtsAdapter), department="nowhere")
