"""The social insurance fund's database: insured persons, status history, contributions,
pensions in payment and unemployment benefit paid.

Months are stored as month indexes (year * 12 + month - 1, see ``verifier.model.month_index``)
so spans compare as integers. Raw and sensitive (names, employers, wages): private here.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

insured_persons = Table(
    "insured_persons",
    metadata,
    Column("resident_id", String(18), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("phone", String(32)),
    Column("employer_name", String(128)),
    # The current status, denormalised from the history: 'active' | 'suspended' | 'closed'.
    Column("status", String(16), nullable=False),
    Column("status_since", Date, nullable=False),
    Column("enrolled_since", Date, nullable=False),
)

status_history = Table(
    "insurance_status_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("insured_persons.resident_id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("handled_by", String(64)),  # the fund office that recorded the change
)

contribution_spans = Table(
    "contribution_spans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("insured_persons.resident_id"), nullable=False),
    Column("first_month", Integer, nullable=False),  # month index, inclusive
    Column("last_month", Integer, nullable=False),  # month index, inclusive
    Column("monthly_base_amount", Integer, nullable=False),  # yuan: the wage base
    Column("employer_name", String(128)),
)

pension_awards = Table(
    "pension_awards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", String(18), nullable=False),
    Column("pension_type", String(24), nullable=False),  # 'basic_employee' | 'urban_rural'
    Column("monthly_amount", Integer, nullable=False),  # yuan
    Column("started_on", Date, nullable=False),
    Column("stopped_on", Date),  # exclusive; NULL while paid
    Column("paying_office", String(64)),
)

unemployment_benefit_spans = Table(
    "unemployment_benefit_spans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", String(18), nullable=False),
    Column("first_month", Integer, nullable=False),  # month index, inclusive
    Column("last_month", Integer, nullable=False),  # month index, inclusive
    Column("monthly_amount", Integer, nullable=False),  # yuan
    Column("benefit_office", String(64)),
)

refresh_log = refresh_log_table(metadata)

Index("ix_status_history_resident", status_history.c.resident_id)
Index("ix_contribution_spans_resident", contribution_spans.c.resident_id)
Index("ix_pension_awards_resident", pension_awards.c.resident_id)
Index("ix_unemployment_benefit_spans_resident", unemployment_benefit_spans.c.resident_id)
