"""Re-check a caseload on a Spark cluster: the job ``spark-submit`` runs (see the README).

    spark-submit ... examples/spark_recheck.py --config verifier.yaml \\
        --item social_assistance_recheck --input caseload.parquet --output results/

Reads the caseload (``.csv`` with a header, or ``.parquet``), re-checks it with
``verifier.spark.recheck_dataframe`` — one Verifier per Python worker, each auditing into
its own chain ``<audit dir>/worker-<k>`` on its executor — and writes every output row once to
``results/checked``, then ``results/results`` (the people who no longer qualify first) and
``results/rejects`` (row number and field of each bad row) from it, as Parquet, then
prints the counts per decision.
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession

from verifier.spark import recheck_dataframe, split_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="shipped with spark-submit --files")
    parser.add_argument("--item", required=True)
    parser.add_argument("--input", required=True, help="a .csv (with header) or .parquet")
    parser.add_argument("--output", required=True, help="a directory for results and rejects")
    parser.add_argument("--caller", help="the calling system recorded in the audit records")
    args = parser.parse_args()
    spark = SparkSession.builder.appName(f"recheck {args.item}").getOrCreate()
    reader = spark.read
    caseload = (
        reader.parquet(args.input)
        if args.input.endswith(".parquet")
        else reader.csv(args.input, header=True)
    )
    # Written once: each evaluation of the re-check verifies (and audits) again, so the
    # results and rejects are split from what was written, not from the re-check itself.
    checked = f"{args.output}/checked"
    recheck_dataframe(
        caseload, item=args.item, config_path=args.config, caller=args.caller
    ).write.mode("overwrite").parquet(checked)
    output = spark.read.parquet(checked)
    results, rejects = split_results(output)
    results.write.mode("overwrite").parquet(f"{args.output}/results")
    rejects.write.mode("overwrite").parquet(f"{args.output}/rejects")
    for decision, count in output.groupBy("decision").count().collect():
        print(f"{decision or 'REJECTED':<14} {count:>9}")
    spark.stop()


if __name__ == "__main__":
    main()
