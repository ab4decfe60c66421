"""Reading a request's subjects and parameters inside a derivation, with errors that name them.

The catalogue declares each fact's subject slots and parameters and the engine binds them
before asking, so these fail only on a misconfigured item; the messages name the fact and
the slot or parameter, never a value.
"""

from __future__ import annotations

from datetime import date

from verifier._errors import DepartmentError
from verifier.adapter._seam import FactRequest


def subject(request: FactRequest, slot: str = "subject") -> str:
    """The identifier bound to the subject slot ``slot`` (``subject`` unless the fact names
    others, e.g. ``guardian`` and ``child``)."""
    try:
        return request.subjects[slot]
    except KeyError:
        raise DepartmentError(f"fact {request.fact!r} needs the subject slot {slot!r}") from None


def text_parameter(request: FactRequest, name: str) -> str:
    """The text parameter ``name`` of the request."""
    value = request.parameters.get(name)
    if not isinstance(value, str):
        raise DepartmentError(f"fact {request.fact!r} needs the text parameter {name!r}")
    return value


def int_parameter(request: FactRequest, name: str, *, minimum: int | None = None) -> int:
    """The integer parameter ``name`` of the request, at least ``minimum`` if given."""
    value = request.parameters.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DepartmentError(f"fact {request.fact!r} needs the integer parameter {name!r}")
    if minimum is not None and value < minimum:
        raise DepartmentError(f"fact {request.fact!r}: parameter {name!r} must be >= {minimum}")
    return value


def date_parameter(request: FactRequest, name: str) -> date:
    """The text parameter ``name`` read as an ISO date (YYYY-MM-DD)."""
    text = text_parameter(request, name)
    try:
        return date.fromisoformat(text)
    except ValueError:
        # The value is the item's, not a department record, but stays out of the message.
        raise DepartmentError(
            f"fact {request.fact!r}: parameter {name!r} must be an ISO date (YYYY-MM-DD)"
        ) from None
