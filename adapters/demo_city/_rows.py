"""Profiles → the four departments' table rows, with canaries planted in raw text fields.

Rows are tuples in each table's column order, dates as ISO text (what SQLite stores; the
generic writer converts them back for other databases). A planted sample's rows carry a
canary in every free-text field; so does about one other row in a hundred.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

from adapters.demo_city import _vocabulary as words
from adapters.demo_city._model import CanaryMint, Home, Household, Person, Rental, Span
from adapters.demo_city._rows_courts import CourtRows
from adapters.demo_city._rows_recheck import RecheckRows

CANARY_RATE = 0.01
Sink = Callable[[str, str, tuple[Any, ...]], None]
"""``sink(department, table, row)``."""


def month_start(month: int) -> date:
    year, month0 = divmod(month, 12)
    return date(year, month0 + 1, 1)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def status_changes(spans: list[Span], reference_month: int) -> list[tuple[str, date]]:
    """The fund's status history implied by the contribution months.

    Active from the first month of each stretch of contributions; suspended from the month
    after a stretch ends (unless it ends in the month before the reference month, whose
    collection may still be pending); closed a year after the last suspension.
    """
    stretches: list[list[int]] = []
    for span in sorted(spans, key=lambda s: s.first_month):
        if stretches and span.first_month <= stretches[-1][1] + 1:
            stretches[-1][1] = max(stretches[-1][1], span.last_month)
        else:
            stretches.append([span.first_month, span.last_month])
    changes: list[tuple[str, date]] = []
    for index, (first, last) in enumerate(stretches):
        changes.append(("active", month_start(first)))
        final = index == len(stretches) - 1
        if not final or last < reference_month - 1:
            changes.append(("suspended", month_start(last + 1)))
            if final and last + 13 <= reference_month:
                changes.append(("closed", month_start(last + 13)))
    return changes


class Emitter:
    """Writes households to a sink, numbering rows and minting canaries."""

    def __init__(self, sink: Sink, canaries: CanaryMint, seed: int, reference_date: date) -> None:
        self._sink = sink
        self._canaries = canaries
        self._chance = random.Random(f"{seed}:canary-rows")
        self._reference_month = reference_date.year * 12 + reference_date.month - 1
        self._ids: dict[str, int] = {}
        self._homes = 0
        self._booklets = 0
        self.people = 0
        self._recheck = RecheckRows(sink, self._canary, self._text, self._next)
        self._courts = CourtRows(
            sink,
            self._text,
            self._next,
            seed=seed,
            reference_date=reference_date,
            canary_rate=CANARY_RATE,
        )

    def _next(self, table: str) -> int:
        self._ids[table] = number = self._ids.get(table, 0) + 1
        return number

    def _canary(self, planted: bool) -> bool:
        return planted or self._chance.random() < CANARY_RATE

    def _text(self, value: str | None, canary: bool, department: str) -> str | None:
        return self._canaries.text(department) if canary else value

    def _phone(self, value: str, canary: bool) -> str:
        return self._canaries.phone() if canary else value

    def household(self, household: Household) -> None:
        planted = household.planted
        self._booklets += 1
        booklet = f"HH{self._booklets:010d}"
        for person in household.people:
            self.people += 1
            self._household_rows(person, planted, booklet)
            self._insurance_rows(person, planted)
            self._tax_rows(person, planted)
            self._rental_rows(person, planted)
            self._recheck.person(person, planted)
            self._courts.person(person, planted)
        for entry in household.guardianships:
            c = self._canary(planted)
            row: tuple[Any, ...] = (
                self._next("guardianships"),
                entry.guardian_id,
                entry.child_id,
                entry.relation,
                _iso(entry.recorded_since),
                self._text(entry.certificate_no, c, "HH"),
            )
            self._sink("household", "guardianships", row)
        for home in household.homes:
            self._home_rows(home, planted)

    def _household_rows(self, person: Person, planted: bool, booklet: str) -> None:
        c = self._canary(planted)
        self._sink(
            "household",
            "residents",
            (
                person.resident_id,
                self._text(person.name, c, "HH"),
                person.gender,
                _iso(person.birth_date),
                self._phone(person.phone, c),
                self._text(person.home_address, c, "HH"),
                person.record_status,
            ),
        )
        for reg in person.registrations:
            c = self._canary(planted)
            row: tuple[Any, ...] = (
                self._next("registrations"),
                person.resident_id,
                reg.district_code,
                _iso(reg.since),
                _iso(reg.until),
                self._text(reg.address, c, "HH"),
                # The family shares one booklet while registered together; an old
                # registration elsewhere was in a booklet of its own.
                booklet if reg.until is None else f"HP{self._next('past_booklets'):010d}",
            )
            self._sink("household", "registrations", row)

    def _insurance_rows(self, person: Person, planted: bool) -> None:
        if not person.insurance:
            return
        changes = status_changes(person.insurance, self._reference_month)
        self._insured_person_row(person, planted, changes)
        office = words.fund_office(person.district_code)
        for status, since in changes:
            c = self._canary(planted)
            row: tuple[Any, ...] = (
                self._next("insurance_status_history"),
                person.resident_id,
                status,
                _iso(since),
                self._text(office, c, "SI"),
            )
            self._sink("social_insurance", "insurance_status_history", row)
        for span in person.insurance:
            c = self._canary(planted)
            row = (
                self._next("contribution_spans"),
                person.resident_id,
                span.first_month,
                span.last_month,
                span.amount,
                self._text(span.payer, c, "SI"),
            )
            self._sink("social_insurance", "contribution_spans", row)

    def _insured_person_row(
        self, person: Person, planted: bool, changes: list[tuple[str, date]]
    ) -> None:
        c = self._canary(planted)
        status, status_since = changes[-1]
        row = (
            person.resident_id,
            self._text(person.name, c, "SI"),
            self._phone(person.phone, c),
            self._text(person.employer or person.insurance[-1].payer, c, "SI"),
            status,
            _iso(status_since),
            _iso(changes[0][1]),
        )
        self._sink("social_insurance", "insured_persons", row)

    def _tax_rows(self, person: Person, planted: bool) -> None:
        if not (person.tax or person.arrears):
            return
        c = self._canary(planted)
        employer = person.employer or (person.tax[-1].payer if person.tax else None)
        self._sink(
            "tax",
            "taxpayers",
            (
                person.resident_id,
                self._text(person.name, c, "TAX"),
                self._text(words.tax_office(person.district_code), c, "TAX"),
                self._text(employer, c, "TAX"),
            ),
        )
        for span in person.tax:
            c = self._canary(planted)
            row: tuple[Any, ...] = (
                self._next("income_tax_spans"),
                person.resident_id,
                span.first_month,
                span.last_month,
                span.amount,
                self._text(span.payer, c, "TAX"),
            )
            self._sink("tax", "income_tax_spans", row)
        for arrear in person.arrears:
            c = self._canary(planted)
            number = self._next("tax_arrears")
            notice = f"深税通〔{arrear.due_date.year}〕{number:06d}号"
            row = (
                number,
                person.resident_id,
                arrear.tax_type,
                arrear.amount,
                _iso(arrear.due_date),
                _iso(arrear.settled_on),
                self._text(notice, c, "TAX"),
            )
            self._sink("tax", "tax_arrears", row)

    def _rental_rows(self, person: Person, planted: bool) -> None:
        previous: Rental | None = None
        house_code = ""
        for rental in person.rentals:
            c = self._canary(planted)
            same_home = previous is not None and (
                (previous.district_code, previous.landlord_name, previous.address)
                == (rental.district_code, rental.landlord_name, rental.address)
            )
            if not same_home:
                house_code = self._property(
                    rental.district_code,
                    rental.address,
                    round(rental.monthly_rent / 80, 1),
                    None,
                    rental.building_type,
                    c,
                )
            row: tuple[Any, ...] = (
                self._next("rentals"),
                house_code,
                person.resident_id,
                rental.district_code,
                _iso(rental.start),
                _iso(rental.end),
                rental.monthly_rent,
                self._text(rental.landlord_name, c, "HS"),
                self._phone(rental.landlord_phone, c),
            )
            self._sink("housing", "rentals", row)
            previous = rental

    def _property(
        self,
        district: str,
        address: str,
        area: float,
        price: int | None,
        building_type: str,
        canary: bool,
    ) -> str:
        self._homes += 1
        house_code = f"{district}{self._homes:010d}"
        row = (house_code, district, self._text(address, canary, "HS"), area, price, building_type)
        self._sink("housing", "properties", row)
        return house_code

    def _home_rows(self, home: Home, planted: bool) -> None:
        c = self._canary(planted)
        house_code = self._property(
            home.district_code,
            home.address,
            home.floor_area_m2,
            home.purchase_price,
            home.building_type,
            c,
        )
        for owner in home.owners:
            c = self._canary(planted)
            number = self._next("ownerships")
            certificate = f"粤({owner.registered_on.year})深圳市不动产权第{number:07d}号"
            row: tuple[Any, ...] = (
                number,
                house_code,
                owner.owner_id,
                owner.share_percent,
                _iso(owner.registered_on),
                _iso(owner.released_on),
                self._text(certificate, c, "HS"),
            )
            self._sink("housing", "ownerships", row)
