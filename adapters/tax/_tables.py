"""The tax bureau's database: taxpayers, individual income tax paid by month, arrears.

Months are month indexes (year * 12 + month - 1). Raw and sensitive (names, employers,
amounts): private to this package.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

taxpayers = Table(
    "taxpayers",
    metadata,
    Column("resident_id", String(18), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("tax_office", String(64), nullable=False),
    Column("employer_name", String(128)),
)

income_tax_spans = Table(
    "income_tax_spans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("taxpayers.resident_id"), nullable=False),
    Column("first_month", Integer, nullable=False),  # month index, inclusive
    Column("last_month", Integer, nullable=False),  # month index, inclusive
    Column("monthly_tax_amount", Integer, nullable=False),  # yuan
    Column("withholding_agent", String(128)),
)

tax_arrears = Table(
    "tax_arrears",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resident_id", ForeignKey("taxpayers.resident_id"), nullable=False),
    Column("tax_type", String(32), nullable=False),
    Column("amount", Integer, nullable=False),  # yuan
    Column("due_date", Date, nullable=False),
    Column("settled_on", Date),  # NULL while unpaid
    Column("notice_no", String(40)),  # the collection notice (税务事项通知书) number
)

refresh_log = refresh_log_table(metadata)

Index("ix_income_tax_spans_resident", income_tax_spans.c.resident_id)
Index("ix_tax_arrears_resident", tax_arrears.c.resident_id)
