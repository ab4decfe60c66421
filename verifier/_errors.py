"""Every exception the library raises, under one root.

    VerifierError
    ├── InvalidApplication          bad input; names each offending field; reaches no department
    ├── UnknownServiceItem          the item id is not in the registry (also an InvalidApplication)
    ├── CatalogueError              the catalogue or an item file is inconsistent (at load time)
    ├── ConfigurationError          a configuration file or value is wrong (at start-up)
    ├── AccessDenied                the catalogue or the caller's rights forbid the request;
    │                               names each refused fact and rule; reaches no department
    ├── DepartmentError             raised by adapters; the engine turns it into UNKNOWN facts
    │   ├── DepartmentUnavailable   the department could not be reached (retryable)
    │   └── DepartmentAnswerInvalid the department answered something we cannot trust
    ├── AuditUnavailable            the audit record could not be made durable: no audit, no answer
    └── AuditLogError               an audit log cannot be read (defined in verifier.audit)

Retryability is a property of the error (``retryable``), so a retry policy reads the
error rather than a list of types. Messages never carry raw department data or full IDs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass


class VerifierError(Exception):
    """Root of every error raised by onestop-verifier."""

    retryable: bool = False


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One offending input field, named by its path in the application (e.g. ``subjects[1].id``)."""

    field: str
    description: str


MAX_REPORTED_VIOLATIONS = 20
"""Field violations named in one error; the rest are counted. A request that breaks every
rule of a 64 KiB message must not cost more to refuse than a normal request costs to
answer, nor make an error bigger than a client accepts (its metadata limit)."""


@dataclass(frozen=True, slots=True)
class OmittedViolations(FieldViolation):
    """Stands for the violations beyond ``MAX_REPORTED_VIOLATIONS``; carries their count, so
    that bounding violations collected in several steps adds the counts up."""

    count: int = 0


def omitted_violations(count: int) -> OmittedViolations:
    return OmittedViolations("application", f"… and {count:,} more problems", count)


def bounded_violations(
    violations: Iterable[FieldViolation], limit: int = MAX_REPORTED_VIOLATIONS
) -> list[FieldViolation]:
    """The first ``limit`` distinct violations, then one ``OmittedViolations`` counting the
    rest (linear: the same problem reported twice, e.g. by two members of a union, once)."""
    distinct: dict[FieldViolation, None] = {}
    omitted = 0
    for violation in violations:
        if isinstance(violation, OmittedViolations):
            omitted += violation.count
        else:
            distinct[violation] = None
    kept = list(itertools.islice(distinct, limit))
    omitted += len(distinct) - len(kept)
    return [*kept, omitted_violations(omitted)] if omitted else kept


class InvalidApplication(VerifierError):
    """The application is malformed. ``violations`` names every offending field (from a
    request's input: the first ``MAX_REPORTED_VIOLATIONS`` and a count of the rest)."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = tuple(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(f"invalid application: {summary}")


class UnknownServiceItem(InvalidApplication):
    """No service item with this id is registered."""

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        # The name is not repeated: a caller's free text could carry personal data.
        super().__init__([FieldViolation("service_item", "unknown service item")])


class CatalogueError(VerifierError):
    """The catalogue or a service-item definition is inconsistent; raised while loading."""


class ConfigurationError(VerifierError):
    """A configuration value is missing or wrong; raised at start-up, naming the key."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one request (or one fact of it) may not be served: the rule and what it is about.

    ``rule`` is one of ``verifier.access.RefusalRule``'s values; ``fact`` is the item's name
    for the fact and ``catalogue_fact`` the catalogue's (both None for a refusal of the whole
    request, e.g. an item the caller holds no right to).
    """

    rule: str
    description: str
    fact: str | None = None
    catalogue_fact: str | None = None
    department: str | None = None
    sharing: str | None = None


class AccessDenied(VerifierError):
    """The catalogue's sharing rules or the caller's rights forbid this request.

    Raised after validation and before any department call or cache read; the refusal is
    audited first. ``refusals`` names every refused fact and the rule that refused it.
    """

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = tuple(refusals)
        summary = "; ".join(
            (f"fact {r.fact!r}: " if r.fact else "") + f"{r.rule}: {r.description}"
            for r in self.refusals
        )
        super().__init__(f"permission denied: {summary}")


class DepartmentError(VerifierError):
    """A department adapter could not produce an answer.

    Adapters map their client's exceptions to this family (never let a driver exception
    escape) and must keep raw record values out of the message.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class DepartmentUnavailable(DepartmentError):
    """The department's system could not be reached or refused the call; worth retrying."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, retryable=retryable)


class DepartmentAnswerInvalid(DepartmentError):
    """The department answered, but the answer is malformed or about another subject."""


class AuditUnavailable(VerifierError):
    """The audit record could not be written durably, so no answer may be given."""

    retryable = True
