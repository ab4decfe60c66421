"""The synthetic city: deterministic, valid, realistic enough, and full of canaries."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sqlite3
from collections import Counter
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from support import DEPARTMENTS

from adapters.demo_city import (
    DemoCityManifest,
    generate_demo_city,
    load_samples,
    write_demo_city,
)
from adapters.demo_city._what_if import RENTAL_6_MONTHS, what_if_file
from verifier.model import parse_application, parse_resident_id, resident_id_birth_date

REFERENCE = date(2026, 8, 31)
ID_COLUMNS = {"resident_id", "guardian_id", "child_id", "owner_id", "tenant_id"}
RECHECK_ITEMS = (
    "social_assistance_recheck",
    "affordable_housing_recheck",
    "unemployment_insurance_recheck",
)
SAMPLE_NAMES = [
    "school_place_local_registration",
    "school_place_rental_and_insurance",
    "school_place_rental_11_months",
    "school_place_insurance_gap",
    "school_place_not_guardian",
    "school_place_pending_transfer",
    "school_place_moved_on_cutoff",
    "first_home_local_buyer",
    "first_home_migrant_tax_24",
    "first_home_migrant_23_months",
    "first_home_spouse_owns_home",
    "first_home_second_home",
    "first_home_pending_transfer",
    "first_home_twin_x_check",
    "social_assistance_still_qualifies",
    "social_assistance_member_bought_car",
    "social_assistance_member_died",
    "social_assistance_member_in_transfer",
    "affordable_housing_still_qualifies",
    "affordable_housing_undeclared_member",
    "unemployment_still_qualifies",
    "unemployment_drew_pension",
    "school_place_rental_6_months_what_if",
    "school_place_rental_9_months_what_if",
    "school_place_rental_5_months_what_if",
]


def connect(city_dir: Path, department: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{city_dir / f'{department}.db'}?mode=ro", uri=True)


def tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [name for (name,) in rows if not name.startswith("sqlite_")]


def columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def content_hash(city_dir: Path) -> str:
    digest = hashlib.sha256()
    for department in DEPARTMENTS:
        connection = connect(city_dir, department)
        try:
            for table in tables(connection):
                order = ", ".join(str(i + 1) for i in range(len(columns(connection, table))))
                digest.update(table.encode())
                for row in connection.execute(f"SELECT * FROM {table} ORDER BY {order}"):
                    digest.update(repr(row).encode())
        finally:
            connection.close()
    return digest.hexdigest()


def column_values(city_dir: Path, department: str, table: str, column: str) -> list[object]:
    connection = connect(city_dir, department)
    try:
        return [value for (value,) in connection.execute(f"SELECT {column} FROM {table}")]
    finally:
        connection.close()


def test_the_same_seed_gives_the_same_city(tmp_path: Path) -> None:
    first = generate_demo_city(tmp_path / "a", people=400, seed=7)
    second = generate_demo_city(tmp_path / "b", people=400, seed=7)
    assert content_hash(tmp_path / "a") == content_hash(tmp_path / "b")
    assert first.samples == second.samples
    assert first.canaries == second.canaries
    for name in ("samples.json", "canaries.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_another_seed_gives_another_city(tmp_path: Path) -> None:
    first = generate_demo_city(tmp_path / "a", people=400, seed=7)
    other = generate_demo_city(tmp_path / "b", people=400, seed=8)
    assert content_hash(tmp_path / "a") != content_hash(tmp_path / "b")
    assert first.samples[0].application != other.samples[0].application
    assert set(first.canaries).isdisjoint(other.canaries)


def test_the_city_size_does_not_move_the_samples(tmp_path: Path) -> None:
    small = generate_demo_city(tmp_path / "a", people=100, seed=7)
    large = generate_demo_city(tmp_path / "b", people=900, seed=7)
    assert small.samples == large.samples


def test_any_database_gets_the_same_content(tmp_path: Path) -> None:
    generate_demo_city(tmp_path / "files", people=300, seed=3)
    urls = {d: f"sqlite:///{tmp_path / 'urls' / f'{d}.db'}" for d in DEPARTMENTS}
    (tmp_path / "urls").mkdir()
    manifest = write_demo_city(urls, people=300, seed=3)
    assert manifest.urls == urls
    assert content_hash(tmp_path / "files") == content_hash(tmp_path / "urls")


def test_regenerating_replaces_the_files_and_leaves_no_partial_ones(tmp_path: Path) -> None:
    generate_demo_city(tmp_path, people=200, seed=1)
    before = content_hash(tmp_path)
    messages: list[str] = []
    manifest = generate_demo_city(tmp_path, people=250, seed=2, progress=messages.append)
    assert content_hash(tmp_path) != before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{d}.db" for d in DEPARTMENTS]
        + ["canaries.json", "samples.json", "caseloads.json"]
        + [f"caseload_{item}.csv" for item in RECHECK_ITEMS]
        + [what_if_file(RENTAL_6_MONTHS)]
    )
    assert manifest.people == 250
    assert manifest.data_dir == tmp_path
    assert any("people written" in message for message in messages)


def test_every_id_in_every_table_is_valid(city: DemoCityManifest, city_dir: Path) -> None:
    checked = 0
    for department in DEPARTMENTS:
        connection = connect(city_dir, department)
        try:
            for table in tables(connection):
                for column in ID_COLUMNS.intersection(columns(connection, table)):
                    for (value,) in connection.execute(f"SELECT {column} FROM {table}"):
                        assert parse_resident_id(value, today=REFERENCE) == value
                        checked += 1
        finally:
            connection.close()
    assert checked > city.people


def test_ids_end_in_x_about_one_time_in_eleven(city_dir: Path) -> None:
    ids = column_values(city_dir, "household", "residents", "resident_id")
    share = sum(str(i).endswith("X") for i in ids) / len(ids)
    assert 0.06 < share < 0.12


def test_every_raw_table_carries_canaries(city: DemoCityManifest, city_dir: Path) -> None:
    known = set(city.canaries)
    seen: set[str] = set()
    for department in DEPARTMENTS:
        connection = connect(city_dir, department)
        try:
            for table in tables(connection):
                found = [
                    value
                    for column in columns(connection, table)
                    for (value,) in connection.execute(f"SELECT {column} FROM {table}")
                    if isinstance(value, str) and value.startswith("CANARY")
                ]
                assert found, f"{department}.{table} has no canary"
                seen.update(found)
        finally:
            connection.close()
    assert seen == known
    assert any(re.fullmatch(r"CANARY1\d{10}", canary) for canary in known)  # phone-shaped
    listed = json.loads((city_dir / "canaries.json").read_text(encoding="utf-8"))
    assert listed["canaries"] == list(city.canaries)


def test_about_one_percent_of_ordinary_rows_carry_canaries(
    city: DemoCityManifest, city_dir: Path
) -> None:
    connection = connect(city_dir, "household")
    try:
        rows = connection.execute("SELECT resident_id, name FROM residents").fetchall()
    finally:
        connection.close()
    # Ordinary rows: the random population's (sequence numbers 000-899); every planted
    # sample's row carries a canary, however many samples there are.
    names = [name for resident_id, name in rows if int(resident_id[14:17]) < 900]
    share = sum(str(name).startswith("CANARY") for name in names) / len(names)
    assert 0.004 < share < 0.03


def test_planted_subjects_rows_are_canaries_in_every_text_field(
    city: DemoCityManifest, city_dir: Path
) -> None:
    connection = connect(city_dir, "household")
    try:
        for sample in city.samples:
            for subject in sample.application["subjects"]:
                rid = parse_resident_id(subject["id"], today=REFERENCE)
                name, phone, address = connection.execute(
                    "SELECT name, phone, home_address FROM residents WHERE resident_id = ?", (rid,)
                ).fetchone()
                assert name.startswith("CANARY-HH-")
                assert re.fullmatch(r"CANARY1\d{10}", phone)
                assert address.startswith("CANARY-HH-")
    finally:
        connection.close()


def test_samples_json_lists_every_planted_sample(city: DemoCityManifest, city_dir: Path) -> None:
    data = json.loads((city_dir / "samples.json").read_text(encoding="utf-8"))
    assert data["reference_date"] == "2026-08-31"
    assert data["seed"] == city.seed
    assert data["people"] == city.people
    assert [sample["name"] for sample in data["samples"]] == SAMPLE_NAMES
    assert load_samples(city_dir / "samples.json") == city.samples
    for sample in city.samples:
        application = parse_application(sample.application)
        assert application.reference_date == REFERENCE
        assert sample.facts


def test_each_item_has_every_outcome(city: DemoCityManifest) -> None:
    outcomes = {(s.application["service_item"], s.expected) for s in city.samples}
    assert outcomes == {
        (item, outcome)
        for item in ("school_place", "first_home_purchase")
        for outcome in ("ELIGIBLE", "NOT_ELIGIBLE", "NEEDS_REVIEW")
    } | {
        (item, outcome)
        for item in ("affordable_housing_recheck", "unemployment_insurance_recheck")
        for outcome in ("ELIGIBLE", "NOT_ELIGIBLE")
    } | {
        ("social_assistance_recheck", outcome)
        for outcome in ("ELIGIBLE", "NOT_ELIGIBLE", "NEEDS_REVIEW")
    }


def test_the_twin_buyer_is_written_with_a_lower_case_x(city: DemoCityManifest) -> None:
    buyer = city.sample("first_home_twin_x_check").subject_id("buyer")
    assert buyer.endswith("x")
    assert parse_resident_id(buyer, today=REFERENCE).endswith("X")


def test_children_are_five_to_fifteen_and_some_are_twins(city_dir: Path) -> None:
    connection = connect(city_dir, "household")
    try:
        rows = connection.execute(
            "SELECT DISTINCT g.guardian_id, r.resident_id, r.birth_date FROM guardianships g "
            "JOIN residents r ON r.resident_id = g.child_id"
        ).fetchall()
    finally:
        connection.close()
    for _, child, born in rows:
        age = _age(date.fromisoformat(born))
        assert 5 <= age <= 15
        assert resident_id_birth_date(child) == date.fromisoformat(born)
    births = Counter((guardian, born, child[:6]) for guardian, child, born in rows)
    twins = [key for key, count in births.items() if count >= 2]
    assert twins
    for guardian, born, _ in twins:
        sequences = sorted(int(c[14:17]) for g, c, b in rows if (g, b) == (guardian, born))
        assert any(b - a == 1 for a, b in itertools.pairwise(sequences))


def test_locals_migrants_moves_and_pending_records_are_all_present(city_dir: Path) -> None:
    connection = connect(city_dir, "household")
    try:
        statuses = Counter(s for (s,) in connection.execute("SELECT record_status FROM residents"))
        unregistered = connection.execute(
            "SELECT count(*) FROM residents r WHERE NOT EXISTS "
            "(SELECT 1 FROM registrations g WHERE g.resident_id = r.resident_id)"
        ).fetchone()[0]
        elsewhere = connection.execute(
            "SELECT count(*) FROM registrations WHERE district_code NOT LIKE '4403%'"
        ).fetchone()[0]
        moved_today = connection.execute(
            "SELECT count(*) FROM registrations WHERE registered_since = '2026-08-31'"
        ).fetchone()[0]
    finally:
        connection.close()
    assert statuses["pending_transfer"] > 2
    assert unregistered > 300
    assert elsewhere > 50
    assert moved_today >= 2


def test_homes_rentals_and_overdue_tax_vary(city_dir: Path) -> None:
    owners = Counter(column_values(city_dir, "housing", "ownerships", "owner_id"))
    assert {1, 2} <= set(owners.values())
    shares = Counter(column_values(city_dir, "housing", "ownerships", "share_percent"))
    assert shares[50] > 0  # co-owned by spouses
    assert shares[100] > 0
    ends = column_values(city_dir, "housing", "rentals", "end_date")
    assert any(str(end) <= "2026-08-31" for end in ends)
    assert any(str(end) > "2026-08-31" for end in ends)
    settled = column_values(city_dir, "tax", "tax_arrears", "settled_on")
    assert None in settled
    assert any(s is not None for s in settled)


def test_the_entry_point_is_the_generator() -> None:
    (entry,) = [e for e in entry_points(group="verifier.demo_data") if e.name == "demo_city"]
    assert entry.load() is generate_demo_city


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_refresh_times_derive_from_the_reference_date(city_dir: Path, department: str) -> None:
    times = column_values(city_dir, department, "refresh_log", "refreshed_at")
    assert max(str(t) for t in times).startswith("2026-08-31 ")


def _age(born: date) -> int:
    return REFERENCE.year - born.year - ((REFERENCE.month, REFERENCE.day) < (born.month, born.day))
