"""Who may ask what: each calling system's rights (the service items it may use) and the
catalogue's sharing classes, purposes, legal basis and consent — checked after the
application is validated and before any department or cache is consulted."""

from verifier.access._authorise import RefusalRule, authorise
from verifier.access._rights import ALL_ITEMS, AccessPolicy, CallerGrant

__all__ = ["ALL_ITEMS", "AccessPolicy", "CallerGrant", "RefusalRule", "authorise"]
