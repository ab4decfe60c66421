"""The planted samples: households built so that each item's outcome is known.

Each function builds one household (or two) and records the application and the facts each
department must derive for it. Values are the department's own (the catalogue's caps are the
engine's business); every one stays below its cap. The names are used by tests and demos.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from adapters.demo_city import _samples_home as home
from adapters.demo_city import _samples_recheck as recheck
from adapters.demo_city import _samples_school as school
from adapters.demo_city._manifest import DemoSample
from adapters.demo_city._model import Household, IdMint
from adapters.demo_city._planter import Planter


def plant_samples(
    seed: int, reference_date: date, ids: IdMint
) -> tuple[list[Household], list[DemoSample]]:
    planter = Planter(seed, reference_date, ids)
    for plant in _SAMPLES:
        plant(planter)
    return planter.households, planter.samples


_SAMPLES: tuple[Callable[[Planter], None], ...] = (
    school.school_local_registration,
    school.school_rental_and_insurance,
    school.school_rental_11_months,
    school.school_insurance_gap,
    school.school_not_guardian,
    school.school_pending_transfer,
    school.school_moved_on_cutoff,
    home.first_home_local_buyer,
    home.first_home_migrant_tax_24,
    home.first_home_migrant_23_months,
    home.first_home_spouse_owns_home,
    home.first_home_second_home,
    home.first_home_pending_transfer,
    home.first_home_twin_x_check,
    recheck.social_assistance_still_qualifies,
    recheck.social_assistance_member_bought_car,
    recheck.social_assistance_member_died,
    recheck.social_assistance_member_in_transfer,
    recheck.affordable_housing_still_qualifies,
    recheck.affordable_housing_undeclared_member,
    recheck.unemployment_still_qualifies,
    recheck.unemployment_drew_pension,
    # Last, so that planting them shifts no earlier sample's draws or case numbers.
    school.school_rental_6_months_what_if,
    school.school_rental_9_months_what_if,
    school.school_rental_5_months_what_if,
)
