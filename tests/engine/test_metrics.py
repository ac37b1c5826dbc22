"""Per-customer metrics: the window, returns, empty values, as_of, growth (tiering.metrics)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from conftest import customers_table, d, grade, tx_table

import tiering

ALL = frozenset(
    {
        "margin",
        "avg_order_value",
        "active_months",
        "recency_days",
        "tenure_days",
        "lifetime_revenue",
        "growth",
    }
)
TWELVE = tiering.parse_period("12 months")


def metrics(customers, transactions, *, as_of, lookback=TWELVE, needed=ALL):
    """compute_metrics on memtables, rows keyed by customer_id."""
    table = tiering.compute_metrics(
        ibis.memtable(customers),
        ibis.memtable(transactions),
        as_of=d(as_of),
        lookback=lookback,
        needed=set(needed),
    )
    rows = table.to_pyarrow().to_pylist()
    return {r["customer_id"]: r for r in rows}


def thresholds_rules(metric: str, **extra) -> dict:
    return {
        "name": "t",
        "thresholds": {"metric": metric},
        "tiers": [{"name": "big", "min": 100}, {"name": "small"}],
        **extra,
    }


# --------------------------------------------------------------------------- the window


def test_window_excludes_its_start_and_includes_as_of():
    """Given as_of 2026-06-30 and a 12-month lookback, when metrics are computed,
    then 2025-06-30 is outside, 2025-07-01 and 2026-06-30 inside, 2026-07-01 ignored."""
    tx = tx_table(
        [
            ("a", d("2025-06-30"), 1000.0),  # start of window: exclusive -> outside
            ("a", d("2025-07-01"), 10.0),  # one day later: inside
            ("a", d("2026-06-30"), 5.0),  # as_of itself: inside
            ("a", d("2026-07-01"), 10000.0),  # after as_of: ignored everywhere
        ]
    )
    m = metrics(customers_table(["a"]), tx, as_of="2026-06-30")["a"]
    assert m["revenue"] == Decimal("15")  # 10 + 5
    assert m["orders"] == 2
    assert m["lifetime_revenue"] == Decimal("1015")  # 1000 + 10 + 5, not the 10000
    assert m["recency_days"] == 0  # last transaction on as_of (the later one ignored)
    assert m["tenure_days"] == 365  # 2025-06-30 -> 2026-06-30


@pytest.mark.parametrize(
    ("as_of", "lookback", "outside", "inside"),
    [
        # 2024-02-29 - 12 months = 2023-02-28 (no 29th): the 28th is out, March 1st in
        ("2024-02-29", "12 months", "2023-02-28", "2023-03-01"),
        # 2025-08-31 - 6 months = 2025-02-28 (clamped to the month's end)
        ("2025-08-31", "6 months", "2025-02-28", "2025-03-01"),
        # 2026-03-31 - 1 month = 2026-02-28
        ("2026-03-31", "1 month", "2026-02-28", "2026-03-01"),
        # an ordinary day: 2026-06-15 - 12 months = 2025-06-15
        ("2026-06-15", "12 months", "2025-06-15", "2025-06-16"),
    ],
)
def test_lookback_boundary_with_month_end_clamping(as_of, lookback, outside, inside):
    """Given a transaction exactly on as_of - lookback (clamped to the month's end) and one a
    day later, when metrics are computed, then only the later one is in the window."""
    tx = tx_table([("a", d(outside), 100.0), ("b", d(inside), 100.0)])
    m = metrics(
        customers_table(["a", "b"]), tx, as_of=as_of, lookback=tiering.parse_period(lookback)
    )
    assert (m["a"]["revenue"], m["a"]["orders"]) == (Decimal("0"), 0)
    assert (m["b"]["revenue"], m["b"]["orders"]) == (Decimal("100"), 1)


def test_without_lookback_the_window_is_all_history():
    """Given no lookback, when metrics are computed, then revenue covers all history up to
    as_of and equals lifetime revenue."""
    tx = tx_table(
        [
            ("a", d("2010-01-01"), 1.0),
            ("a", d("2026-06-30"), 2.0),
            ("a", d("2026-07-01"), 4.0),  # after as_of
        ]
    )
    m = metrics(customers_table(["a"]), tx, as_of="2026-06-30", lookback=None)["a"]
    assert m["revenue"] == Decimal("3")
    assert m["orders"] == 2
    assert m["lifetime_revenue"] == Decimal("3")


def test_transactions_after_as_of_are_ignored_everywhere():
    """Given a customer whose only transactions are after as_of, when metrics are computed,
    then it looks like a customer without transactions (recency and tenure empty)."""
    tx = tx_table(
        [
            ("late", d("2026-07-01"), 500.0, 100.0),
            ("mixed", d("2026-01-10"), 50.0, 10.0),
            ("mixed", d("2026-08-01"), 70.0, 30.0),
        ]
    )
    m = metrics(customers_table(["late", "mixed"]), tx, as_of="2026-06-30")
    late = m["late"]
    assert (late["revenue"], late["cost"], late["profit"], late["orders"]) == (0, 0, 0, 0)
    assert late["lifetime_revenue"] == 0
    assert late["recency_days"] is None
    assert late["tenure_days"] is None
    mixed = m["mixed"]
    assert (mixed["revenue"], mixed["cost"], mixed["orders"]) == (50, 10, 1)
    assert mixed["recency_days"] == 171  # 2026-01-10 -> 2026-06-30: 21+28+31+30+31+30
    assert mixed["tenure_days"] == 171
    assert mixed["lifetime_revenue"] == 50


# --------------------------------------------------------------------------- money


def test_returns_are_negative_amounts():
    """Given a sale of 100 (cost 60) and a return of -30 (cost -18), when metrics are
    computed, then revenue 70, cost 42, profit 28, margin 0.4, 2 orders, AOV 35."""
    tx = tx_table([("a", d("2026-03-01"), 100.0, 60.0), ("a", d("2026-04-01"), -30.0, -18.0)])
    m = metrics(customers_table(["a"]), tx, as_of="2026-06-30")["a"]
    assert m["revenue"] == Decimal("70")
    assert m["cost"] == Decimal("42")
    assert m["profit"] == Decimal("28")
    assert m["margin"] == pytest.approx(0.4)
    assert m["orders"] == 2
    assert m["avg_order_value"] == pytest.approx(35.0)


def test_margin_is_empty_when_revenue_is_zero():
    """Given a sale fully returned (100 then -100, costs 40 and 0), when metrics are
    computed, then revenue is 0, profit -40 and margin empty."""
    tx = tx_table([("a", d("2026-03-01"), 100.0, 40.0), ("a", d("2026-03-05"), -100.0, 0.0)])
    m = metrics(customers_table(["a"]), tx, as_of="2026-06-30")["a"]
    assert m["revenue"] == 0
    assert m["profit"] == Decimal("-40")
    assert m["margin"] is None
    assert m["orders"] == 2


def test_money_sums_are_exact_decimals():
    """Given amounts 0.1 and 0.2 as floats, when metrics are computed, then revenue is
    exactly 0.30 (no binary floating point residue)."""
    tx = tx_table([("a", d("2026-01-01"), 0.1), ("a", d("2026-01-02"), 0.2)])
    m = metrics(customers_table(["a"]), tx, as_of="2026-06-30")["a"]
    assert m["revenue"] == Decimal("0.30")
    assert m["lifetime_revenue"] == Decimal("0.30")


def test_customers_without_transactions_get_zero_revenue_cost_profit_orders():
    """Given a customer with no transactions at all, when metrics are computed, then
    revenue, cost, profit and orders are 0 and the date-based metrics are empty."""
    tx = tx_table([("a", d("2026-01-01"), 10.0)])
    m = metrics(customers_table(["a", "none"]), tx, as_of="2026-06-30")["none"]
    assert (m["revenue"], m["cost"], m["profit"], m["orders"]) == (0, 0, 0, 0)
    assert m["margin"] is None
    assert m["avg_order_value"] is None
    assert m["recency_days"] is None
    assert m["tenure_days"] is None
    assert m["growth"] is None


def test_missing_cost_column_counts_as_zero_cost():
    """Given transactions without a cost column, when evaluated, then cost is 0 and profit
    equals revenue."""
    cust = customers_table(["a"])
    tx = pa.table({"customer_id": ["a"], "date": [d("2026-01-01")], "amount": [Decimal("120.50")]})
    rows = grade(thresholds_rules("profit"), cust, tx, as_of="2026-06-30")
    assert rows["a"]["cost"] == 0
    assert rows["a"]["profit"] == Decimal("120.50")
    assert rows["a"]["tier"] == "big"


# --------------------------------------------------------------------------- dates


def test_recency_uses_all_history_while_revenue_uses_the_window():
    """Given a 3-month lookback and a last purchase 181 days before as_of, when metrics are
    computed, then revenue and orders are 0 but recency_days is 181."""
    tx = tx_table([("a", d("2025-12-31"), 80.0), ("a", d("2025-06-30"), 20.0)])
    m = metrics(
        customers_table(["a"]), tx, as_of="2026-06-30", lookback=tiering.parse_period("3 months")
    )["a"]
    assert (m["revenue"], m["orders"]) == (0, 0)
    assert m["recency_days"] == 181  # 31+28+31+30+31+30
    assert m["tenure_days"] == 365  # first purchase 2025-06-30
    assert m["lifetime_revenue"] == Decimal("100")


def test_active_months_counts_distinct_calendar_months():
    """Given purchases on 2025-01-10, 2026-01-05, 2026-01-20 and 2026-03-01 with all history,
    when metrics are computed, then active_months is 3 (January of two years differ)."""
    tx = tx_table(
        [
            ("a", d("2025-01-10"), 1.0),
            ("a", d("2026-01-05"), 1.0),
            ("a", d("2026-01-20"), 1.0),
            ("a", d("2026-03-01"), 1.0),
        ]
    )
    m = metrics(customers_table(["a"]), tx, as_of="2026-06-30", lookback=None)["a"]
    assert m["active_months"] == 3
    windowed = metrics(customers_table(["a"]), tx, as_of="2026-06-30")["a"]
    assert windowed["active_months"] == 2  # 2025-01 is outside the 12-month window


# --------------------------------------------------------------------------- growth


def test_growth_against_the_preceding_window():
    """Given as_of 2026-06-30 and 12 months, the preceding window is (2024-06-30, 2025-06-30].
    When metrics are computed, then growth = revenue / previous revenue - 1, and is empty
    when the previous window's revenue is 0."""
    tx = tx_table(
        [
            # up: 100 in the previous window (its last day), 150 now -> +0.5
            ("up", d("2025-06-30"), 100.0),
            ("up", d("2026-02-01"), 150.0),
            # new: only a purchase on 2024-06-30, outside both windows, and 80 now -> empty
            ("new", d("2024-06-30"), 999.0),
            ("new", d("2026-02-01"), 80.0),
            # gone: 200 before, nothing now -> -1
            ("gone", d("2024-07-01"), 200.0),
            # wash: previous window nets to zero (sale and full return) -> empty
            ("wash", d("2025-01-01"), 50.0),
            ("wash", d("2025-02-01"), -50.0),
            ("wash", d("2026-01-01"), 50.0),
        ]
    )
    m = metrics(customers_table(["up", "new", "gone", "wash", "none"]), tx, as_of="2026-06-30")
    assert m["up"]["growth"] == pytest.approx(0.5)
    assert m["new"]["growth"] is None
    assert m["gone"]["growth"] == pytest.approx(-1.0)
    assert m["wash"]["growth"] is None
    assert m["none"]["growth"] is None


def test_growth_needs_a_lookback():
    """Given a rule on growth without a lookback, when parsed, then it is a rule error."""
    with pytest.raises(tiering.RuleError):
        tiering.parse_rules(thresholds_rules("growth"))


# --------------------------------------------------------------------------- evaluate


def test_every_customer_in_the_customers_file_is_graded_and_only_those():
    """Given transactions for a customer not in the customers table, when evaluated with
    unknown_customers="ignore", then the output has exactly the customers of the customers
    table; by default the stranger is an error naming it."""
    cust = customers_table(["a", "b", "c"])
    tx = tx_table([("a", d("2026-01-01"), 150.0), ("stranger", d("2026-01-01"), 1e6)])
    with pytest.raises(tiering.InputError) as error:
        grade(thresholds_rules("revenue"), cust, tx, as_of="2026-06-30")
    assert [(i.column, i.value) for i in error.value.issues] == [("customer_id", "stranger")]
    rows = grade(
        thresholds_rules("revenue"), cust, tx, as_of="2026-06-30", unknown_customers="ignore"
    )
    assert set(rows) == {"a", "b", "c"}
    assert {k: r["tier"] for k, r in rows.items()} == {"a": "big", "b": "small", "c": "small"}


def test_as_of_comes_from_the_rule_file_or_the_argument():
    """Given a rule file with as_of 2026-06-30 and a purchase of 150 on 2026-05-01, when
    evaluated as of the rule file's date, then it counts; when evaluated with
    as_of=2026-04-30, then it is ignored (after as_of)."""
    rules = thresholds_rules("revenue", as_of="2026-06-30")
    cust = customers_table(["a"])
    tx = tx_table([("a", d("2026-05-01"), 150.0)])
    assert grade(rules, cust, tx)["a"]["tier"] == "big"
    earlier = grade(rules, cust, tx, as_of="2026-04-30")["a"]
    assert earlier["tier"] == "small"
    assert earlier["revenue"] == 0


def test_attribute_metric_reads_a_customers_column():
    """Given thresholds on attribute.employees (150, 99, empty), when evaluated, then the
    column is compared as a number and an empty value goes to the last tier."""
    cust = customers_table(["a", "b", "c"], employees=[150, 99, None])
    rows = grade(thresholds_rules("attribute.employees"), cust, tx_table([]), as_of="2026-06-30")
    assert [rows[c]["tier"] for c in "abc"] == ["big", "small", "small"]


def test_output_carries_base_metrics_and_the_metrics_used():
    """Given a thresholds rule on lifetime_revenue, when evaluated, then the output has
    revenue, cost, profit, orders and lifetime_revenue per customer."""
    cust = customers_table(["a"])
    tx = tx_table([("a", d("2020-01-01"), 30.0, 10.0), ("a", d("2026-01-01"), 70.0, 20.0)])
    rules = thresholds_rules("lifetime_revenue", lookback="12 months")
    row = grade(rules, cust, tx, as_of="2026-06-30")["a"]
    assert row["revenue"] == 70
    assert row["cost"] == 20
    assert row["profit"] == 50
    assert row["orders"] == 1
    assert row["lifetime_revenue"] == 100
    assert row["tier"] == "big"


# --------------------------------------------------------------------------- input kinds

INPUT_RULES = thresholds_rules("revenue", as_of="2026-06-30")


def _expect_big_small(result: tiering.Evaluation) -> None:
    tiers = {r["customer_id"]: r["tier"] for r in result.to_pyarrow().to_pylist()}
    assert tiers == {"a": "big", "b": "small"}


def test_evaluate_accepts_pyarrow_tables():
    """Given customers and transactions as pyarrow Tables, when evaluated, then each
    customer is graded (a: 150 -> big, b: 0 -> small)."""
    cust = customers_table(["a", "b"])
    tx = tx_table([("a", d("2026-01-01"), 150.0)])
    _expect_big_small(tiering.evaluate(INPUT_RULES, cust, tx))


def test_evaluate_accepts_pandas_dataframes():
    """Given customers and transactions as pandas DataFrames, when evaluated, then each
    customer is graded (a: 150 -> big, b: 0 -> small)."""
    cust = pd.DataFrame({"customer_id": ["a", "b"]})
    tx = pd.DataFrame(
        {"customer_id": ["a"], "date": [d("2026-01-01")], "amount": [150.0], "cost": [0.0]}
    )
    _expect_big_small(tiering.evaluate(INPUT_RULES, cust, tx))


def test_evaluate_accepts_file_paths(tmp_path: Path):
    """Given customers and transactions as CSV files, when evaluated, then each customer is
    graded (a: 150 -> big, b: 0 -> small)."""
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id\na\nb\n", encoding="utf-8")
    transactions = tmp_path / "transactions.csv"
    transactions.write_text(
        "customer_id,date,amount,cost\na,2026-01-01,150.00,0\n", encoding="utf-8"
    )
    _expect_big_small(tiering.evaluate(INPUT_RULES, str(customers), str(transactions)))
