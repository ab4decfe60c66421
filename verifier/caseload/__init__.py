"""The caseload format of a bulk re-check: rows in, applications to the engine, result rows
(or rejects) out. ``verifier recheck`` reads and writes it as files, ``verifier.spark`` as
DataFrames; both through these functions, so their columns cannot drift apart."""

from verifier.caseload._rows import (
    DECISION_ORDER,
    LIST_COLUMNS,
    REJECT_COLUMNS,
    RESULT_COLUMNS,
    Rejected,
    application_of,
    outcome_row,
    rejected_for,
    result_row,
    subject_columns,
    text_cells,
)

__all__ = [
    "DECISION_ORDER",
    "LIST_COLUMNS",
    "REJECT_COLUMNS",
    "RESULT_COLUMNS",
    "Rejected",
    "application_of",
    "outcome_row",
    "rejected_for",
    "result_row",
    "subject_columns",
    "text_cells",
]
