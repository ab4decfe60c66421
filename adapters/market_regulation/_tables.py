"""The business registry (商事登记) of the market regulation bureau.

Entities are keyed by their unified social credit code; a person appears as the owner of an
individual business (个体工商户经营者) or as the legal representative (法定代表人) of a
company. Raw and sensitive (names, capital, addresses): private to this package.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

business_entities = Table(
    "business_entities",
    metadata,
    Column("credit_code", String(18), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("entity_type", String(24), nullable=False),  # 'individual_business' | 'company'
    Column("registered_capital", Integer),  # yuan; NULL for individual businesses
    Column("address", String(256)),
    Column("established_on", Date, nullable=False),
    Column("deregistered_on", Date),  # exclusive (注销/吊销 effective); NULL while registered
)

business_roles = Table(
    "business_roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("credit_code", ForeignKey("business_entities.credit_code"), nullable=False),
    Column("person_id", String(18), nullable=False),
    Column("role", String(24), nullable=False),  # 'operator' | 'legal_representative'
    Column("since", Date, nullable=False),
    Column("until", Date),  # exclusive; NULL while in the role
    Column("appointment_document", String(64)),  # 任职文件 / 经营者登记表 number
)

refresh_log = refresh_log_table(metadata)

Index("ix_business_roles_person", business_roles.c.person_id)
