"""The catalogue (目录): every shared fact, who provides it, and who may use it for what."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from verifier.model import Identifier, ValueType


class SharingClass(StrEnum):
    """The sharing classes of the seeds' catalogues (无条件共享 / 有条件共享 / 不予共享)."""

    UNCONDITIONAL = "unconditional"
    """Any registered service item may use the fact."""
    CONDITIONAL = "conditional"
    """Only the listed service items (or purposes) may use the fact, with a legal basis."""
    NOT_SHARED = "not_shared"
    """On the negative list: never disclosed, whatever the item or caller."""


class Department(BaseModel):
    """A provider department. It answers for its data (谁主管，谁提供，谁负责)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    name: str
    name_zh: str | None = None
    update_frequency: str | None = None
    """How often the department refreshes the shared data (as the catalogue declares it)."""


class FactParameter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["string", "integer"]
    description: str
    minimum: int | None = None
    maximum: int | None = None


class FactDefinition(BaseModel):
    """One shared information item: a minimal, typed statement about one or more subjects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    department: Identifier
    description: str
    value_type: ValueType
    maximum: int | None = None
    """Integer facts are capped here (data minimisation: "at least 60 months" is enough)."""
    subjects: tuple[Identifier, ...] = ("subject",)
    """The slots an item binds to application roles (e.g. ``guardian`` and ``child``)."""
    parameters: dict[Identifier, FactParameter] = Field(default_factory=dict)
    sharing: SharingClass
    allowed_items: tuple[Identifier, ...] = ()
    """For conditional facts: the service items that may use the fact."""
    allowed_purposes: tuple[Identifier, ...] = ()
    """For conditional facts: the purpose codes the fact may serve, whatever the item
    (checked per request against the application's ``purpose``)."""
    requires_consent: bool = False
    """The subject's consent (授权) is needed: the application must cite a consent reference."""
    freshness: timedelta
    """The fact's maximum age: bounds any cache and flags data the department let go stale."""
    replaces_document: str | None = None
    """The paper proof this fact makes unnecessary (shown to the citizen and counted)."""
    legal_reference: str

    @model_validator(mode="after")
    def _check_shape(self) -> FactDefinition:
        if self.sharing is SharingClass.CONDITIONAL and not (
            self.allowed_items or self.allowed_purposes
        ):
            raise ValueError(
                f"conditional fact {self.id!r} must list allowed_items or allowed_purposes"
            )
        if self.sharing is not SharingClass.CONDITIONAL and (
            self.allowed_items or self.allowed_purposes
        ):
            raise ValueError(f"only conditional facts list allowed items/purposes ({self.id!r})")
        if self.requires_consent and self.sharing is not SharingClass.CONDITIONAL:
            raise ValueError(f"only conditional facts require consent ({self.id!r})")
        if self.maximum is not None and self.value_type is not ValueType.INTEGER:
            raise ValueError(f"only integer facts have a maximum ({self.id!r})")
        if len(set(self.subjects)) != len(self.subjects) or not self.subjects:
            raise ValueError(f"fact {self.id!r} needs distinct subject slots")
        return self


class Catalogue(BaseModel):
    """Departments and facts, checked for consistency when built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    departments: dict[Identifier, Department]
    facts: dict[Identifier, FactDefinition]

    @model_validator(mode="after")
    def _check_departments(self) -> Catalogue:
        for fact in self.facts.values():
            if fact.department not in self.departments:
                raise ValueError(f"fact {fact.id!r} names unknown department {fact.department!r}")
        return self

    def fact(self, fact_id: str) -> FactDefinition:
        try:
            return self.facts[fact_id]
        except KeyError:
            raise KeyError(f"fact {fact_id!r} is not in the catalogue") from None

    def facts_of(self, department: str) -> list[FactDefinition]:
        return [fact for fact in self.facts.values() if fact.department == department]
