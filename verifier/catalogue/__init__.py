"""The catalogue of shared facts: providers, sharing classes, freshness, legal references."""

from verifier.catalogue._definitions import (
    Catalogue,
    Department,
    FactDefinition,
    FactParameter,
    Register,
    SharingClass,
)
from verifier.catalogue._loader import catalogue_from_yaml, load_catalogue

__all__ = [
    "Catalogue",
    "Department",
    "FactDefinition",
    "FactParameter",
    "Register",
    "SharingClass",
    "catalogue_from_yaml",
    "load_catalogue",
]
