"""The courts' enforcement database: the published list of dishonest judgment debtors
(失信被执行人名单) and consumption restriction orders (限制消费令).

A debtor is a natural person (resident ID) or an organisation (unified social credit code).
Raw and sensitive (names, case numbers, obligations): private to this package.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, Index, Integer, MetaData, String, Table

from verifier.adapter.sql import refresh_log_table

metadata = MetaData()

dishonest_debtors = Table(
    "dishonest_debtors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_no", String(64), nullable=False),  # 执行案号
    Column("court_name", String(128), nullable=False),
    Column("debtor_id", String(18), nullable=False),  # resident ID or credit code
    Column("debtor_name", String(128), nullable=False),
    Column("obligation", String(256)),  # 生效法律文书确定的义务
    Column("listed_on", Date, nullable=False),
    Column("removed_on", Date),  # exclusive (屏蔽/删除 effective); NULL while listed
)

consumption_restrictions = Table(
    "consumption_restrictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_no", String(64), nullable=False),
    Column("debtor_id", String(18), nullable=False),
    Column("restricted_since", Date, nullable=False),
    Column("lifted_on", Date),  # exclusive; NULL while in force
)

refresh_log = refresh_log_table(metadata)

Index("ix_dishonest_debtors_debtor", dishonest_debtors.c.debtor_id)
Index("ix_consumption_restrictions_debtor", consumption_restrictions.c.debtor_id)
