"""What runs inside a Spark Python worker: Arrow batches of caseload rows in, Arrow batches
of result rows out, through the worker process's one Verifier (``_worker``).

Each input batch (``spark.sql.execution.arrow.maxRecordsPerBatch`` rows) is made into
applications by the caseload format (``verifier.caseload``: the rows ``verifier recheck``
reads), verified with ``Verifier.decide_many`` (batched department reads, one audit record
per application, durable before its row is given back) and written back as the same
result and reject rows the command line writes, plus where each was verified.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier._errors import ConfigurationError
from verifier.caseload import (
    LIST_COLUMNS,
    REJECT_COLUMNS,
    RESULT_COLUMNS,
    Rejected,
    application_of,
    outcome_row,
)
from verifier.config import VerifierConfig, load_config
from verifier.engine import Verifier
from verifier.model import Application, CallerIdentity
from verifier.rules import ServiceItem
from verifier.spark._worker import WorkerVerifier, worker_verifier

ROW = "row"
WHERE_COLUMNS = ("worker", "audit_chain")
"""Beyond the command line's columns: the Python worker that verified the row
(``<host>:<pid>#<n>``, ``WorkerIdentity``) and the audit chain on that host that holds the
row's record."""
OUTPUT_COLUMNS = (
    *RESULT_COLUMNS,
    *(column for column in REJECT_COLUMNS if column != ROW),
    *WHERE_COLUMNS,
)
"""A result row has ``fields`` and ``reason`` null; a rejected row has only ``row``,
``fields``, ``reason`` (and where it was read)."""


def arrow_schema() -> Any:
    """The Arrow schema of the output batches (what ``spark_schema`` says to Spark)."""
    import pyarrow

    def arrow_type(column: str) -> Any:
        if column == ROW:
            return pyarrow.int64()
        if column in (*LIST_COLUMNS, "fields"):
            return pyarrow.list_(pyarrow.string())
        return pyarrow.string()

    return pyarrow.schema([(column, arrow_type(column)) for column in OUTPUT_COLUMNS])


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """The configuration the workers build their Verifier from: a file's path (as the
    driver names it; on an executor, also looked up among the files ``spark-submit
    --files`` shipped), or the configuration itself, pickled to the workers."""

    path: str | None = None
    config: VerifierConfig | None = None

    def key(self) -> str:
        """One Verifier per worker process per key."""
        if self.path is not None:
            return f"file:{self.path}"
        digest = hashlib.sha256(pickle.dumps(self.config)).hexdigest()
        return f"config:{digest}"

    def load(self) -> VerifierConfig:
        if self.config is not None:
            return self.config
        assert self.path is not None
        return load_config(self._located(self.path))

    @staticmethod
    def _located(path: str) -> Path:
        given = Path(path)
        if given.is_file():
            return given
        try:
            from pyspark import SparkFiles

            shipped = Path(SparkFiles.get(given.name))
        except Exception:  # no SparkContext's files here (not inside a Spark worker)
            shipped = None
        if shipped is not None and shipped.is_file():
            return shipped
        raise ConfigurationError(
            f"configuration file {path}: not found here, nor among the files shipped with "
            f"the job (spark-submit --files {given.name})"
        )


@dataclass(frozen=True, slots=True)
class RecheckBatches:
    """The function ``mapInArrow`` runs: picklable settings, the Verifier found per process."""

    source: ConfigSource
    item: str
    caller: str | None
    batch_size: int
    timeout: float | None

    def __call__(self, batches: Iterator[Any]) -> Iterator[Any]:
        schema = arrow_schema()
        worker: WorkerVerifier | None = None
        try:
            for batch in batches:
                if worker is None:  # built on the first batch: an empty partition builds none
                    worker = worker_verifier(self.source.key(), self.source.load)
                rows = self._recheck(worker, batch.to_pylist())
                yield _record_batch(schema, rows)
        finally:
            if worker is not None:  # the task's records sealed: the worker may die idle
                worker.seal()

    def _recheck(self, worker: WorkerVerifier, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The output rows of one batch's rows, in their order."""
        item = worker.engine.items.get(self.item)
        parsed = [_parsed(row, item) for row in cells]
        valid = [(number, found) for number, found in parsed if isinstance(found, Application)]
        outcomes = worker.run(self._decided(worker.engine, [found for _, found in valid]))
        decided = iter(
            outcome_row(number, outcome)
            for (number, _), outcome in zip(valid, outcomes, strict=True)
        )
        where = {"worker": worker.identity.worker, "audit_chain": worker.identity.audit_chain}
        return [
            _output_row(next(decided) if isinstance(found, Application) else found, where)
            for _, found in parsed
        ]

    async def _decided(self, engine: Verifier, applications: list[Application]) -> list[Any]:
        caller = CallerIdentity(system=self.caller) if self.caller else None
        stream = engine.decide_many(
            applications, caller=caller, batch_size=self.batch_size, timeout=self.timeout
        )
        return [outcome async for outcome in stream]


def _parsed(row: dict[str, Any], item: ServiceItem) -> tuple[int, Application | Rejected]:
    number = row.pop(ROW)
    if number is None:  # a ``row`` column of the caller's that is not a whole number
        return 0, Rejected(0, (ROW,), "not a whole number")
    return int(number), application_of(int(number), row, item)


def _output_row(row: dict[str, Any] | Rejected, where: dict[str, str]) -> dict[str, Any]:
    cells = row.cells() if isinstance(row, Rejected) else row
    return {**dict.fromkeys(OUTPUT_COLUMNS), **cells, **where}


def _record_batch(schema: Any, rows: list[dict[str, Any]]) -> Any:
    import pyarrow

    return pyarrow.RecordBatch.from_pylist(rows, schema=schema)
