"""The household registration (户籍) database, as the public security bureau keeps it.

Raw and sensitive: names, phones, addresses, certificate numbers. Only this package reads
these tables (and the demo-city generator, which writes them).
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

residents = Table(
    "residents",
    metadata,
    Column("resident_id", String(18), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("gender", String(1), nullable=False),  # 'M' | 'F', as the ID's sequence says
    Column("birth_date", Date, nullable=False),
    Column("phone", String(32)),
    Column("home_address", String(256)),
    # 'normal' | 'pending_transfer' (a move in or out is being processed: facts are unknown)
    Column("record_status", String(20), nullable=False),
)

registrations = Table(
    "registrations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("residents.resident_id"), nullable=False),
    Column("district_code", String(6), nullable=False),
    Column("registered_since", Date, nullable=False),
    Column("registered_until", Date),  # exclusive; NULL while current
    Column("address", String(256)),
    # 户号: the household booklet this registration is entered in; the register, not the
    # applicant, says who belongs to one household.
    Column("household_no", String(20)),
)

guardianships = Table(
    "guardianships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("guardian_id", ForeignKey("residents.resident_id"), nullable=False),
    Column("child_id", ForeignKey("residents.resident_id"), nullable=False),
    Column("relation", String(16), nullable=False),  # 'father' | 'mother' | 'legal_guardian'
    Column("recorded_since", Date, nullable=False),
    Column("certificate_no", String(32)),  # birth certificate or guardianship document
)

refresh_log = refresh_log_table(metadata)

Index("ix_registrations_resident", registrations.c.resident_id)
Index("ix_registrations_household", registrations.c.household_no)
Index("ix_guardianships_guardian", guardianships.c.guardian_id, guardianships.c.child_id)
