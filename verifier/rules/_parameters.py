"""Dated policy parameters: thresholds live in data files with the date each value took effect.

Modelled on openfisca's parameter files. A file maps parameter names to their definition::

    school_place.min_rental_months:
      description: Months of registered rental in the district a non-resident family needs.
      reference: 《…义务教育阶段学校招生工作实施办法》第…条
      unit: month
      values:
        2015-01-01: 12

The value in force on a date is the latest entry dated on or before it. Before the first
entry the parameter has no value; the item layer turns that into an input error on the
application's reference date, never into a guess.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from verifier._errors import CatalogueError
from verifier.rules._files import describe, read_mapping, yaml_sources

ParameterName = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=128)
]
"""Dotted snake_case, grouped by item or policy: ``school_place.min_rental_months``."""

PolicyValue = StrictBool | StrictInt | StrictFloat | StrictStr


class DatedParameter(BaseModel):
    """One policy parameter and the values it has taken over time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ParameterName
    description: str
    reference: str
    """The legal or policy text that sets the value."""
    unit: str | None = None
    values: dict[date, PolicyValue] = Field(min_length=1)

    _dates: tuple[date, ...] = PrivateAttr(default=())
    _ordered: tuple[PolicyValue, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _check_one_kind(self) -> DatedParameter:
        # A threshold that is a number in 2015 and a string in 2020 is a typing mistake.
        kinds = {_kind(value) for value in self.values.values()}
        if len(kinds) > 1:
            raise ValueError(f"parameter {self.name!r} mixes value kinds {sorted(kinds)}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        ordered = sorted(self.values.items())
        self._dates = tuple(day for day, _ in ordered)
        self._ordered = tuple(value for _, value in ordered)

    @property
    def first_date(self) -> date:
        return self._dates[0]

    @property
    def is_numeric(self) -> bool:
        return _kind(self._ordered[0]) == "number"

    def value_at(self, on: date) -> PolicyValue | None:
        """The value in force on ``on``; None before the first entry."""
        index = bisect.bisect_right(self._dates, on)
        return self._ordered[index - 1] if index else None


def _kind(value: PolicyValue) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


class PolicyParameters(Mapping[str, DatedParameter]):
    """Every dated parameter the service items may reference, by name."""

    def __init__(self, parameters: Iterable[DatedParameter] = ()) -> None:
        self._by_name: dict[str, DatedParameter] = {}
        for parameter in parameters:
            if parameter.name in self._by_name:
                raise CatalogueError(f"parameter {parameter.name!r} is defined twice")
            self._by_name[parameter.name] = parameter

    def __getitem__(self, name: str) -> DatedParameter:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._by_name))

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"PolicyParameters({sorted(self._by_name)!r})"


def parameters_from_yaml(text: str, *, source: str = "<string>") -> list[DatedParameter]:
    """The parameters one file defines; CatalogueError naming the file and the problem."""
    data = read_mapping(text, source)
    parameters = []
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise CatalogueError(f"{source}: parameter {name!r} must be a mapping")
        try:
            parameters.append(DatedParameter.model_validate({**entry, "name": name}))
        except ValidationError as exc:
            raise CatalogueError(
                f"{source}: parameter {name!r} is invalid:\n{describe(exc, name)}"
            ) from None
    return parameters


def load_parameters(directory: Path | None = None) -> PolicyParameters:
    """Every ``*.yaml`` parameter file in ``directory`` (default: the packaged ones)."""
    seen: dict[str, str] = {}
    parameters = []
    for source, text in yaml_sources(directory, "parameters"):
        for parameter in parameters_from_yaml(text, source=source):
            if parameter.name in seen:
                raise CatalogueError(
                    f"{source}: parameter {parameter.name!r} is already defined in "
                    f"{seen[parameter.name]}"
                )
            seen[parameter.name] = source
            parameters.append(parameter)
    return PolicyParameters(parameters)
