"""Shared by the adapter tests and their conftest: a generated city on one backend."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import create_engine, make_url, text

from adapters.demo_city import DemoCityManifest
from verifier.adapter import DepartmentAdapter

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("VERIFIER_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def with_search_path(url: str, schema: str) -> str:
    """The URL with its connections' ``search_path`` set to ``schema``."""
    query = {"options": f"-csearch_path={schema}"}
    return make_url(url).update_query_dict(query).render_as_string(hide_password=False)


@dataclass(frozen=True)
class City:
    """A generated city on one backend (``sqlite`` or ``postgres``)."""

    backend: str
    manifest: DemoCityManifest

    @property
    def urls(self) -> Mapping[str, str]:
        return self.manifest.urls

    def adapter(self, department: str, **settings: object) -> DepartmentAdapter:
        module = importlib.import_module(f"adapters.{department}")
        adapter: DepartmentAdapter = module.create_adapter(
            {"url": self.urls[department], **settings}
        )
        return adapter

    def resident_ids(self, count: int) -> list[str]:
        """The first ``count`` resident IDs of the household register, in ID order."""
        engine = create_engine(self.urls["household"])
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT resident_id FROM residents ORDER BY resident_id LIMIT :n"),
                    {"n": count},
                )
                return [row[0] for row in rows]
        finally:
            engine.dispose()
