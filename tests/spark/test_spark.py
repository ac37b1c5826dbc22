"""One engine, several places: the same rules on local Spark give the same tiers as DuckDB.

Given the demo company loaded into a local Spark session (through Ibis' PySpark backend),
when each example rule file is evaluated there and from the files on DuckDB,
then every customer gets the same tier, score/rank and reason in both.
"""

from __future__ import annotations

import os
import shutil

import pytest

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.0 passes pandas 3 a deprecated keyword when converting
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
    # py4j leaves its gateway sockets to the garbage collector
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
pyspark = pytest.importorskip("pyspark")

if shutil.which("java") is None:  # pragma: no cover
    pytest.skip("Spark needs Java", allow_module_level=True)


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("tiering-tests")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    from tiering.demo import generate_demo

    folder = tmp_path_factory.mktemp("spark-demo")
    return generate_demo(folder, customers=300, seed=7, fmt="csv")


def _spark_frame(spark, table):
    """A Spark DataFrame with the Arrow table's own types: dates stay dates (through pandas
    they would become timestamps and shift with the time zone) and decimals keep their
    scale."""
    import pyarrow as pa
    from pyspark.sql import types as T

    def spark_type(t):
        if pa.types.is_date(t):
            return T.DateType()
        if pa.types.is_decimal(t):
            return T.DecimalType(t.precision, t.scale)
        if pa.types.is_integer(t):
            return T.LongType()
        if pa.types.is_floating(t):
            return T.DoubleType()
        return T.StringType()

    schema = T.StructType([T.StructField(f.name, spark_type(f.type), True) for f in table.schema])
    rows = [tuple(r.values()) for r in table.to_pylist()]
    return spark.createDataFrame(rows, schema)


@pytest.mark.parametrize(
    "example", ["scorecard", "pareto", "rfm", "membership", "prospects", "collection"]
)
def test_spark_gives_the_same_tiers_as_duckdb(spark, company, example):
    import ibis

    import tiering

    rules = tiering.load_rules(f"examples/{example}.yaml")
    payments = company.payments if example == "collection" else None
    on_duckdb = tiering.evaluate(
        rules, str(company.customers), str(company.transactions), payments=payments
    )
    expected = on_duckdb.to_pyarrow()

    # the same validated inputs, handed to Spark as Spark tables
    date_columns = ["预计成交日期"] if example == "prospects" else []
    inputs = tiering.read_inputs(
        company.customers,
        company.transactions,
        payments,
        columns=rules.columns,
        date_columns=date_columns,
    )
    con = ibis.pyspark.connect(spark)
    tables = {"customers": inputs.customers, "transactions": inputs.transactions}
    if payments is not None:
        tables["payments"] = inputs.payments
    for name, table in tables.items():
        _spark_frame(spark, table.to_pyarrow()).createOrReplaceTempView(f"{name}_{example}")
    customers = con.table(f"customers_{example}")
    transactions = con.table(f"transactions_{example}")
    on_spark = con.table(f"payments_{example}") if payments is not None else None
    got = tiering.evaluate(rules, customers, transactions, payments=on_spark).to_pyarrow()

    key = [
        c
        for c in ("customer_id", "tier", "score", "rank", "rfm_code", "reason", "gap")
        if c in expected.column_names
    ]
    assert got.num_rows == expected.num_rows == 300
    want = sorted(zip(*[expected.column(c).to_pylist() for c in key], strict=True))
    have = sorted(zip(*[got.column(c).to_pylist() for c in key], strict=True))
    assert have == want
