"""The courts' rows: dishonest judgment debtors (失信被执行人) and consumption restrictions.

Drawn from a stream of their own (``<seed>:courts``), so adding the department moved
nothing the other departments hold; the planted samples are never listed. Per adult:
1.2 % have been listed in the four years before the reference date (a third of them
removed since, after paying), and four in five of those listed also got a consumption
restriction order (限制消费令); 0.3 % more have a restriction without being listed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from adapters.demo_city._calendar import add_years, random_day
from adapters.demo_city._model import Person

Sink = Callable[[str, str, tuple[Any, ...]], None]
LISTED_SHARE = 0.012
RESTRICTED_ONLY_SHARE = 0.003
COURTS = ("福田区人民法院", "南山区人民法院", "罗湖区人民法院", "深圳市中级人民法院")
OBLIGATIONS = ("支付货款及利息", "偿还借款本息", "支付劳动报酬", "返还租金")


class CourtRows:
    """Writes one person's listings and restriction orders (none for planted samples)."""

    def __init__(
        self,
        sink: Sink,
        text: Callable[[str | None, bool, str], str | None],
        number: Callable[[str], int],
        *,
        seed: int,
        reference_date: date,
        canary_rate: float,
    ) -> None:
        self._sink = sink
        self._canary_rate = canary_rate
        self._text = text
        self._next = number
        self._rng = random.Random(f"{seed}:courts")
        self._today = reference_date

    def person(self, person: Person, planted: bool) -> None:
        roll = self._rng.random()
        if planted or person.birth_date > add_years(self._today, -18):
            return
        if roll < LISTED_SHARE:
            case_no = self._case_no()
            listed_on = random_day(self._rng, self._today - timedelta(days=1460), self._today)
            removed_on = None
            if self._rng.random() < 1 / 3:
                removed_on = random_day(self._rng, listed_on + timedelta(days=1), self._today)
            self._listing(person, case_no, listed_on, removed_on)
            if self._rng.random() < 0.8:
                self._restriction(person, case_no, listed_on - timedelta(days=30), removed_on)
        elif roll < LISTED_SHARE + RESTRICTED_ONLY_SHARE:
            since = random_day(self._rng, self._today - timedelta(days=730), self._today)
            self._restriction(person, self._case_no(), since, None)

    def _canary(self, number: int) -> bool:
        # The first row of each table always carries one, so that even a small city's
        # courts tables are covered; the draw is from the courts' own stream.
        return self._rng.random() < self._canary_rate or number == 1

    def _case_no(self) -> str:
        # From the counter alone: unique in the city, and no draw from the stream.
        number = self._next("enforcement_cases")
        return f"({2022 + number % 4})粤03{number % 10:02d}执{number:05d}号"

    def _listing(
        self, person: Person, case_no: str, listed_on: date, removed_on: date | None
    ) -> None:
        number = self._next("dishonest_debtors")
        c = self._canary(number)
        row = (
            number,
            self._text(case_no, c, "CT"),
            self._text(self._rng.choice(COURTS), c, "CT"),
            person.resident_id,
            self._text(person.name, c, "CT"),
            self._text(self._rng.choice(OBLIGATIONS), c, "CT"),
            listed_on.isoformat(),
            None if removed_on is None else removed_on.isoformat(),
        )
        self._sink("courts", "dishonest_debtors", row)

    def _restriction(
        self, person: Person, case_no: str, since: date, lifted_on: date | None
    ) -> None:
        number = self._next("consumption_restrictions")
        c = self._canary(number)
        row = (
            number,
            self._text(case_no, c, "CT"),
            person.resident_id,
            since.isoformat(),
            None if lifted_on is None else lifted_on.isoformat(),
        )
        self._sink("courts", "consumption_restrictions", row)
