"""Planted school_place samples: each combination of the rule's clauses, one household each."""

from __future__ import annotations

from datetime import timedelta

from adapters.demo_city._calendar import add_months
from adapters.demo_city._manifest import ExpectedFact
from adapters.demo_city._planter import SCHOOL_PLACE, Planter, fact, guardian_fact
from adapters.demo_city._what_if import RENTAL_6_MONTHS

ELIGIBLE, NOT_ELIGIBLE, NEEDS_REVIEW = "ELIGIBLE", "NOT_ELIGIBLE", "NEEDS_REVIEW"
PENDING = "RECORD_PENDING"


def school_facts(
    district: str, guardian: bool, in_district: bool | None, rental: int, continuous: int
) -> list[ExpectedFact]:
    """The four facts the school_place rule reads (``in_district`` None: pending record)."""
    unknown = PENDING if in_district is None else None
    return [
        guardian_fact(guardian),
        fact(
            "household",
            "household_registered_in_district",
            in_district,
            "child",
            unknown=unknown,
            district=district,
        ),
        fact(
            "housing", "registered_rental_months_in_district", rental, "guardian", district=district
        ),
        fact("social_insurance", "social_insurance_continuous_months", continuous, "guardian"),
    ]


def school_local_registration(p: Planter) -> None:
    district = "440305"
    father = p.person("M", 38, district, district)
    mother = p.person("F", 36, "440303", district)
    child = p.person("F", 8, district, district)
    for person in (father, mother, child):
        p.local(person, district)
    p.insured(father, (95, 0))
    p.taxed(father, (40, 0))
    household = p.household(father, mother, child)
    p.guardian(household, father, child, child.birth_date)
    p.guardian(household, mother, child, child.birth_date)
    p.home(household, district, [(father, 50), (mother, 50)], p.years_ago(6))
    p.sample(
        "school_place_local_registration",
        ELIGIBLE,
        "The child's household registration is in the district; the father applies.",
        SCHOOL_PLACE,
        {"guardian": father, "child": child},
        {"district": district},
        [
            *school_facts(district, True, True, 0, 96),
            fact("social_insurance", "social_insurance_enrolled", True, "guardian"),
            fact("household", "local_household_registration", True, "child"),
        ],
    )


def school_rental_and_insurance(p: Planter) -> None:
    district, origin = "440306", "430524"
    mother = p.person("F", 34, origin, district)
    child = p.person("M", 7, origin, district)
    p.registered(child, (origin, child.birth_date, None))  # registered in the hometown
    first = p.months_ago(26)
    p.rent(
        mother,
        district,
        (first, add_months(first, 12)),
        (add_months(first, 12), add_months(first, 36)),
    )
    p.insured(mother, (30, 0))
    household = p.household(mother, child)
    p.guardian(household, mother, child, p.years_ago(3))
    p.sample(
        "school_place_rental_and_insurance",
        ELIGIBLE,
        "Migrant mother: 26 months of back-to-back registered rental in the district and 31 "
        "continuous months of social insurance; the child is registered in the hometown.",
        SCHOOL_PLACE,
        {"guardian": mother, "child": child},
        {"district": district},
        [
            *school_facts(district, True, False, 26, 31),
            fact("household", "local_household_registration", False, "child"),
        ],
    )


def school_rental_11_months(p: Planter) -> None:
    district, origin = "440307", "360721"
    father = p.person("M", 40, origin, district)
    child = p.person("F", 10, origin, district)
    start = add_months(p.today + timedelta(days=1), -11)
    # An earlier contract ended ten days before the current one began: the gap breaks it.
    p.rent(
        father,
        district,
        (add_months(start, -18), start - timedelta(days=10)),
        (start, add_months(start, 12)),
    )
    p.insured(father, (59, 0))
    household = p.household(father, child)
    p.guardian(household, father, child, child.birth_date)
    p.sample(
        "school_place_rental_11_months",
        NOT_ELIGIBLE,
        "The current rental covers exactly 11 whole months (an earlier one ended with a gap); "
        "insurance is fine and the child is not registered in the district.",
        SCHOOL_PLACE,
        {"guardian": father, "child": child},
        {"district": district},
        school_facts(district, True, False, 11, 60),
        what_if={RENTAL_6_MONTHS: ELIGIBLE},
    )


def school_insurance_gap(p: Planter) -> None:
    district, origin = "440309", "450881"
    mother = p.person("F", 37, origin, district)
    child = p.person("M", 9, origin, district)
    start = p.months_ago(20)
    p.rent(mother, district, (start, add_months(start, 24)))
    p.insured(mother, (60, 12), (10, 0))  # the month 11 months ago was not paid
    household = p.household(mother, child)
    p.guardian(household, mother, child, child.birth_date)
    p.sample(
        "school_place_insurance_gap",
        NOT_ELIGIBLE,
        "Rental in the district for 20 months, but a one-month gap in social insurance "
        "leaves 11 continuous months (59 of the last 60 paid).",
        SCHOOL_PLACE,
        {"guardian": mother, "child": child},
        {"district": district},
        [
            *school_facts(district, True, False, 20, 11),
            fact(
                "social_insurance",
                "social_insurance_months_in_window",
                59,
                "guardian",
                window_months=60,
            ),
        ],
    )


def school_not_guardian(p: Planter) -> None:
    district = "440304"
    father = p.person("M", 41, district, district)
    child = p.person("M", 11, district, district)
    uncle = p.person("M", 45, district, district)
    cousin = p.person("F", 12, district, district)
    for person in (father, child, uncle, cousin):
        p.local(person, district)
    p.insured(uncle, (70, 0))
    family = p.household(father, child)
    p.guardian(family, father, child, child.birth_date)
    uncles = p.household(uncle, cousin)
    p.guardian(uncles, uncle, cousin, cousin.birth_date)
    p.sample(
        "school_place_not_guardian",
        NOT_ELIGIBLE,
        "The applicant is the child's uncle: the register records him as guardian of his own "
        "daughter only. The child is registered in the district.",
        SCHOOL_PLACE,
        {"guardian": uncle, "child": child},
        {"district": district},
        school_facts(district, False, True, 0, 71),
    )


def school_pending_transfer(p: Planter) -> None:
    district = "440305"
    father = p.person("M", 39, district, district)
    child = p.person("M", 6, "440303", district)
    p.local(father, district)
    p.registered(child, ("440303", child.birth_date, None))
    p.pending(child)
    p.insured(father, (39, 0))
    household = p.household(father, child)
    p.guardian(household, father, child, child.birth_date)
    p.sample(
        "school_place_pending_transfer",
        NEEDS_REVIEW,
        "The child's household record is pending transfer, and the father has no registered "
        "rental: nothing else decides, so a clerk must look.",
        SCHOOL_PLACE,
        {"guardian": father, "child": child},
        {"district": district},
        [
            *school_facts(district, True, None, 0, 40),
            fact("household", "local_household_registration", None, "child", unknown=PENDING),
            fact("household", "local_household_registration", True, "guardian"),
        ],
    )


def school_moved_on_cutoff(p: Planter) -> None:
    district, before = "440305", "440306"
    mother = p.person("F", 35, before, district)
    child = p.person("F", 7, before, district)
    for person in (mother, child):
        p.registered(person, (before, person.birth_date, p.today), (district, p.today, None))
    p.insured(mother, (24, 0))
    household = p.household(mother, child)
    p.guardian(household, mother, child, child.birth_date)
    p.sample(
        "school_place_moved_on_cutoff",
        ELIGIBLE,
        "The family's registration moved into the district exactly on the reference date.",
        SCHOOL_PLACE,
        {"guardian": mother, "child": child},
        {"district": district},
        [
            *school_facts(district, True, True, 0, 25),
            fact("household", "household_registered_in_district", False, "child", district=before),
        ],
    )


def _renting_for(p: Planter, months: int, district: str, origin: str) -> None:
    """A migrant mother renting in the district for exactly ``months`` whole months (one
    current contract), insured 40 months; her child is registered in the hometown."""
    mother = p.person("F", 33 + months % 5, origin, district)
    child = p.person("M", 6 + months % 4, origin, district)
    p.registered(child, (origin, child.birth_date, None))
    start = add_months(p.today + timedelta(days=1), -months)
    p.rent(mother, district, (start, add_months(start, 24)))
    p.insured(mother, (39, 0))
    household = p.household(mother, child)
    p.guardian(household, mother, child, child.birth_date)
    changes = months >= 6
    p.sample(
        f"school_place_rental_{months}_months_what_if",
        NOT_ELIGIBLE,
        f"Planted for the what-if {RENTAL_6_MONTHS}: {months} whole months of registered "
        "rental in the district and 40 continuous months of insurance; the child is "
        "registered in the hometown. "
        + ("ELIGIBLE if 6 months sufficed." if changes else "Short of 6 months as well."),
        SCHOOL_PLACE,
        {"guardian": mother, "child": child},
        {"district": district},
        school_facts(district, True, False, months, 40),
        what_if={RENTAL_6_MONTHS: ELIGIBLE if changes else NOT_ELIGIBLE},
    )


def school_rental_6_months_what_if(p: Planter) -> None:
    _renting_for(p, 6, "440306", "421127")


def school_rental_9_months_what_if(p: Planter) -> None:
    _renting_for(p, 9, "440307", "441481")


def school_rental_5_months_what_if(p: Planter) -> None:
    _renting_for(p, 5, "440309", "350583")
