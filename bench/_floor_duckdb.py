"""The Pareto grading of ``examples/pareto.yaml`` written straight in DuckDB SQL: the floor
that ``bench/floor.py`` sets beside ``tiering evaluate`` and the pandas reference.

Usage: ``python bench/_floor_duckdb.py CUSTOMERS.parquet TRANSACTIONS.parquet OUT.parquet
[--checks]``

Without ``--checks``: the arithmetic only (floats, no input check). With ``--checks``: what
the engine guarantees besides (exact cents; no empty or duplicate customer id; no empty
id, date or amount in a transaction; no transaction of an unknown customer), each check
as cheap as DuckDB allows (counted in the same pass as the grouping), stopping with exit
status 1 when one fails. Imports nothing but DuckDB.
"""

import sys

import duckdb

WINDOW = "日期 > DATE '2025-09-30' AND 日期 <= DATE '2026-09-30'"


def main() -> int:
    customers, transactions, out = sys.argv[1:4]
    checks = "--checks" in sys.argv[4:]
    con = duckdb.connect()
    money = "CAST({} AS DECIMAL(18, 2))" if checks else "{}"
    amount, cost = money.format("金额"), money.format("成本")
    # checked: the ids are read once into a table, then counted and joined from there
    kind = "TABLE" if checks else "VIEW"
    con.execute(
        f"CREATE TEMP {kind} c AS SELECT 客户编号 AS customer_id FROM read_parquet('{customers}')"
    )
    extra = ""
    if checks:
        rows, ids, distinct = con.execute(
            "SELECT count(*), count(customer_id), count(DISTINCT customer_id) FROM c"
        ).fetchone()
        if rows != ids or ids != distinct:
            print("empty or duplicate customer id", file=sys.stderr)
            return 1
        extra = (
            ", count(*) - count(客户编号) AS n_id, count(*) - count(日期) AS n_date,"
            f" count(*) - count({amount}) AS n_amount"
        )
    con.execute(
        f"""CREATE TEMP {kind} agg AS
        SELECT 客户编号 AS customer_id,
               SUM({amount}) FILTER (WHERE {WINDOW}) - SUM({cost}) FILTER (WHERE {WINDOW}) AS profit
               {extra}
        FROM read_parquet('{transactions}') GROUP BY 1"""
    )
    if checks:
        empty = con.execute("SELECT sum(n_id), sum(n_date), sum(n_amount) FROM agg").fetchone()
        unknown = con.execute(
            "SELECT customer_id FROM agg ANTI JOIN c USING (customer_id) LIMIT 10"
        ).fetchall()
        if any(empty) or unknown:
            print(f"empty cells {empty}, unknown customers {unknown}", file=sys.stderr)
            return 1
    con.execute(
        f"""COPY (
        WITH g AS (SELECT c.customer_id, COALESCE(a.profit, 0) AS profit
                   FROM c LEFT JOIN agg a USING (customer_id)),
        r AS (SELECT customer_id, profit,
                     ROW_NUMBER() OVER (ORDER BY profit DESC, customer_id) AS rk,
                     COUNT(*) OVER () AS n FROM g)
        SELECT customer_id,
               CASE WHEN profit <= 0 THEN 'C' WHEN (rk - 1) * 5 < n THEN 'A'
                    WHEN (rk - 1) * 2 < n THEN 'B' ELSE 'C' END AS tier
        FROM r ORDER BY rk) TO '{out}' (FORMAT parquet)"""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
