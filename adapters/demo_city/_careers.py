"""Working lives: social insurance contribution spans, income tax months, tax arrears.

Distributions: 88 % of local and 78 % of migrant adults ever contributed; contributions
start at 21-25 (locals) or on arrival in the city (migrants, up to 15 years ago), 8 % started
within the last year; jobs last 6-60 months, 35 % of job changes leave a 1-8 month gap;
80 % contribute up to the reference month, 10 % to the month before (collection pending),
10 % stopped 2-36 months earlier; people over 60 stopped at 60; bases log-normal around
7,000 yuan, within the city's floor and ceiling. 70 % of contributors with a
base above 6,000 yuan pay income tax in those months (a few months missing at job starts
and now and then), 5 % of non-contributors pay tax as self-employed; 6 % of taxpayers
have an arrear, so about 3 % have overdue tax: unsettled past its due date (55 %), settled
late (30 %), not yet due (10 %), settled exactly on the reference date (5 %).
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from adapters.demo_city import _vocabulary as words
from adapters.demo_city._calendar import add_years, month_of, random_day
from adapters.demo_city._model import Arrear, Person, Span

RETIREMENT_AGE = 60
# Contribution bases in yuan a month: Shenzhen's floor and ceiling, a median near 7,000.
MINIMUM_BASE, MAXIMUM_BASE = 2_360, 36_549
MEDIAN_BASE_LOG = math.log(7_000)
ARREARS_SHARE = 0.06


class Careers:
    def __init__(self, rng: random.Random, reference_date: date) -> None:
        self._rng = rng
        self._today = reference_date
        self._month = month_of(reference_date)

    def add(self, person: Person, local: bool) -> None:
        rng = self._rng
        if rng.random() < (0.88 if local else 0.78):
            person.insurance = self._contributions(person, local)
            if person.insurance:
                person.employer = person.insurance[-1].payer
                person.tax = self._taxed(person.insurance)
        elif rng.random() < 0.05:
            start = self._month - rng.randint(3, 60)
            person.tax = [Span(start, self._month - 1, rng.randint(50, 3000), words.company(rng))]
        if person.tax and rng.random() < ARREARS_SHARE:
            person.arrears.append(self._arrear())

    def _contributions(self, person: Person, local: bool) -> list[Span]:
        rng = self._rng
        adult = month_of(add_years(person.birth_date, 18))
        if rng.random() < 0.08:
            start = self._month - rng.randint(0, 11)
        elif local:
            start = month_of(add_years(person.birth_date, rng.randint(21, 25)))
        else:
            start = self._month - rng.randint(12, 180)
        start = max(start, adult)
        roll = rng.random()
        end = self._month if roll < 0.8 else self._month - (1 if roll < 0.9 else rng.randint(2, 36))
        end = min(end, month_of(add_years(person.birth_date, RETIREMENT_AGE)))
        base = int(rng.lognormvariate(MEDIAN_BASE_LOG, 0.5))
        return self._jobs(start, end, min(max(base, MINIMUM_BASE), MAXIMUM_BASE))

    def _jobs(self, start: int, end: int, base: int) -> list[Span]:
        rng = self._rng
        spans: list[Span] = []
        employer = words.company(rng)
        month = start
        while month <= end:
            last = min(month + rng.randint(6, 60) - 1, end)
            spans.append(Span(month, last, base, employer))
            month = last + 1
            if rng.random() < 0.35:
                month += rng.randint(1, 8)
            if rng.random() < 0.6:
                employer = words.company(rng)
                base = min(int(base * rng.uniform(0.9, 1.4)), MAXIMUM_BASE)
        return spans

    def _taxed(self, contributions: list[Span]) -> list[Span]:
        rng = self._rng
        if rng.random() >= 0.7:
            return []
        taxed = []
        for span in contributions:
            if span.amount <= 6000:
                continue
            first = span.first_month + rng.choice((0, 0, 1, 2, 3))
            amount = max(1, int((span.amount - 5000) * 0.03))
            while first <= span.last_month:
                last = min(first + rng.randint(3, 30), span.last_month)
                taxed.append(Span(first, last, amount, span.payer))
                first = last + 1 + (1 if rng.random() < 0.3 else 0)
        return taxed

    def _arrear(self) -> Arrear:
        rng = self._rng
        tax_type = rng.choice(words.TAX_TYPES)
        amount = rng.randint(100, 50_000)
        roll = rng.random()
        if roll < 0.10:
            due = self._today + timedelta(days=rng.randint(1, 90))
            return Arrear(tax_type, amount, due, None)
        due = self._today - timedelta(days=rng.randint(1, 900))
        if roll < 0.65:
            return Arrear(tax_type, amount, due, None)
        if roll < 0.95:
            return Arrear(tax_type, amount, due, random_day(rng, due, self._today))
        return Arrear(tax_type, amount, due, self._today)
