"""Planted re-check samples: recipients who still qualify, and some who no longer do.

Each changes one thing against a household that qualifies, so the failed clause is known:
a car bought, a member who died, a pension, a member of the booklet the application leaves
out. The same facts let the new departments' adapters be checked sample by sample.
"""

from __future__ import annotations

from datetime import timedelta

from adapters.demo_city._manifest import ExpectedFact
from adapters.demo_city._model import Business, Death, PensionAward, Person, Span, Vehicle
from adapters.demo_city._planter import Planter, fact

ELIGIBLE, NOT_ELIGIBLE, NEEDS_REVIEW = "ELIGIBLE", "NOT_ELIGIBLE", "NEEDS_REVIEW"
SOCIAL_ASSISTANCE = {
    "service_item": "social_assistance_recheck",
    "purpose": "social_assistance_recheck",
    "legal_basis": "《社会救助暂行办法》第六十条",
    "operator": "clerk-0311",
    "case_prefix": "MZ",
    "consent": "signed",
}
AFFORDABLE_HOUSING = {
    "service_item": "affordable_housing_recheck",
    "purpose": "affordable_housing_recheck",
    "legal_basis": "《公共租赁住房管理办法》第七条",
    "operator": "clerk-0208",
    "case_prefix": "ZJ",
    "consent": "signed",
}
UNEMPLOYMENT = {
    "service_item": "unemployment_insurance_recheck",
    "purpose": "unemployment_insurance_recheck",
    "legal_basis": "《社会保险法》第五十一条",
    "operator": "clerk-0415",
    "case_prefix": "RS",
}
SA_VEHICLE, AH_VEHICLE, SA_STANDARD, AH_LIMIT, WINDOW = 30_000, 150_000, 1_365, 6_000, 12


def person_facts(
    role: str, *, vehicle_over: bool, vehicles: int, business: bool, died: bool
) -> list[ExpectedFact]:
    """The vehicle, business, death and income facts of one member of an assisted household."""
    return [
        fact("vehicle_registration", "vehicles_owned", vehicles, role),
        fact(
            "vehicle_registration",
            "owns_vehicle_valued_over",
            vehicle_over,
            role,
            threshold_yuan=SA_VEHICLE,
        ),
        fact("market_regulation", "has_active_business_registration", business, role),
        fact("civil_affairs", "death_registered", died, role),
        fact(
            "social_insurance",
            "contribution_base_average_exceeds",
            False,
            role,
            window_months=WINDOW,
            threshold_yuan=SA_STANDARD,
        ),
        fact("tax", "income_tax_months_in_window", 0, role, window_months=WINDOW),
    ]


def member_fact(role: str, value: bool) -> ExpectedFact:
    return ExpectedFact(
        "household", "household_member_of", {"member": role, "head": "applicant"}, {}, value
    )


def larger_fact(members: int, value: bool) -> ExpectedFact:
    return ExpectedFact(
        "household", "household_larger_than", {"subject": "applicant"}, {"members": members}, value
    )


def _family(p: Planter, district: str, *ages: int) -> list[Person]:
    people = [p.person("MF"[i % 2], age, district, district) for i, age in enumerate(ages)]
    for person in people:
        p.local(person, district)
    return people


def social_assistance_still_qualifies(p: Planter) -> None:
    applicant, spouse = _family(p, "440307", 46, 44)
    p.insured(applicant, (60, 14))  # the last job ended over a year ago
    applicant.vehicles.append(Vehicle("五菱 宏光", "car", 15_000, p.years_ago(9)))
    applicant.businesses.append(
        Business("小卖部", "individual_business", p.years_ago(6), p.years_ago(2), p.years_ago(6))
    )
    p.household(applicant, spouse)
    p.sample(
        "social_assistance_still_qualifies",
        ELIGIBLE,
        "A couple with an old cheap van and a shop closed two years ago: still assisted.",
        SOCIAL_ASSISTANCE,
        {"applicant": applicant, "member_1": spouse},
        {"household_size": 2},
        [
            *person_facts("applicant", vehicle_over=False, vehicles=1, business=False, died=False),
            *person_facts("member_1", vehicle_over=False, vehicles=0, business=False, died=False),
            member_fact("member_1", True),
            larger_fact(2, False),
        ],
    )


def social_assistance_member_bought_car(p: Planter) -> None:
    applicant, child = _family(p, "440306", 38, 9)
    applicant.vehicles.append(Vehicle("丰田 卡罗拉", "car", 120_000, p.today - timedelta(days=40)))
    household = p.household(applicant, child)
    p.guardian(household, applicant, child, child.birth_date)
    p.sample(
        "social_assistance_member_bought_car",
        NOT_ELIGIBLE,
        "A single mother bought a 120,000-yuan car last month: no longer assisted.",
        SOCIAL_ASSISTANCE,
        {"applicant": applicant, "member_1": child},
        {"household_size": 2},
        [
            *person_facts("applicant", vehicle_over=True, vehicles=1, business=False, died=False),
            *person_facts("member_1", vehicle_over=False, vehicles=0, business=False, died=False),
            member_fact("member_1", True),
            larger_fact(2, False),
        ],
    )


def social_assistance_member_died(p: Planter) -> None:
    applicant, spouse = _family(p, "440303", 72, 70)
    died = p.today - timedelta(days=25)
    spouse.death = Death(died, died + timedelta(days=2), "市人民医院", "医院")
    p.household(applicant, spouse)
    p.sample(
        "social_assistance_member_died",
        NOT_ELIGIBLE,
        "An elderly couple; the wife died last month: the household must be re-assessed.",
        SOCIAL_ASSISTANCE,
        {"applicant": applicant, "member_1": spouse},
        {"household_size": 2},
        [
            *person_facts("applicant", vehicle_over=False, vehicles=0, business=False, died=False),
            *person_facts("member_1", vehicle_over=False, vehicles=0, business=False, died=True),
            member_fact("member_1", True),
            larger_fact(2, False),
        ],
    )


def social_assistance_member_in_transfer(p: Planter) -> None:
    applicant, daughter = _family(p, "440309", 52, 17)
    p.pending(daughter)  # her move to another household is being processed
    p.household(applicant, daughter)
    p.sample(
        "social_assistance_member_in_transfer",
        NEEDS_REVIEW,
        "The daughter's registration is being transferred: whether she is still in the "
        "household cannot be said, so a caseworker decides.",
        SOCIAL_ASSISTANCE,
        {"applicant": applicant, "member_1": daughter},
        {"household_size": 2},
        [
            *person_facts("applicant", vehicle_over=False, vehicles=0, business=False, died=False),
            *person_facts("member_1", vehicle_over=False, vehicles=0, business=False, died=False),
            ExpectedFact(
                "household",
                "household_member_of",
                {"member": "member_1", "head": "applicant"},
                {},
                None,
                "RECORD_PENDING",
            ),
            larger_fact(2, False),
        ],
    )


def affordable_housing_still_qualifies(p: Planter) -> None:
    applicant, spouse = _family(p, "440306", 35, 33)
    p.insured(applicant, (30, 0))
    for span in applicant.insurance:
        span.amount = 4_500  # under the 6,000-yuan limit
    spouse.vehicles.append(Vehicle("比亚迪 秦", "car", 90_000, p.years_ago(2)))
    p.household(applicant, spouse)
    p.sample(
        "affordable_housing_still_qualifies",
        ELIGIBLE,
        "A tenant couple: no home, his wage under the limit, her 90,000-yuan car allowed.",
        AFFORDABLE_HOUSING,
        {"applicant": applicant, "member_1": spouse},
        {"household_size": 2},
        [
            fact("household", "local_household_registration", True, "applicant"),
            member_fact("member_1", True),
            larger_fact(2, False),
            fact("housing", "owns_no_home_in_city", True, "applicant"),
            fact("housing", "owns_no_home_in_city", True, "member_1"),
            fact(
                "social_insurance",
                "contribution_base_average_exceeds",
                False,
                "applicant",
                window_months=WINDOW,
                threshold_yuan=AH_LIMIT,
            ),
            fact(
                "vehicle_registration",
                "owns_vehicle_valued_over",
                False,
                "member_1",
                threshold_yuan=AH_VEHICLE,
            ),
        ],
    )


def affordable_housing_undeclared_member(p: Planter) -> None:
    applicant, spouse, son = _family(p, "440304", 50, 48, 24)
    p.household(applicant, spouse, son)
    p.sample(
        "affordable_housing_undeclared_member",
        NOT_ELIGIBLE,
        "A tenant names his wife only; the register lists their adult son in the same booklet.",
        AFFORDABLE_HOUSING,
        {"applicant": applicant, "member_1": spouse},
        {"household_size": 2},
        [
            fact("household", "local_household_registration", True, "applicant"),
            member_fact("member_1", True),
            larger_fact(2, True),
            fact("housing", "owns_no_home_in_city", True, "applicant"),
            fact("housing", "owns_no_home_in_city", True, "member_1"),
            fact(
                "vehicle_registration",
                "owns_vehicle_valued_over",
                False,
                "applicant",
                threshold_yuan=AH_VEHICLE,
            ),
        ],
    )


def _unemployed(p: Planter, gender: str, age: int, benefit_months: int) -> Person:
    district = "440305"
    recipient = p.person(gender, age, district, district)
    p.local(recipient, district)
    p.insured(recipient, (90, benefit_months + 1))  # stopped the month before the benefit
    recipient.benefits.append(
        Span(p.month - benefit_months, p.month, 1_980, "南山区社会保险基金管理局")
    )
    return recipient


def unemployment_facts(
    started: str, benefit_months: int, *, business: bool, pension: bool
) -> list[ExpectedFact]:
    """The facts the unemployment re-check reads; no contribution since the start."""
    return [
        fact("civil_affairs", "death_registered", False, "recipient"),
        fact("social_insurance", "contribution_months_since", 0, "recipient", since=started),
        fact("market_regulation", "has_active_business_registration", business, "recipient"),
        fact("social_insurance", "pension_drawn", pension, "recipient"),
        fact(
            "social_insurance",
            "unemployment_benefit_months_drawn",
            benefit_months + 1,
            "recipient",
            since=started,
        ),
    ]


def unemployment_still_qualifies(p: Planter) -> None:
    recipient = _unemployed(p, "M", 41, 5)
    recipient.businesses.append(
        Business("五金店", "individual_business", p.years_ago(8), p.years_ago(3), p.years_ago(8))
    )
    p.household(recipient)
    started = p.months_ago(5).replace(day=1).isoformat()
    p.sample(
        "unemployment_still_qualifies",
        ELIGIBLE,
        "Six months into the benefit, not re-employed, his old shop long deregistered.",
        UNEMPLOYMENT,
        {"recipient": recipient},
        {"benefit_started": started},
        unemployment_facts(started, 5, business=False, pension=False),
    )


def unemployment_drew_pension(p: Planter) -> None:
    recipient = _unemployed(p, "F", 55, 3)
    recipient.pensions.append(PensionAward("basic_employee", 3_200, p.today - timedelta(days=45)))
    p.household(recipient)
    started = p.months_ago(3).replace(day=1).isoformat()
    p.sample(
        "unemployment_drew_pension",
        NOT_ELIGIBLE,
        "She reached pension age and draws a basic pension: the benefit stops.",
        UNEMPLOYMENT,
        {"recipient": recipient},
        {"benefit_started": started},
        unemployment_facts(started, 3, business=False, pension=True),
    )
