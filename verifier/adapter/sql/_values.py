"""Column values as drivers hand them back, made into Python values the derivations use.

SQLite stores dates as ISO text and timestamps without a zone; PostgreSQL's drivers return
``date`` and aware ``datetime`` objects. A derivation should see one kind whatever the
backend, so ``collect`` passes every date column through these.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def as_date(value: object) -> date:
    """A DATE column's value: a ``date`` from most drivers, ISO text from SQLite."""
    if isinstance(value, datetime):  # some drivers hand DATE columns back as datetimes
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def as_optional_date(value: object) -> date | None:
    return None if value is None else as_date(value)


def as_utc_datetime(value: object) -> datetime | None:
    """A timestamp column's value as an aware datetime; naive values are taken as UTC."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
