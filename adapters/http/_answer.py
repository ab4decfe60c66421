"""Judge a department's 200 answer against the query it answers: trust nothing unchecked.

Messages name the department and what was wrong, never a value from the body: a body that
fails the contract may hold anything (an ID, a raw record), so it stays out of the error.
"""

from __future__ import annotations

from datetime import UTC

from pydantic import ValidationError

from adapters.http._wire import FactsAnswer, answer_values
from verifier._errors import DepartmentAnswerInvalid
from verifier.adapter import DepartmentAnswer, DepartmentQuery


def decode_answer(department: str, query: DepartmentQuery, content: bytes) -> DepartmentAnswer:
    """The seam's answer for a 200 body, or ``DepartmentAnswerInvalid``."""
    error: DepartmentAnswerInvalid
    try:
        body = FactsAnswer.model_validate_json(content)
    except ValidationError as failure:
        # Raised below, outside the handler, so pydantic's text (which quotes the input)
        # is not even chained to ours.
        error = DepartmentAnswerInvalid(
            f"{department}: the answer does not follow the wire contract ({_where(failure)})"
        )
    else:
        return _checked(department, query, body)
    raise error


def _checked(department: str, query: DepartmentQuery, body: FactsAnswer) -> DepartmentAnswer:
    if body.department != department:
        raise DepartmentAnswerInvalid(f"{department}: the answer is for another department")
    if set(body.subjects) != query.subject_ids():
        # An answer about anyone else is refused whole: none of its facts may be used.
        raise DepartmentAnswerInvalid(
            f"{department}: the answer is about other subjects than those asked about"
        )
    asked = {request.key for request in query.requests}
    missing, unexpected = asked - body.facts.keys(), body.facts.keys() - asked
    if missing or unexpected:
        raise DepartmentAnswerInvalid(
            f"{department}: the answer has {len(missing)} missing and "
            f"{len(unexpected)} unexpected fact keys"
        )
    as_of = body.source_as_of
    # In UTC, as the SQL adapters report it: the instant is what provenance compares.
    return DepartmentAnswer(
        facts=answer_values(body), source_as_of=as_of.astimezone(UTC) if as_of else None
    )


def _where(failure: ValidationError) -> str:
    """The first problem's top-level field and kind: deeper locations may be the body's keys."""
    errors = failure.errors(include_url=False, include_input=False, include_context=False)
    first = errors[0]
    field = str(first["loc"][0]) if first["loc"] else "body"
    return f"{len(errors)} problem(s), first at {field}: {first['type']}"
