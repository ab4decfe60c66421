"""The SQL department kit: what a department integrator builds an adapter on.

Import it as ``verifier.adapter.sql`` (it needs SQLAlchemy; ``import verifier`` does not
load it). A department is its tables, one ``SubjectRead`` over them, a ``collect`` that
turns rows into records, and one ``@derives("fact")`` method per catalogue fact; see
``docs/integrators.md`` for a department built step by step, and
``verifier.adapter.conformance`` for the tests every department must pass.

- ``SqlDepartmentAdapter``, ``derives``, ``Answer``: the base class and its registry;
- ``SubjectRead``, ``BranchBuilder``, ``SqlBackend``, ``Reader``, ``Row``:
  one batched statement (up to 500 ids) over the department's tables, on
  SQLite (inline) or PostgreSQL (pooled), with every database error mapped to the
  ``DepartmentError`` family;
- ``subject_rows``: the usual branch (columns of one table's rows about the subjects);
- ``refresh_log_table``, ``latest_refresh``: where ``source_as_of`` comes from;
- ``backend_from_settings``: the entry point's settings, checked;
- ``subject``, ``text_parameter``, ``int_parameter``, ``date_parameter``: a request's
  subjects and parameters; ``as_date``, ``as_optional_date``, ``as_utc_datetime``: column
  values, the same on every backend.
"""

from verifier.adapter.sql._backend import (
    BranchBuilder,
    Reader,
    Row,
    SqlBackend,
    SubjectRead,
)
from verifier.adapter.sql._branches import subject_rows
from verifier.adapter.sql._department import (
    Answer,
    SqlDepartmentAdapter,
    derives,
    latest_refresh,
    refresh_log_table,
)
from verifier.adapter.sql._requests import date_parameter, int_parameter, subject, text_parameter
from verifier.adapter.sql._settings import backend_from_settings
from verifier.adapter.sql._values import as_date, as_optional_date, as_utc_datetime

__all__ = [
    "Answer",
    "BranchBuilder",
    "Reader",
    "Row",
    "SqlBackend",
    "SqlDepartmentAdapter",
    "SubjectRead",
    "as_date",
    "as_optional_date",
    "as_utc_datetime",
    "backend_from_settings",
    "date_parameter",
    "derives",
    "int_parameter",
    "latest_refresh",
    "refresh_log_table",
    "subject",
    "subject_rows",
    "text_parameter",
]
