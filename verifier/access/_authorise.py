"""The access decision for one application, before any department or cache is consulted.

In order: the caller must hold a right to the service item; then every fact the item needs
is checked against the catalogue's sharing class (docs/architecture.md,
"The flow of a verification", step 4: the seeds' 无条件共享 /
有条件共享 / 不予共享):

    not in the catalogue, or not shared  → refused, whatever the caller or item
    unconditional                        → allowed
    conditional                          → allowed only if the item is among the fact's
                                           allowed items or the application's purpose among
                                           its allowed purposes, the application states a
                                           legal basis, and (where the catalogue says so)
                                           carries a consent reference

Every refusal is returned, not just the first, so one answer tells the caller all that is
wrong. Descriptions name facts, items and rules, never the application's own text.
"""

from __future__ import annotations

from enum import StrEnum

from verifier._errors import Refusal
from verifier.access._rights import ALL_ITEMS, AccessPolicy
from verifier.catalogue import Catalogue, FactDefinition, SharingClass
from verifier.model import Application, CallerIdentity
from verifier.rules import ServiceItem


class RefusalRule(StrEnum):
    CALLER_NOT_REGISTERED = "caller_not_registered"
    """The calling system holds no rights at all."""
    ITEM_NOT_GRANTED = "item_not_granted"
    """The calling system may not use this service item."""
    NOT_IN_CATALOGUE = "not_in_catalogue"
    """The item needs a fact the catalogue does not list: nothing unlisted is shared."""
    NOT_SHARED = "not_shared"
    """The fact is on the negative list (不予共享)."""
    OUTSIDE_ALLOWED_USE = "outside_allowed_use"
    """A conditional fact, and neither the item nor the purpose is among those it serves."""
    NO_LEGAL_BASIS = "no_legal_basis"
    """A conditional fact, and the application states no legal basis."""
    NO_CONSENT = "no_consent"
    """The catalogue requires the subject's consent, and the application cites none."""


def authorise(
    item: ServiceItem,
    application: Application,
    caller: CallerIdentity,
    catalogue: Catalogue,
    policy: AccessPolicy | None,
) -> list[Refusal]:
    """Every reason this application may not be served (empty: it may). ``policy`` None
    means callers are not restricted to items (an embedding that authorises on its own);
    the catalogue's rules apply all the same."""
    return caller_refusals(item, caller, policy) or catalogue_refusals(item, application, catalogue)


def caller_refusals(
    item: ServiceItem, caller: CallerIdentity, policy: AccessPolicy | None
) -> list[Refusal]:
    """Why the calling system may not use this item at all (empty: it may)."""
    if policy is not None:
        grant = policy.grant_for(caller.system)
        if grant is None:
            return [
                Refusal(
                    RefusalRule.CALLER_NOT_REGISTERED,
                    "the calling system holds no rights to any service item",
                )
            ]
        if ALL_ITEMS not in grant.items and item.id not in grant.items:
            return [
                Refusal(
                    RefusalRule.ITEM_NOT_GRANTED,
                    f"the calling system may not use service item {item.id!r}",
                )
            ]
    return []


def catalogue_refusals(
    item: ServiceItem, application: Application, catalogue: Catalogue
) -> list[Refusal]:
    """Why the catalogue does not share this application's facts (empty: it does): the
    sharing classes, allowed uses, legal basis and consent — for every caller."""
    refusals: list[Refusal] = []
    for name, use in item.facts.items():
        definition = catalogue.facts.get(use.fact)
        if definition is None:
            refusals.append(
                Refusal(
                    RefusalRule.NOT_IN_CATALOGUE,
                    f"catalogue fact {use.fact!r} is not listed in catalogue "
                    f"{catalogue.version}; only listed facts are shared",
                    fact=name,
                    catalogue_fact=use.fact,
                )
            )
            continue
        refusals.extend(_fact_refusals(name, definition, item, application))
    return refusals


def _fact_refusals(
    name: str, fact: FactDefinition, item: ServiceItem, application: Application
) -> list[Refusal]:
    def refusal(rule: RefusalRule, description: str) -> Refusal:
        return Refusal(
            rule,
            description,
            fact=name,
            catalogue_fact=fact.id,
            department=fact.department,
            sharing=fact.sharing.value,
        )

    if fact.sharing is SharingClass.NOT_SHARED:
        return [
            refusal(
                RefusalRule.NOT_SHARED,
                f"catalogue fact {fact.id!r} is on the negative list (not shared) "
                f"under {fact.legal_reference}",
            )
        ]
    if fact.sharing is SharingClass.UNCONDITIONAL:
        return []
    refusals = []
    item_allowed = item.id in fact.allowed_items
    purpose_allowed = application.purpose is not None and application.purpose in (
        fact.allowed_purposes
    )
    if not (item_allowed or purpose_allowed):
        refusals.append(
            refusal(
                RefusalRule.OUTSIDE_ALLOWED_USE,
                f"conditional fact {fact.id!r} serves only "
                + _allowed_uses(fact)
                + f"; neither service item {item.id!r} nor the application's purpose is "
                "among them",
            )
        )
    if not application.legal_basis:
        refusals.append(
            refusal(
                RefusalRule.NO_LEGAL_BASIS,
                f"conditional fact {fact.id!r} is shared only with a legal basis; "
                "the application states none (legal_basis)",
            )
        )
    if fact.requires_consent and not application.consent_reference:
        refusals.append(
            refusal(
                RefusalRule.NO_CONSENT,
                f"catalogue fact {fact.id!r} is shared only with the subject's consent; "
                "the application cites none (consent_reference)",
            )
        )
    return refusals


def _allowed_uses(fact: FactDefinition) -> str:
    uses = []
    if fact.allowed_items:
        uses.append("service items " + ", ".join(fact.allowed_items))
    if fact.allowed_purposes:
        uses.append("purposes " + ", ".join(fact.allowed_purposes))
    return " or ".join(uses)
