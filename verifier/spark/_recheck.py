"""The driver's side: a caseload DataFrame in, a results DataFrame out (``recheck_dataframe``).

The rows are numbered (as ``verifier recheck`` numbers a file's rows) unless they bring a
``row`` column, every caseload cell is made text in the JVM (as a CSV gives it), and
``mapInArrow`` hands each partition's Arrow batches to ``RecheckBatches`` in the Python
workers. Nothing is verified on the driver: it only checks the configuration and the item,
so that a wrong name fails here, at once, rather than in every task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verifier._errors import ConfigurationError
from verifier.caseload import DECISION_ORDER, LIST_COLUMNS, REJECT_COLUMNS, RESULT_COLUMNS
from verifier.catalogue import load_catalogue
from verifier.config import VerifierConfig
from verifier.engine._bulk import DEFAULT_BATCH_SIZE
from verifier.rules import load_service_items
from verifier.spark._batches import OUTPUT_COLUMNS, ROW, ConfigSource, RecheckBatches

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import StructType

PARTITION_BITS = 33
"""``monotonically_increasing_id`` puts the partition in the bits above these, the record's
place within the partition in these."""


def result_schema() -> StructType:
    """The Spark schema of ``recheck_dataframe``'s output (``OUTPUT_COLUMNS``)."""
    from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

    def spark_type(column: str) -> ArrayType | LongType | StringType:
        if column == ROW:
            return LongType()
        if column in (*LIST_COLUMNS, "fields"):
            return ArrayType(StringType())
        return StringType()

    return StructType([StructField(column, spark_type(column)) for column in OUTPUT_COLUMNS])


def recheck_dataframe(
    caseload: DataFrame,
    *,
    item: str,
    config_path: str | None = None,
    config: VerifierConfig | None = None,
    caller: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float | None = None,
) -> DataFrame:
    """Re-check ``caseload`` (rows of ``item``'s caseload, the columns ``verifier recheck``
    reads) on Spark: one output row per input row, lazily, as any DataFrame.

    A result row has the command line's result columns; a row that cannot be verified (bad
    input, or refused) has only ``row``, ``fields`` and ``reason``, as in a rejects file —
    never an exception that fails the job. ``worker`` and ``audit_chain`` say which Python
    worker verified the row and which audit chain on its host holds the row's record
    (``verifier.spark._worker``). ``split_results`` gives the two files' rows.

    The workers build their Verifier (one per worker process) from ``config_path`` — a file
    every executor can read at that path, or one shipped with ``spark-submit --files`` — or
    from ``config`` itself. ``caller`` is the calling system recorded in the audit records;
    ``batch_size`` applications share one read per department; ``timeout`` is per batch.

    Every evaluation of the returned DataFrame verifies its rows again — new department
    reads, new audit records — as Spark recomputes any lost or unpersisted result: write it
    once (``.write.parquet``) and derive what else is wanted from what was written.
    """
    if (config_path is None) == (config is None):
        raise ConfigurationError("recheck_dataframe: give config_path or config (one of them)")
    if batch_size < 1:
        raise ConfigurationError("recheck_dataframe: batch_size must be at least 1")
    source = ConfigSource(path=config_path, config=config)
    checked = source.load()  # names a bad file or key here, on the driver
    if checked.audit.backend != "files":
        # A worker claims its chain by the chain directory's lock; a store has no such lock
        # yet, and two workers on one replica id would fork its chain.
        raise ConfigurationError(
            f"recheck_dataframe: audit.backend {checked.audit.backend} is not supported on "
            "Spark yet (each worker claims a file chain, <audit dir>/worker-<k>)"
        )
    load_service_items(
        load_catalogue(checked.catalogue), checked.items_dir, checked.parameters_dir
    ).get(item)  # UnknownServiceItem here, not in every task
    batches = RecheckBatches(source, item, caller, batch_size, timeout)
    return _as_text(_numbered(caseload)).mapInArrow(batches, result_schema())


def split_results(output: DataFrame) -> tuple[DataFrame, DataFrame]:
    """``recheck_dataframe``'s output as the command line's two files: the results (the
    people who no longer qualify first, then input order) and the rejects."""
    from pyspark.sql import functions as spark

    rank = spark.array_position(
        spark.array(*(spark.lit(outcome) for outcome in DECISION_ORDER)), spark.col("decision")
    )
    results = output.where(spark.col("decision").isNotNull()).orderBy(rank, ROW)
    rejects = output.where(spark.col("decision").isNull()).orderBy(ROW)
    return results.select(*RESULT_COLUMNS), rejects.select(*REJECT_COLUMNS)


def _numbered(caseload: DataFrame) -> DataFrame:
    """``caseload`` with a ``row`` column: its own, or the rows' positions from 1 in
    partition order (a file's rows in file order).

    Counted in the JVM: the rows of each partition, then each row's place in its partition
    from ``monotonically_increasing_id``. The caseload is read twice, so its partitions must
    come out the same each time (files do; a DataFrame after a random repartition does not,
    and should bring its own ``row`` column)."""
    from pyspark.sql import functions as spark

    if ROW in caseload.columns:
        return caseload.withColumn(ROW, spark.col(ROW).cast("long"))
    identifier = spark.monotonically_increasing_id()
    partition = spark.shiftright(identifier, PARTITION_BITS)
    counts: dict[int, int] = dict(
        caseload.select(partition.alias("partition")).groupBy("partition").count().collect()
    )
    offsets, total = [], 0
    for number in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(number, 0)
    if not offsets:
        return caseload.withColumn(ROW, spark.lit(None).cast("long"))
    place = identifier.bitwiseAND((1 << PARTITION_BITS) - 1)
    first = spark.element_at(
        spark.array(*(spark.lit(o) for o in offsets)), (partition + 1).cast("int")
    )
    return caseload.withColumn(ROW, (first + place + 1).cast("long"))


def _as_text(caseload: DataFrame) -> DataFrame:
    """Every caseload cell as text, as the command line reads a CSV (``row`` kept whole)."""
    from pyspark.sql import functions as spark

    cells: list[Column] = [
        spark.col(ROW),
        *(spark.col(f"`{c}`").cast("string").alias(c) for c in caseload.columns if c != ROW),
    ]
    return caseload.select(*cells)
