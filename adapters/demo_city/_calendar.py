"""Small date helpers for building histories relative to the reference date."""

from __future__ import annotations

import calendar
import random
from datetime import date, timedelta


def month_of(day: date) -> int:
    """The month index (year * 12 + month - 1), as ``verifier.model.month_index``."""
    return day.year * 12 + day.month - 1


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, its day clamped to the target month's end."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def random_day(rng: random.Random, first: date, last: date) -> date:
    """A uniformly random day in ``[first, last]`` (``last`` if the range is empty)."""
    span = (last - first).days
    return last if span <= 0 else first + timedelta(days=rng.randint(0, span))


def birth_date(rng: random.Random, reference_date: date, min_age: int, max_age: int) -> date:
    """A birth date giving an age (in whole years on the reference date) in [min_age, max_age]."""
    earliest = add_years(reference_date, -(max_age + 1)) + timedelta(days=1)
    latest = add_years(reference_date, -min_age)
    return random_day(rng, earliest, latest)
