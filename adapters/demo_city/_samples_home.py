"""Planted first_home_purchase samples: buyers on each side of every threshold."""

from __future__ import annotations

from adapters.demo_city._calendar import add_months
from adapters.demo_city._manifest import ExpectedFact
from adapters.demo_city._planter import FIRST_HOME, Planter, fact

ELIGIBLE, NOT_ELIGIBLE, NEEDS_REVIEW = "ELIGIBLE", "NOT_ELIGIBLE", "NEEDS_REVIEW"
PENDING = "RECORD_PENDING"
WINDOW = 36


def home_facts(
    role: str, homes: int, local: bool | None, insured: int, taxed: int
) -> list[ExpectedFact]:
    """The facts first_home_purchase reads about the buyer (``local`` None: pending)."""
    unknown = PENDING if local is None else None
    return [
        fact("housing", "owns_no_home_in_city", homes == 0, role),
        fact("housing", "homes_owned_in_city", homes, role),
        fact("household", "local_household_registration", local, role, unknown=unknown),
        fact(
            "social_insurance",
            "social_insurance_months_in_window",
            insured,
            role,
            window_months=WINDOW,
        ),
        fact("tax", "income_tax_months_in_window", taxed, role, window_months=WINDOW),
    ]


def first_home_local_buyer(p: Planter) -> None:
    district = "440303"
    buyer = p.person("M", 31, district, district)
    spouse = p.person("F", 30, "441481", district)
    p.local(buyer, district)
    p.registered(
        spouse, ("441481", spouse.birth_date, p.years_ago(5)), (district, p.years_ago(5), None)
    )
    p.insured(buyer, (47, 0))
    p.taxed(buyer, (29, 0))
    p.arrear(buyer, 200, 150)  # settled long ago: not overdue
    household = p.household(buyer, spouse)
    # Sold a flat last year: owned nothing on the reference date.
    p.home(household, district, [(buyer, 100)], p.years_ago(6), p.years_ago(1))
    p.sample(
        "first_home_local_buyer",
        ELIGIBLE,
        "A local buyer who sold his only flat last year; his wife owns nothing.",
        FIRST_HOME,
        {"buyer": buyer, "spouse": spouse},
        {},
        [
            *home_facts("buyer", 0, True, 36, 30),
            fact("housing", "owns_no_home_in_city", True, "spouse"),
            fact("tax", "has_overdue_tax", False, "buyer"),
        ],
    )


def first_home_migrant_tax_24(p: Planter) -> None:
    origin = "430102"
    buyer = p.person("F", 29, origin, "440306")
    p.insured(buyer, (19, 0))
    p.taxed(buyer, (40, 30), (17, 0))  # 6 + 18 months inside the 36-month window
    p.rent(buyer, "440306", (p.months_ago(20), add_months(p.months_ago(20), 24)))
    p.household(buyer)
    p.sample(
        "first_home_migrant_tax_24",
        ELIGIBLE,
        "A migrant with exactly 24 months of income tax in the last 36 (20 of insurance).",
        FIRST_HOME,
        {"buyer": buyer},
        {},
        home_facts("buyer", 0, False, 20, 24),
    )


def first_home_migrant_23_months(p: Planter) -> None:
    origin = "421127"
    buyer = p.person("M", 33, origin, "440307")
    p.insured(buyer, (45, 36), (22, 0))  # the month 36 ago is just outside the window
    p.taxed(buyer, (36, 36), (22, 0))
    p.arrear(buyer, 30, None)
    p.household(buyer)
    p.sample(
        "first_home_migrant_23_months",
        NOT_ELIGIBLE,
        "A migrant with 23 months of both insurance and income tax in the last 36; the "
        "months just before the window do not count.",
        FIRST_HOME,
        {"buyer": buyer},
        {},
        [
            *home_facts("buyer", 0, False, 23, 23),
            fact("social_insurance", "social_insurance_continuous_months", 23, "buyer"),
            fact("tax", "has_overdue_tax", True, "buyer"),
        ],
    )


def first_home_spouse_owns_home(p: Planter) -> None:
    district = "440304"
    buyer = p.person("F", 32, district, district)
    spouse = p.person("M", 34, district, district)
    for person in (buyer, spouse):
        p.local(person, district)
    p.insured(buyer, (50, 0))
    household = p.household(buyer, spouse)
    p.home(household, "440305", [(spouse, 100)], p.years_ago(5))
    p.sample(
        "first_home_spouse_owns_home",
        NOT_ELIGIBLE,
        "The buyer owns nothing, but her husband owns a flat (bought before the marriage).",
        FIRST_HOME,
        {"buyer": buyer, "spouse": spouse},
        {},
        [
            *home_facts("buyer", 0, True, 36, 0),
            fact("housing", "owns_no_home_in_city", False, "spouse"),
            fact("housing", "homes_owned_in_city", 1, "spouse"),
        ],
    )


def first_home_second_home(p: Planter) -> None:
    district = "440307"
    buyer = p.person("M", 44, district, district)
    spouse = p.person("F", 43, district, district)
    for person in (buyer, spouse):
        p.local(person, district)
    p.insured(buyer, (100, 0))
    household = p.household(buyer, spouse)
    p.home(household, district, [(buyer, 50), (spouse, 50)], p.years_ago(8))
    p.home(household, "440309", [(buyer, 100)], p.today)  # registered on the reference date
    p.sample(
        "first_home_second_home",
        NOT_ELIGIBLE,
        "The buyer co-owns the family flat and registered a second one on the reference date.",
        FIRST_HOME,
        {"buyer": buyer},
        {},
        [
            *home_facts("buyer", 2, True, 36, 0),
            fact("social_insurance", "social_insurance_enrolled", True, "buyer"),
        ],
    )


def first_home_pending_transfer(p: Planter) -> None:
    origin = "445122"
    buyer = p.person("M", 27, origin, "440309")
    p.registered(buyer, (origin, buyer.birth_date, None))
    p.pending(buyer)
    p.insured(buyer, (14, 0))
    p.taxed(buyer, (9, 0))
    p.household(buyer)
    p.sample(
        "first_home_pending_transfer",
        NEEDS_REVIEW,
        "A buyer from another city whose household transfer into the city is pending, with "
        "15 months of insurance and 10 of tax: only the registration could decide.",
        FIRST_HOME,
        {"buyer": buyer},
        {},
        home_facts("buyer", 0, None, 15, 10),
    )


def first_home_twin_x_check(p: Planter) -> None:
    district = "440305"
    buyer, twin = p.twins_with_x(district, 30, district)
    for person in (buyer, twin):
        p.local(person, district)
    p.insured(buyer, (60, 0))
    household = p.household(buyer, twin)
    # The twin (consecutive sequence number) owns two flats: mixing them up would show.
    p.home(household, district, [(twin, 100)], p.years_ago(3))
    p.home(household, "440304", [(twin, 100)], p.years_ago(2))
    application_id = buyer.resident_id[:17] + "x"
    p.sample(
        "first_home_twin_x_check",
        ELIGIBLE,
        "A buyer whose ID ends in X, written with a lower-case x; the twin owns two flats.",
        FIRST_HOME,
        {"buyer": buyer},
        {},
        [*home_facts("buyer", 0, True, 36, 0)],
    )
    subjects = p.samples[-1].application["subjects"]
    subjects[0]["id"] = application_id
