"""The conformance suite as pytest tests: one line in an adapter package's test module.

::

    from verifier.adapter.conformance import ConformanceTarget, conformance_suite

    TestCourtsConformance = conformance_suite(COURTS, database="courts_url")

``database`` names a pytest fixture that returns the department database's URL, or a
``ConformanceDatabase`` (URL and the subjects it holds); make it parametrised to run the
suite on SQLite and PostgreSQL; each check is one test, its
failure listing every problem found. Tests are synchronous (each runs its own event loop),
so the suite needs no asyncio plugin.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from verifier.adapter.conformance import _checks
from verifier.adapter.conformance._backends import is_sqlite
from verifier.adapter.conformance._target import ConformanceDatabase, ConformanceTarget

Check = Callable[[ConformanceTarget, str], Coroutine[Any, Any, list[str]]]
FileCheck = Callable[[ConformanceTarget, str, Path], Coroutine[Any, Any, list[str]]]


def conformance_suite(target: ConformanceTarget, *, database: str = "department_url") -> type:
    """A pytest test class running every conformance check on ``target``."""

    def on(found: object) -> tuple[ConformanceTarget, str]:
        if not isinstance(found, str | ConformanceDatabase):
            raise TypeError(
                f"fixture {database!r} must return the database URL or a ConformanceDatabase"
            )
        return target.on(found)

    def plain(check: Check) -> Callable[..., None]:
        def test(self: Any, **fixtures: Any) -> None:
            _assert_none(check.__name__, asyncio.run(check(*on(fixtures[database]))))

        return _requesting(test, check, database)

    def with_files(check: FileCheck, *, sqlite_only: bool = False) -> Callable[..., None]:
        def test(self: Any, **fixtures: Any) -> None:
            found, url = on(fixtures[database])
            if sqlite_only and not is_sqlite(url):
                import pytest  # only ever run under pytest; not imported with the module

                pytest.skip("canaries are planted in copies of a SQLite file: run on SQLite too")
            problems = asyncio.run(check(found, url, fixtures["tmp_path"]))
            _assert_none(check.__name__, problems)

        return _requesting(test, check, database, "tmp_path")

    members: dict[str, Any] = {
        "__doc__": f"Conformance of the {target.department!r} department adapter.",
        "__test__": True,
        "target": target,
        "test_facts_cover_the_catalogue": plain(_checks.check_facts_cover_the_catalogue),
        "test_every_fact_answers_for_every_sample": plain(
            _checks.check_every_fact_answers_for_every_sample
        ),
        "test_unknown_subject_is_not_found": plain(_checks.check_unknown_subject_is_not_found),
        "test_batch_equals_single": plain(_checks.check_batch_equals_single),
        "test_no_raw_value_in_errors": with_files(
            _checks.check_no_raw_value_in_errors, sqlite_only=True
        ),
        "test_backend_errors_are_mapped": with_files(_checks.check_backend_errors_are_mapped),
    }
    return type(f"Conformance_{target.department}", (), members)


def _requesting(
    test: Callable[..., None], check: Callable[..., Any], *fixtures: str
) -> Callable[..., None]:
    """``test`` with a signature naming ``fixtures``: pytest reads the signature to decide
    what to pass, so the database fixture (parametrised or not) is requested statically."""
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in fixtures]
    test.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    test.__doc__ = check.__doc__
    return test


class ConformanceFailure(AssertionError):
    """A conformance check found problems; the message lists them, one a line."""


def _assert_none(check: str, problems: list[str]) -> None:
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ConformanceFailure(f"{check.removeprefix('check_')}:\n{lines}")
