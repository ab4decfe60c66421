"""Evidence for a "no": a negative fact counts only about a subject the register holds.

A department that holds nothing on a subject answers as it would for someone it knows to
have nothing — "owns no home", "no overdue tax", "0 months" (the fact's ``absence_value``
in the catalogue). About a person no register knows (a mistyped or invented ID) that answer
is no evidence at all. So for each subject such a fact is about, the engine also asks the
register of the subject's kind (``Catalogue.registers``: for natural persons, the household
department's population register). The question rides in that department's call, no
extra round trip, and goes through the cache like any fact.

Once the facts are settled (fetched or cached), a KNOWN fact equal to its absence value is
re-judged: UNKNOWN(SUBJECT_NOT_FOUND) if the register does not hold one of its subjects,
UNKNOWN(SUBJECT_UNCONFIRMED) if the register could not say. Any other fact stands: a home
owned, a month paid, a "yes" is evidence of the subject whatever the register says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from verifier.catalogue import Catalogue
from verifier.model import Application, FactStatus, UnknownReason
from verifier.model._plain import PlainFact
from verifier.rules import BoundFact


@dataclass(frozen=True, slots=True)
class RegisterChecks:
    """The facts to establish (the item's and the register's), and the register's fact
    name for each role a negative fact is about."""

    bound: list[BoundFact]
    register_of: Mapping[str, str]
    """Application role → the name of the register fact asked about its subject."""

    def rejudge(self, facts: Iterable[PlainFact], catalogue: Catalogue) -> list[PlainFact]:
        """``facts`` with every unconfirmed "nothing held" made UNKNOWN (with its reason)."""
        facts = list(facts)
        by_name = {fact.name: fact for fact in facts}
        doubts = {role: _doubt(by_name.get(name)) for role, name in self.register_of.items()}
        return [_rejudged(fact, doubts, catalogue) for fact in facts]


def register_checks(
    bound: list[BoundFact], application: Application, catalogue: Catalogue
) -> RegisterChecks:
    """Add the register fact about every subject a fact with an absence value is about."""
    kinds = {subject.role: subject.kind for subject in application.subjects}
    ids = {subject.role: subject.id for subject in application.subjects}
    roles = {
        role: None
        for fact in bound
        if fact.definition.absence_value is not None
        for role in fact.roles.values()
    }
    added: list[BoundFact] = []
    register_of: dict[str, str] = {}
    for role in roles:
        register = catalogue.register_for(kinds[role])
        if register is None:
            continue
        [slot] = register.subjects
        asked = next(
            (
                fact
                for fact in bound
                if fact.definition.id == register.id and fact.subject_ids == {slot: ids[role]}
            ),
            None,
        )
        if asked is None:  # the item does not ask it itself
            # Not an identifier an item can give its own facts: no name is ever shared.
            asked = BoundFact(
                name=f"{role}.{register.id}",
                definition=register,
                subject_ids={slot: ids[role]},
                roles={slot: role},
                parameters={},
            )
            added.append(asked)
        register_of[role] = asked.name
    return RegisterChecks([*bound, *added], register_of)


def _doubt(register: PlainFact | None) -> UnknownReason | None:
    """Why a "nothing held" about the register's subject is no evidence (None: it is)."""
    if register is not None and register.status is FactStatus.KNOWN:
        return None if register.value is True else UnknownReason.SUBJECT_NOT_FOUND
    return UnknownReason.SUBJECT_UNCONFIRMED


def _rejudged(
    fact: PlainFact, doubts: Mapping[str, UnknownReason | None], catalogue: Catalogue
) -> PlainFact:
    absence = catalogue.facts[fact.fact].absence_value
    # ``type(...) is``: a count of 0 is not the yes/no False (bool is a subclass of int).
    if not fact.known or absence is None or type(fact.value) is not type(absence):
        return fact
    if fact.value != absence:
        return fact
    reasons = {doubts.get(role) for role in fact.subjects.values()} - {None}
    if not reasons:
        return fact
    reason = (
        UnknownReason.SUBJECT_NOT_FOUND
        if UnknownReason.SUBJECT_NOT_FOUND in reasons
        else UnknownReason.SUBJECT_UNCONFIRMED
    )
    return replace(fact, status=FactStatus.UNKNOWN, value=None, reason=reason)
