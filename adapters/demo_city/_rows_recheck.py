"""Profiles → the rows of the re-check departments: vehicles, businesses, deaths, pensions
and unemployment benefit (the last two in the social insurance fund's database).

Plates, VINs and credit codes are minted here from counters, so they are unique in the city.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from adapters.demo_city._model import Person
from verifier.model import credit_code_check_character

Sink = Callable[[str, str, tuple[Any, ...]], None]


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


class RecheckRows:
    """Writes one person's vehicles, businesses, death, pensions and benefit months."""

    def __init__(
        self,
        sink: Sink,
        canary: Callable[[bool], bool],
        text: Callable[[str | None, bool, str], str | None],
        number: Callable[[str], int],
    ) -> None:
        self._sink = sink
        self._canary = canary
        self._text = text
        self._next = number

    def person(self, person: Person, planted: bool) -> None:
        self._vehicles(person, planted)
        self._businesses(person, planted)
        self._death(person, planted)
        self._payments(person, planted)

    def _vehicles(self, person: Person, planted: bool) -> None:
        for vehicle in person.vehicles:
            c = self._canary(planted)
            number = self._next("vehicles")
            plate = f"粤B{number:06d}"
            self._sink(
                "vehicle_registration",
                "vehicles",
                (
                    plate,
                    f"LSV{number:014d}",
                    self._text(vehicle.brand_model, c, "VR"),
                    vehicle.vehicle_type,
                    vehicle.assessed_value,
                    _iso(vehicle.registered_on),
                ),
            )
            row: tuple[Any, ...] = (
                self._next("vehicle_ownerships"),
                plate,
                person.resident_id,
                _iso(vehicle.registered_on),
                _iso(vehicle.transferred_on),
                self._text(f"440{number:09d}", c, "VR"),
            )
            self._sink("vehicle_registration", "vehicle_ownerships", row)

    def _businesses(self, person: Person, planted: bool) -> None:
        for business in person.businesses:
            c = self._canary(planted)
            body = f"{'92' if business.entity_type == 'individual_business' else '91'}440300"
            body += f"{self._next('business_entities'):09d}"
            code = body + credit_code_check_character(body)
            self._sink(
                "market_regulation",
                "business_entities",
                (
                    code,
                    self._text(business.name, c, "MR"),
                    business.entity_type,
                    business.registered_capital,
                    self._text(business.address, c, "MR"),
                    _iso(business.established_on),
                    _iso(business.deregistered_on),
                ),
            )
            role = (
                "operator"
                if business.entity_type == "individual_business"
                else "legal_representative"
            )
            number = self._next("business_roles")
            row: tuple[Any, ...] = (
                number,
                code,
                person.resident_id,
                role,
                _iso(business.since),
                _iso(business.until),
                self._text(f"任职{number:08d}", c, "MR"),
            )
            self._sink("market_regulation", "business_roles", row)

    def _death(self, person: Person, planted: bool) -> None:
        death = person.death
        if death is None:
            return
        c = self._canary(planted)
        number = self._next("death_registrations")
        row = (
            number,
            person.resident_id,
            _iso(death.date_of_death),
            _iso(death.registered_on),
            self._text(death.place_of_death, c, "CA"),
            self._text(death.reported_by, c, "CA"),
            self._text(f"S{death.registered_on.year}{number:08d}", c, "CA"),
            death.status,
        )
        self._sink("civil_affairs", "death_registrations", row)

    def _payments(self, person: Person, planted: bool) -> None:
        for pension in person.pensions:
            c = self._canary(planted)
            row: tuple[Any, ...] = (
                self._next("pension_awards"),
                person.resident_id,
                pension.pension_type,
                pension.monthly_amount,
                _iso(pension.started_on),
                _iso(pension.stopped_on),
                self._text("社会保险基金管理局待遇支付科", c, "SI"),
            )
            self._sink("social_insurance", "pension_awards", row)
        for span in person.benefits:
            c = self._canary(planted)
            row = (
                self._next("unemployment_benefit_spans"),
                person.resident_id,
                span.first_month,
                span.last_month,
                span.amount,
                self._text(span.payer, c, "SI"),
            )
            self._sink("social_insurance", "unemployment_benefit_spans", row)
