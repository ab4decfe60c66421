"""The conformance suite every department adapter package runs (``docs/integrators.md``).

Describe the department once (``ConformanceTarget``: its entry point, the catalogue, a few
subjects it holds, one it does not, parameter values) and add one line to a test module::

    TestCourtsConformance = conformance_suite(COURTS, database="courts_url")

The checks, each a test (and a coroutine here, for other runners):

- every catalogue fact of the department has a derivation, and every one answers about
  every sample subject, with a value of the catalogue's type;
- about a subject the department does not hold, no fact is evidence: each answers
  ``Unknown(SUBJECT_NOT_FOUND)`` or its catalogue ``absence_value`` (which the engine, asking
  the register, reports as UNKNOWN(SUBJECT_NOT_FOUND));
- ``fetch_many`` answers what ``fetch`` answers, query by query;
- a canary planted in every column of every table (SQLite copies) never reaches an
  answer or an error, and every failure it causes is a ``DepartmentError``;
- an unreachable database is ``DepartmentUnavailable``; missing tables, a file that is not
  a database and a closed adapter give ``DepartmentError`` (or, closed, the same answer);
  no error quotes a subject identifier or the URL, none chains the driver's exception.

Importing this module loads SQLAlchemy (to read URLs), never ``pytest``.
"""

from verifier.adapter.conformance._checks import (
    check_backend_errors_are_mapped,
    check_batch_equals_single,
    check_every_fact_answers_for_every_sample,
    check_facts_cover_the_catalogue,
    check_no_raw_value_in_errors,
    check_unknown_subject_is_not_found,
)
from verifier.adapter.conformance._suite import ConformanceFailure, conformance_suite
from verifier.adapter.conformance._target import (
    AdapterFactory,
    ConformanceDatabase,
    ConformanceTarget,
)

__all__ = [
    "AdapterFactory",
    "ConformanceDatabase",
    "ConformanceFailure",
    "ConformanceTarget",
    "check_backend_errors_are_mapped",
    "check_batch_equals_single",
    "check_every_fact_answers_for_every_sample",
    "check_facts_cover_the_catalogue",
    "check_no_raw_value_in_errors",
    "check_unknown_subject_is_not_found",
    "conformance_suite",
]
