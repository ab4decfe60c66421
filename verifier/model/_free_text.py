"""Free text must not carry identifiers: a clerk's note is kept verbatim in the audit log.

``operator``, ``case_number``, ``purpose``, ``legal_basis``, ``consent_reference`` (and the
caller's names) are stored as typed and shown in access statements. A resident ID typed
there would sit in full in a log whose every other mention of a person is pseudonymised,
and be shown to whichever citizen asks for that record. So such text is **refused**, not
masked: masking would still write part of the ID (and the rest of the note around it,
which the clerk meant to say something with) into an append-only log nobody can correct;
a refusal keeps the log free of it and tells the clerk at once, while they can still fix
the application. Only checksum-valid identifiers count (the very checks that admit a
subject's ID, in ``_identifiers``), so a case number such as ``2026-0001234`` or any
18 digits whose check character is wrong pass through.

The error names the kind of identifier, never the value or where in the text it was.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from verifier.model._identifiers import parse_credit_code, parse_resident_id

# Overlapping windows (a lookahead consumes nothing): an ID glued to other digits or
# letters is still found. 17 digits then a digit or X (GB 11643); 18 characters of the
# GB 32100 alphabet, either case (``parse_credit_code`` upper-cases as it does for subjects).
_RESIDENT_ID_CANDIDATE = re.compile(r"(?=([0-9]{17}[0-9Xx]))")
_CREDIT_CODE_CANDIDATE = re.compile(r"(?=([0-9A-HJ-NP-RTUWXY]{18}))", re.IGNORECASE)
# IDs are often written in groups ("440305 19850312 201X", "4403-0519…"): one space or
# hyphen between two digits is taken out before scanning.
_DIGIT_GROUP_SEPARATOR = re.compile(r"(?<=[0-9])[ \-](?=[0-9])")

RESIDENT_ID_IN_TEXT = (
    "contains what looks like a resident ID number; free text must not carry personal identifiers"
)
CREDIT_CODE_IN_TEXT = (
    "contains what looks like a unified social credit code; "
    "free text must not carry personal identifiers"
)


def refuse_identifiers(text: str) -> str:
    """Return ``text`` unchanged, or raise ValueError if it holds a valid ID or credit code.

    Full-width digits and letters (typed with a Chinese input method) are read as ASCII
    (NFKC) for the scan only. The work is linear in the text's length, which the field's
    maximum length already bounds when this runs.
    """
    scanned = _DIGIT_GROUP_SEPARATOR.sub("", unicodedata.normalize("NFKC", text))
    if any(_valid(parse_resident_id, m) for m in _RESIDENT_ID_CANDIDATE.finditer(scanned)):
        raise ValueError(RESIDENT_ID_IN_TEXT)
    if any(_valid(parse_credit_code, m) for m in _CREDIT_CODE_CANDIDATE.finditer(scanned)):
        raise ValueError(CREDIT_CODE_IN_TEXT)
    return text


def _valid(parse: Callable[[str], str], match: re.Match[str]) -> bool:
    try:
        parse(match.group(1))
    except ValueError:
        return False
    return True
