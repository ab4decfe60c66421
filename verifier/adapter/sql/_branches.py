"""The common branch of a read: some columns of one table's rows about the subjects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import ColumnElement, Select

from verifier.adapter.sql._backend import BranchBuilder


def subject_rows(subject: ColumnElement[Any], *columns: ColumnElement[Any]) -> BranchBuilder:
    """A branch reading ``subject`` and ``columns`` of the rows whose ``subject`` column is
    one of the ids: ``subject_rows(debtors.c.debtor_id, debtors.c.listed_on)``.

    The subject comes first in each row, so ``collect`` can group by it. For a join, or a
    read of rows related to the subjects (a household booklet), write the builder yourself.
    """

    def build(ids: Sequence[ColumnElement[str]]) -> Select[Any]:
        return select(subject, *columns).where(subject.in_(ids))

    return build
