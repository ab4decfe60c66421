"""The housing and property registration database: properties, ownerships, rentals.

Every property in this registry is a home in the city. Raw and sensitive (addresses,
prices, rents, landlords): private to this package.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Float, ForeignKey, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

properties = Table(
    "properties",
    metadata,
    Column("house_code", String(24), primary_key=True),
    Column("district_code", String(6), nullable=False),
    Column("address", String(256), nullable=False),
    Column("floor_area_m2", Float, nullable=False),
    Column("purchase_price", Integer),  # yuan; NULL for stock never sold to a person
    Column("building_type", String(32), nullable=False),
)

ownerships = Table(
    "ownerships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("house_code", ForeignKey("properties.house_code"), nullable=False),
    Column("owner_id", String(18), nullable=False),
    Column("share_percent", Integer, nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("released_on", Date),  # exclusive (sold or transferred on this day); NULL: still owned
    Column("certificate_no", String(40)),  # 不动产权证书号
)

rentals = Table(
    "rentals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("house_code", ForeignKey("properties.house_code"), nullable=False),
    Column("tenant_id", String(18), nullable=False),
    Column("district_code", String(6), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),  # exclusive: the first day no longer rented
    Column("monthly_rent", Integer, nullable=False),  # yuan
    Column("landlord_name", String(64)),
    Column("landlord_phone", String(32)),
)

refresh_log = refresh_log_table(metadata)

Index("ix_ownerships_owner", ownerships.c.owner_id)
Index("ix_rentals_tenant", rentals.c.tenant_id)
