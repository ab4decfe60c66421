"""Caller rights: which service items each calling system may use (谁使用，谁负责)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from verifier.model import Identifier

ALL_ITEMS = "*"
"""In a grant's ``items``: every registered service item (development callers)."""


class CallerGrant(BaseModel):
    """What one calling system may do: the service items it may use, and its department."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: tuple[Identifier | Literal["*"], ...] = Field(min_length=1)
    department: str | None = None
    """The department the system belongs to, recorded as the caller's in audit records
    (a request cannot claim another)."""


class AccessPolicy:
    """The rights of every registered calling system; a system not named has none."""

    def __init__(self, grants: Mapping[str, CallerGrant]) -> None:
        self._grants = dict(grants)

    def grant_for(self, system: str) -> CallerGrant | None:
        return self._grants.get(system)

    def systems(self) -> list[str]:
        return sorted(self._grants)

    def problems(self, known_items: Iterable[str]) -> list[str]:
        """Grants naming items that are not registered: a typo would silently deny."""
        known = set(known_items)
        return [
            f"{system}.items[{index}]: unknown service item {item!r}"
            for system, grant in sorted(self._grants.items())
            for index, item in enumerate(grant.items)
            if item != ALL_ITEMS and item not in known
        ]
