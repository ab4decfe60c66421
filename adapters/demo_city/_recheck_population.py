"""The random population's vehicles, businesses, deaths, pensions and benefit months.

Drawn from a stream of their own (``<seed>:recheck-departments``), so adding them did not
move anything the other departments already held. Per adult, on the reference date:

- vehicles: 38 % of locals and 22 % of migrants own a car (a tenth of them two), assessed at
  20,000-400,000 yuan (log-uniform); 10 % of owners sold an older car before;
- businesses: 5 % run an individual business (个体工商户) and 1.5 % represent a company;
  a quarter of those were deregistered before the reference date;
- pensions: contributors past 60 (men) or 55 (women) draw a basic pension from then;
- deaths: 0.2 % of people have a death registered in the three years before the reference
  date (their records elsewhere are left as they were, as registers lag in life too).
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from adapters.demo_city import _vocabulary as words
from adapters.demo_city._calendar import add_years, random_day
from adapters.demo_city._model import Business, Death, Household, PensionAward, Person, Vehicle

CAR_MODELS = ("比亚迪 秦", "大众 朗逸", "丰田 卡罗拉", "本田 雅阁", "特斯拉 Model 3", "五菱 宏光")
PLACES_OF_DEATH = ("市人民医院", "家中", "区中医院", "养老院")
REPORTERS = ("医院", "殡仪馆", "家属")
DEATH_SHARE = 0.002


class RecheckPopulation:
    def __init__(self, seed: int, reference_date: date) -> None:
        self._rng = random.Random(f"{seed}:recheck-departments")
        self._today = reference_date

    def add(self, household: Household, local: bool) -> None:
        rng = self._rng
        for person in household.people:
            if rng.random() < DEATH_SHARE:
                person.death = self.death(
                    random_day(rng, self._today - timedelta(days=1095), self._today)
                )
            if person.birth_date > add_years(self._today, -18):
                continue
            if rng.random() < (0.38 if local else 0.22):
                person.vehicles.append(self.vehicle(self._value(400_000)))
                if rng.random() < 0.1:
                    person.vehicles.append(self.vehicle(self._value(400_000)))
                if rng.random() < 0.1:
                    person.vehicles.append(self.vehicle(self._value(200_000), sold=True))
            roll = rng.random()
            if roll < 0.065:
                person.businesses.append(
                    self.business("individual_business" if roll < 0.05 else "company")
                )
                if rng.random() < 0.25:
                    person.businesses[-1].deregistered_on = random_day(
                        rng, person.businesses[-1].established_on, self._today - timedelta(days=1)
                    )
            self._pension(person)

    def vehicle(self, value: int, *, sold: bool = False, since: date | None = None) -> Vehicle:
        """A car assessed at ``value`` yuan, bought ``since`` (default: in the last ten
        years) and, if ``sold``, sold again before the reference date."""
        rng = self._rng
        bought = since or random_day(rng, self._today - timedelta(days=3650), self._today)
        transferred = random_day(rng, bought, self._today) if sold else None
        if transferred is not None and transferred == bought:
            transferred = None
        return Vehicle(rng.choice(CAR_MODELS), "car", value, bought, transferred)

    def _value(self, highest: int) -> int:
        """An assessed value, log-uniform from 20,000 yuan to ``highest``, in hundreds."""
        drawn = math.exp(self._rng.uniform(math.log(20_000), math.log(highest)))
        return int(round(drawn, -2))

    def business(self, kind: str, *, since: date | None = None) -> Business:
        rng = self._rng
        established = since or random_day(rng, self._today - timedelta(days=3650), self._today)
        district = rng.choice(words.DISTRICT_CODES)
        capital = (
            None if kind == "individual_business" else rng.randrange(100_000, 5_000_000, 10_000)
        )
        return Business(
            name=words.company(rng),
            entity_type=kind,
            established_on=established,
            deregistered_on=None,
            since=established,
            registered_capital=capital,
            address=words.address(rng, district),
        )

    def death(self, registered_on: date) -> Death:
        rng = self._rng
        died = registered_on - timedelta(days=rng.randint(0, 5))
        return Death(died, registered_on, rng.choice(PLACES_OF_DEATH), rng.choice(REPORTERS))

    def _pension(self, person: Person) -> None:
        if not person.insurance:
            return
        retired = add_years(person.birth_date, 60 if person.gender == "M" else 55)
        if retired <= self._today:
            amount = self._rng.randrange(1_800, 6_000, 10)
            person.pensions.append(PensionAward("basic_employee", amount, retired))
