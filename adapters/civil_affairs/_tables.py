"""The civil affairs bureau's death registrations (死亡登记).

Raw and sensitive (cause and place of death, who reported it): private to this package.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

death_registrations = Table(
    "death_registrations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", String(18), nullable=False),
    Column("date_of_death", Date, nullable=False),
    Column("registered_on", Date, nullable=False),  # when the bureau recorded the death
    Column("place_of_death", String(128)),
    Column("reported_by", String(64)),  # hospital, funeral home or family member
    Column("certificate_no", String(32)),  # 居民死亡医学证明（推断）书编号
    # 'registered' | 'revoked' (a registration found to be wrong, e.g. a mistaken identity)
    Column("status", String(16), nullable=False),
)

refresh_log = refresh_log_table(metadata)

Index("ix_death_registrations_resident", death_registrations.c.resident_id)
