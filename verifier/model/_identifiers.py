"""Resident IDs (GB 11643) and unified social credit codes (GB 32100). HELPER FILLS THIS IN."""

from __future__ import annotations

from datetime import date


def resident_id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits."""
    raise NotImplementedError


def parse_resident_id(value: str, *, today: date | None = None) -> str:
    """Validate and normalise (lower-case x → X); ValueError naming the broken part."""
    raise NotImplementedError


def resident_id_birth_date(resident_id: str) -> date:
    raise NotImplementedError


def credit_code_check_character(first17: str) -> str:
    raise NotImplementedError


def parse_credit_code(value: str) -> str:
    raise NotImplementedError


def mask_identifier(value: str) -> str:
    raise NotImplementedError
