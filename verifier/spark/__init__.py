"""Re-check a caseload on Apache Spark (``pip install 'onestop-verifier[spark]'``).

    from verifier.spark import recheck_dataframe, split_results

    caseload = spark.read.csv("caseload.csv", header=True)
    output = recheck_dataframe(caseload, item="social_assistance_recheck",
                               config_path="verifier.yaml")
    results, rejects = split_results(output)
    results.write.parquet("results.parquet")

A DataFrame of caseload rows in (the columns ``verifier recheck`` reads), a DataFrame of
results out (the columns it writes, and the rejected rows with their row number and
fields), through ``DataFrame.mapInArrow``: each Python worker process builds ONE Verifier
from the same configuration, on its first batch, keeps it for every task it runs and
verifies each Arrow batch with ``Verifier.decide_many`` (batched department reads, one
audit record per application). Each worker process writes its own audit chain,
``<audit dir>/worker-<k>`` on its executor's machine (``_worker``), which ``verifier audit
verify --audit-dir <audit dir>`` verifies chain by chain.

Nothing here is imported by ``import verifier``: pyspark loads only with this package.
"""

from verifier.spark._batches import OUTPUT_COLUMNS
from verifier.spark._recheck import recheck_dataframe, result_schema, split_results

__all__ = ["OUTPUT_COLUMNS", "recheck_dataframe", "result_schema", "split_results"]
