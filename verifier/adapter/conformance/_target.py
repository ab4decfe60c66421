"""What the conformance suite is told about a department: how to build it, whom to ask about."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from verifier.adapter._seam import DepartmentAdapter, DepartmentQuery, FactRequest, ParameterValue
from verifier.catalogue import Catalogue, FactDefinition, SharingClass

AdapterFactory = Callable[[Mapping[str, object]], DepartmentAdapter]
"""The department's ``verifier.adapters`` entry point: settings (``url``…) → adapter."""


@dataclass(frozen=True, slots=True)
class ConformanceDatabase:
    """What a suite's database fixture may return instead of a bare URL: the URL and the
    subjects this database holds (when they are known only once it is written)."""

    url: str
    samples: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ConformanceTarget:
    """One department adapter package, as the conformance suite exercises it."""

    department: str
    """The catalogue id of the department."""
    create_adapter: AdapterFactory
    catalogue: Catalogue
    """The catalogue the department is wired against (its facts are the ones checked)."""
    unknown_subject: str
    """A well-formed identifier the department holds nothing on."""
    samples: Sequence[str] = ()
    """Identifiers of subjects the department holds (at least one, here or from the
    database fixture: ``ConformanceDatabase.samples``). A fact with several subject slots
    gets the next samples in its other slots."""
    parameters: Mapping[str, Mapping[str, ParameterValue]] = field(default_factory=dict)
    """Per catalogue fact with parameters, the values to ask it with."""
    reference_date: date = date(2026, 8, 31)
    settings: Mapping[str, object] = field(default_factory=dict)
    """Settings besides ``url`` handed to ``create_adapter`` (e.g. ``city_prefix``)."""

    def __post_init__(self) -> None:
        if self.department not in self.catalogue.departments:
            raise ValueError(f"department {self.department!r} is not in the catalogue")

    def on(self, database: str | ConformanceDatabase) -> tuple[ConformanceTarget, str]:
        """The target with the database's samples (if it has some), and the database URL."""
        if isinstance(database, str):
            found, url = self, database
        else:
            samples = database.samples or self.samples
            found, url = replace(self, samples=tuple(samples)), database.url
        if not found.samples:
            raise ValueError(
                f"conformance of {self.department!r}: no sample subjects (give "
                "ConformanceTarget.samples, or ConformanceDatabase.samples from the fixture)"
            )
        return found, url

    def facts(self) -> list[FactDefinition]:
        """The catalogue facts the department must derive (not-shared ones are never asked)."""
        return [
            fact
            for fact in self.catalogue.facts_of(self.department)
            if fact.sharing is not SharingClass.NOT_SHARED
        ]

    def adapter(self, url: str) -> DepartmentAdapter:
        return self.create_adapter({**self.settings, "url": url})

    def register_fact(self) -> str | None:
        """The catalogue fact that says whether a register holds a subject, if this
        department keeps one (the population register answers False, not UNKNOWN)."""
        for register in self.catalogue.registers.values():
            if register.department == self.department:
                return register.fact
        return None

    def request(self, fact: FactDefinition, ids: Sequence[str], key: str) -> FactRequest:
        """``fact`` about ``ids[0]`` (its first slot), the other slots taking the next ids."""
        subjects = {slot: ids[index % len(ids)] for index, slot in enumerate(fact.subjects)}
        return FactRequest(key, fact.id, subjects, dict(self.parameters.get(fact.id, {})))

    def query_about(self, first: str, others: Sequence[str] = ()) -> DepartmentQuery:
        """Every fact of the department about ``first`` (other slots: ``others``)."""
        ids = [first, *others] if others else [first, *self.samples]
        requests = tuple(self.request(fact, ids, fact.id) for fact in self.facts())
        return DepartmentQuery(self.department, self.reference_date, requests)

    def sample_queries(self) -> list[DepartmentQuery]:
        """One query per sample subject, asking every fact about it."""
        samples = list(self.samples)
        return [
            self.query_about(sample, samples[index + 1 :] + samples[: index + 1])
            for index, sample in enumerate(samples)
        ]

    def secrets(self) -> list[str]:
        """What no error message may quote: the subjects' identifiers."""
        return [*self.samples, self.unknown_subject]
