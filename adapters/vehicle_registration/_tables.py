"""The vehicle registration office's database: vehicles and their registered owners.

A vehicle's ``assessed_value`` is the office's valuation (for the vehicle and vessel tax and
for means tests), in yuan. Raw and sensitive (plates, VINs, values): private to this package.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

vehicles = Table(
    "vehicles",
    metadata,
    Column("plate_no", String(16), primary_key=True),
    Column("vin", String(17), nullable=False),
    Column("brand_model", String(64), nullable=False),
    Column("vehicle_type", String(16), nullable=False),  # 'car' | 'motorcycle' | 'truck'
    Column("assessed_value", Integer, nullable=False),  # yuan
    Column("first_registered_on", Date, nullable=False),
)

vehicle_ownerships = Table(
    "vehicle_ownerships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("plate_no", ForeignKey("vehicles.plate_no"), nullable=False),
    Column("owner_id", String(18), nullable=False),
    Column("registered_on", Date, nullable=False),
    Column("transferred_on", Date),  # exclusive (sold or scrapped on this day); NULL: owned
    Column("certificate_no", String(32)),  # 机动车登记证书编号
)

refresh_log = refresh_log_table(metadata)

Index("ix_vehicle_ownerships_owner", vehicle_ownerships.c.owner_id)
