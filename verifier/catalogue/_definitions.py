"""The catalogue (目录): every shared fact, who provides it, and who may use it for what."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from verifier.model import Identifier, SubjectKind, ValueType


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
    absence_value: StrictBool | StrictInt | None = None
    """What the department answers about a subject it holds nothing on (owns no home: true;
    overdue tax: false; months paid: 0). Such an answer is evidence only about a subject the
    register of its kind holds (``Catalogue.registers``); about anyone else the engine
    makes it UNKNOWN (``SUBJECT_NOT_FOUND``). None: no answer looks like an absence."""

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
        self._check_absence_value()
        return self

    def _check_absence_value(self) -> None:
        value = self.absence_value
        if value is None:
            return
        expected = bool if self.value_type is ValueType.BOOLEAN else int
        if type(value) is not expected:
            raise ValueError(
                f"absence_value of {self.id!r} must be of the fact's type ({self.value_type})"
            )
        if expected is int and (value < 0 or (self.maximum is not None and value > self.maximum)):
            raise ValueError(f"absence_value of {self.id!r} must be within 0..maximum")


class Register(BaseModel):
    """The department fact that says whether a register holds a subject of one kind (the
    population register for natural persons): the evidence a negative fact needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: Identifier
    fact: Identifier


class Catalogue(BaseModel):
    """Departments and facts, checked for consistency when built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    departments: dict[Identifier, Department]
    facts: dict[Identifier, FactDefinition]
    registers: dict[SubjectKind, Register] = Field(default_factory=dict)
    """Per subject kind, the fact that confirms a subject exists. The engine asks it about
    every subject of that kind a negative fact is about (in the same department call)."""

    @model_validator(mode="after")
    def _check_departments(self) -> Catalogue:
        for fact in self.facts.values():
            if fact.department not in self.departments:
                raise ValueError(f"fact {fact.id!r} names unknown department {fact.department!r}")
        for kind, register in self.registers.items():
            self._check_register(kind, register)
        return self

    def _check_register(self, kind: SubjectKind, register: Register) -> None:
        fact = self.facts.get(register.fact)
        where = f"register of {kind.value}"
        if fact is None:
            raise ValueError(f"{where} names unknown fact {register.fact!r}")
        if fact.department != register.department:
            raise ValueError(f"{where}: fact {fact.id!r} is not {register.department!r}'s")
        # Asked for every item whatever its sharing rules, about one subject, as a yes/no
        # whose "no" is itself the answer (not an absence to be questioned).
        if fact.sharing is not SharingClass.UNCONDITIONAL:
            raise ValueError(f"{where}: fact {fact.id!r} must be shared unconditionally")
        if fact.value_type is not ValueType.BOOLEAN or len(fact.subjects) != 1:
            raise ValueError(f"{where}: fact {fact.id!r} must be a yes/no about one subject")
        if fact.parameters or fact.absence_value is not None:
            raise ValueError(
                f"{where}: fact {fact.id!r} takes no parameters and has no absence_value"
            )

    def register_for(self, kind: SubjectKind) -> FactDefinition | None:
        """The fact confirming that a subject of ``kind`` exists, if the catalogue has one."""
        register = self.registers.get(kind)
        return None if register is None else self.facts[register.fact]

    def fact(self, fact_id: str) -> FactDefinition:
        try:
            return self.facts[fact_id]
        except KeyError:
            raise KeyError(f"fact {fact_id!r} is not in the catalogue") from None

    def facts_of(self, department: str) -> list[FactDefinition]:
        return [fact for fact in self.facts.values() if fact.department == department]
