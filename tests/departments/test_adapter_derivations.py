"""The departments' pure derivations at their boundaries (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.household import _derive as household
from adapters.housing import _derive as housing
from adapters.social_insurance import _derive as insurance
from adapters.tax import _derive as tax
from verifier.adapter import Unknown
from verifier.model import UnknownReason, month_index

AS_OF = date(2026, 8, 31)
M = month_index(AS_OF)
PENDING = Unknown(UnknownReason.RECORD_PENDING)


def resident(*periods: tuple[str, date, date | None], status: str = "normal") -> household.Resident:
    return household.Resident(
        status, tuple(household.Registration(code, since, until) for code, since, until in periods)
    )


class TestHousehold:
    def test_a_registration_starting_on_the_reference_date_counts(self) -> None:
        moved = resident(("440306", date(2019, 4, 12), AS_OF), ("440305", AS_OF, None))
        assert household.registered_in_district(moved, AS_OF, "440305") is True
        assert household.registered_in_district(moved, AS_OF, "440306") is False
        assert household.registered_in_district(moved, date(2026, 8, 30), "440306") is True

    def test_a_registration_ending_on_the_reference_date_does_not(self) -> None:
        left = resident(("440303", date(2000, 1, 1), AS_OF))
        assert household.local_registration(left, AS_OF, "4403") is False
        assert household.local_registration(left, date(2026, 8, 30), "4403") is True

    def test_a_registration_starting_after_the_reference_date_does_not(self) -> None:
        later = resident(("440303", date(2026, 9, 1), None))
        assert household.local_registration(later, AS_OF, "4403") is False

    def test_local_means_the_city_prefix(self) -> None:
        elsewhere = resident(("430524", date(1990, 1, 1), None))
        assert household.local_registration(elsewhere, AS_OF, "4403") is False
        assert household.local_registration(elsewhere, AS_OF, "43") is True

    def test_a_resident_absent_or_without_registration_is_registered_nowhere(self) -> None:
        assert household.local_registration(None, AS_OF, "4403") is False
        assert household.registered_in_district(resident(), AS_OF, "440305") is False

    def test_a_pending_transfer_is_unknown_whatever_the_periods_say(self) -> None:
        pending = resident(("440305", date(2000, 1, 1), None), status="pending_transfer")
        assert household.local_registration(pending, AS_OF, "4403") == PENDING
        assert household.registered_in_district(pending, AS_OF, "440305") == PENDING

    def test_overlapping_periods_take_the_latest_start(self) -> None:
        overlapping = resident(
            ("440303", date(2000, 1, 1), None), ("440305", date(2020, 1, 1), None)
        )
        assert household.registered_in_district(overlapping, AS_OF, "440305") is True

    @pytest.mark.parametrize(
        ("recorded", "expected"),
        [(AS_OF, True), (date(2026, 9, 1), False), (date(2010, 1, 1), True)],
    )
    def test_guardianship_recorded_on_or_before_the_reference_date(
        self, recorded: date, expected: bool
    ) -> None:
        assert household.is_guardian([household.Guardianship(recorded)], AS_OF) is expected
        assert household.is_guardian([], AS_OF) is False


def insured(
    *spans: tuple[int, int], changes: tuple[tuple[str, date], ...] = ()
) -> insurance.Insured:
    return insurance.Insured(
        date(2010, 1, 1),
        tuple(insurance.StatusChange(s, d) for s, d in changes),
        frozenset(m for first, last in spans for m in range(first, last + 1)),
    )


class TestSocialInsurance:
    def test_continuous_months_stop_at_a_one_month_gap(self) -> None:
        assert insurance.continuous_months(insured((M - 60, M - 12), (M - 10, M)), AS_OF) == 11

    def test_an_unpaid_reference_month_neither_counts_nor_breaks(self) -> None:
        assert insurance.continuous_months(insured((M - 11, M - 1)), AS_OF) == 11

    def test_months_in_window_count_only_the_window(self) -> None:
        person = insured((M - 45, M - 36), (M - 22, M))
        assert insurance.months_in_window(person, AS_OF, 36) == 23
        assert insurance.months_in_window(person, AS_OF, 37) == 24

    def test_enrolment_follows_the_status_in_force_on_the_reference_date(self) -> None:
        person = insured(changes=(("active", date(2010, 1, 1)), ("suspended", date(2026, 9, 1))))
        assert insurance.enrolled(person, AS_OF) is True  # a later suspension does not matter
        assert insurance.enrolled(person, date(2026, 9, 1)) is False

    def test_enrolment_needs_the_enrolment_date(self) -> None:
        person = insured(changes=(("active", date(2010, 1, 1)),))
        assert insurance.enrolled(person, date(2009, 12, 31)) is False
        assert insurance.enrolled(insurance.NOT_INSURED, AS_OF) is False

    def test_on_equal_dates_the_later_change_wins(self) -> None:
        person = insured(changes=(("suspended", AS_OF), ("active", AS_OF)))
        assert insurance.enrolled(person, AS_OF) is True


class TestHousing:
    def test_a_home_sold_on_the_reference_date_is_no_longer_owned(self) -> None:
        sold = housing.Ownership("A", date(2020, 1, 1), AS_OF)
        bought = housing.Ownership("B", AS_OF, None)
        assert housing.homes_owned([sold, bought], AS_OF) == 1
        assert housing.homes_owned([sold], date(2026, 8, 30)) == 1

    def test_co_ownership_rows_of_one_home_count_once(self) -> None:
        rows = [housing.Ownership("A", date(2020, 1, 1), None)] * 2
        assert housing.homes_owned(rows, AS_OF) == 1
        assert housing.homes_owned([], AS_OF) == 0

    def test_rental_months_count_whole_months_of_the_covering_stretch(self) -> None:
        eleven = housing.Rental("440307", date(2025, 10, 1), date(2026, 10, 1))
        twelve = housing.Rental("440307", date(2025, 9, 1), date(2026, 9, 1))
        assert housing.rental_months_in_district([eleven], "440307", AS_OF) == 11
        assert housing.rental_months_in_district([twelve], "440307", AS_OF) == 12

    def test_back_to_back_contracts_merge_and_other_districts_do_not_count(self) -> None:
        rentals = [
            housing.Rental("440306", date(2024, 6, 30), date(2025, 6, 30)),
            housing.Rental("440306", date(2025, 6, 30), date(2027, 6, 30)),
            housing.Rental("440305", date(2020, 1, 1), date(2030, 1, 1)),
        ]
        assert housing.rental_months_in_district(rentals, "440306", AS_OF) == 26
        assert housing.rental_months_in_district(rentals, "440309", AS_OF) == 0

    def test_an_expired_rental_counts_nothing(self) -> None:
        expired = housing.Rental("440306", date(2024, 1, 1), AS_OF)
        assert housing.rental_months_in_district([expired], "440306", AS_OF) == 0


class TestTax:
    @pytest.mark.parametrize(
        ("due", "settled", "overdue"),
        [
            (date(2026, 8, 30), None, True),
            (AS_OF, None, False),  # due today is not yet overdue
            (date(2026, 1, 1), AS_OF, False),  # settled today is no longer overdue
            (date(2026, 1, 1), date(2026, 9, 1), True),  # settled only later
            (date(2026, 1, 1), date(2026, 2, 1), False),
        ],
    )
    def test_overdue_means_past_due_and_unsettled_on_the_reference_date(
        self, due: date, settled: date | None, overdue: bool
    ) -> None:
        assert tax.has_overdue([tax.Arrear(due, settled)], AS_OF) is overdue

    def test_income_tax_months_in_window(self) -> None:
        paid = frozenset(range(M - 40, M - 29)) | frozenset(range(M - 17, M + 1))
        assert tax.income_tax_months(paid, AS_OF, 36) == 24
        assert tax.income_tax_months(frozenset(), AS_OF, 36) == 0
