"""The demo city's documented what-if: a policy change whose effect on the planted samples'
decisions is known, so a replay of their audit records can be checked to the decision.

``RENTAL_6_MONTHS``: the school-place rental requirement (school_place.min_rental_months)
lowered from 12 months to 6. Of the planted school_place samples, exactly those whose
guardian rents in the district for 6 to 11 months with enough social insurance change from
NOT_ELIGIBLE to ELIGIBLE (``DemoSample.what_if`` names them); one renting for 5 months stays
NOT_ELIGIBLE, and every other sample keeps its decision. The generator writes the change as
a dated-parameter file (``what_if_file``) for ``verifier audit replay --parameters``.
"""

from __future__ import annotations

import os
from pathlib import Path

RENTAL_6_MONTHS = "school_place_rental_6_months"
"""The what-if's name, as ``DemoSample.what_if`` and the file name use it."""

_PARAMETER_FILES = {
    RENTAL_6_MONTHS: """\
# What-if (政策测算): the school-place rental requirement lowered from 12 months to 6.
# Replace the dated parameter of the same name for a replay:
#   verifier audit replay --parameters school_place_rental_6_months.yaml
school_place.min_rental_months:
  description: >-
    What-if: months of continuous registered rental in the school's district that a family
    whose child is not registered there needs, lowered to 6 (租赁登记备案月数要求降为6个月).
  reference: 政策测算（非现行规定） — a what-if, not policy in force
  unit: month
  values:
    2015-01-01: 6
""",
}


def what_if_file(name: str) -> str:
    """The file name of a what-if's dated-parameter file in the city's data directory."""
    return f"what_if_{name}.yaml"


def write_what_if_files(data_dir: Path) -> None:
    for name, text in _PARAMETER_FILES.items():
        path = data_dir / what_if_file(name)
        partial = path.with_name(f".{path.name}.partial")  # replaced whole, never half written
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
