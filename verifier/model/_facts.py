"""Fact values and results: status facts with provenance, never raw records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

FactValue = bool | int
"""A fact is a boolean or a bounded whole number (months, a count) — never a record."""


class ValueType(StrEnum):
    BOOLEAN = "boolean"
    INTEGER = "integer"


class FactStatus(StrEnum):
    KNOWN = "KNOWN"
    UNKNOWN = "UNKNOWN"


class UnknownReason(StrEnum):
    """Why a fact could not be established. Stable codes: callers and auditors key on them."""

    DEPARTMENT_ERROR = "DEPARTMENT_ERROR"
    """The department's system failed while answering."""
    DEPARTMENT_UNAVAILABLE = "DEPARTMENT_UNAVAILABLE"
    """The department could not be reached (or its circuit is open)."""
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    """The department did not answer within the request's deadline."""
    INVALID_ANSWER = "INVALID_ANSWER"
    """The department's answer was malformed, of the wrong type, or about another subject."""
    RECORD_PENDING = "RECORD_PENDING"
    """The department's own record is being changed (e.g. a household transfer in progress)."""
    NO_ADAPTER = "NO_ADAPTER"
    """No adapter is configured for the department that owns the fact."""
    SUBJECT_NOT_FOUND = "SUBJECT_NOT_FOUND"
    """The department's "nothing held" answer is about a subject the register of its kind
    (the population register) does not hold: no evidence either way."""
    SUBJECT_UNCONFIRMED = "SUBJECT_UNCONFIRMED"
    """The department's "nothing held" answer is about a subject the register could not
    confirm (its call failed or did not answer in time)."""


class Provenance(BaseModel):
    """Where a fact came from and how fresh it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str
    source_as_of: datetime | None
    """When the department's data was last updated, as the department reports it."""
    retrieved_at: datetime
    cached: bool = False
    stale: bool = False
    rule_version: str
    """``<item id>@<item version>``: the definition that asked for and judged the fact."""


class FactResult(BaseModel):
    """One fact the service item needed, as established for this application."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """The item's name for this use of the fact (e.g. ``child_registered_in_district``)."""
    fact: str
    """The catalogue fact id (e.g. ``household_registered_in_district``)."""
    subjects: dict[str, str]
    """Which application role fills each of the fact's subject slots."""
    status: FactStatus
    value: FactValue | None = None
    reason: UnknownReason | None = None
    provenance: Provenance

    @property
    def known(self) -> bool:
        return self.status is FactStatus.KNOWN
