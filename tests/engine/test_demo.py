"""Tests of the seeded demo-company generator (tiering.demo)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tiering.demo import (
    CUSTOMER_COLUMNS,
    TRANSACTION_COLUMNS,
    DemoFiles,
    generate_demo,
)

START = date(2023, 10, 1)
END = date(2026, 9, 30)
SMALL = 300
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoFiles, pa.Table, pa.Table]:
    files = generate_demo(tmp_path_factory.mktemp("demo"), customers=SMALL, seed=7, fmt="parquet")
    return files, pq.read_table(files.customers), pq.read_table(files.transactions)


def _per_customer(transactions: pa.Table) -> dict[str, dict[str, float]]:
    grouped = transactions.group_by("客户编号").aggregate(
        [("金额", "sum"), ("成本", "sum"), ("日期", "max"), ("日期", "min")]
    )
    return {
        row["客户编号"]: {
            "revenue": row["金额_sum"],
            "cost": row["成本_sum"],
            "last": row["日期_max"],
            "first": row["日期_min"],
        }
        for row in grouped.to_pylist()
    }


def test_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    """Given one seed and size, when the demo is generated twice, then the tables are equal."""
    a = generate_demo(tmp_path / "a", customers=SMALL, seed=3, fmt="parquet")
    b = generate_demo(tmp_path / "b", customers=SMALL, seed=3, fmt="parquet")
    assert pq.read_table(a.customers).equals(pq.read_table(b.customers))
    assert pq.read_table(a.transactions).equals(pq.read_table(b.transactions))
    assert a.transaction_count == b.transaction_count


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    """Given two seeds, when the demo is generated with each, then the data differ."""
    a = generate_demo(tmp_path / "a", customers=SMALL, seed=3, fmt="parquet")
    b = generate_demo(tmp_path / "b", customers=SMALL, seed=4, fmt="parquet")
    assert not pq.read_table(a.customers).equals(pq.read_table(b.customers))
    assert not pq.read_table(a.transactions).equals(pq.read_table(b.transactions))


def test_files_and_columns(demo: tuple[DemoFiles, pa.Table, pa.Table]) -> None:
    """Given a parquet demo, then both files exist with the Chinese headers and types."""
    files, customers, transactions = demo
    assert files.customers.name == "customers.parquet"
    assert files.transactions.name == "transactions.parquet"
    assert customers.column_names == list(CUSTOMER_COLUMNS)
    assert transactions.column_names == list(TRANSACTION_COLUMNS)
    assert files.customer_count == customers.num_rows == SMALL
    assert files.transaction_count == transactions.num_rows
    assert transactions.schema.field("日期").type == pa.date32()
    assert transactions.schema.field("金额").type == pa.float64()
    assert transactions.schema.field("成本").type == pa.float64()
    assert customers.column("客户编号")[0].as_py() == "C000001"
    assert not [p for p in files.customers.parent.iterdir() if p.name.startswith(".")]


def test_ids_names_and_order_numbers_are_unique(
    demo: tuple[DemoFiles, pa.Table, pa.Table],
) -> None:
    """Given a demo, then customer ids, customer names and order numbers are unique."""
    _, customers, transactions = demo
    for table, column in ((customers, "客户编号"), (customers, "客户名称"), (transactions, "单号")):
        values = table.column(column)
        assert pc.count_distinct(values).as_py() == len(values), column


def test_every_transaction_belongs_to_a_known_customer(
    demo: tuple[DemoFiles, pa.Table, pa.Table],
) -> None:
    """Given a demo, then every transaction's 客户编号 is in the customer file."""
    _, customers, transactions = demo
    known = set(customers.column("客户编号").to_pylist())
    assert set(transactions.column("客户编号").to_pylist()) <= known


def test_prospects_have_no_transactions_but_an_expected_close_date(
    demo: tuple[DemoFiles, pa.Table, pa.Table],
) -> None:
    """Given a demo, then prospects (潜在) never bought and carry a 预计成交日期 in range;
    everybody else has none."""
    _, customers, transactions = demo
    buyers = set(transactions.column("客户编号").to_pylist())
    rows = customers.to_pylist()
    prospects = [r for r in rows if r["状态"] == "潜在"]
    assert len(prospects) == round(0.08 * SMALL)
    for row in prospects:
        assert row["客户编号"] not in buyers
        close = date.fromisoformat(row["预计成交日期"])
        assert date(2026, 8, 30) <= close <= date(2028, 3, 30)
    assert all(r["预计成交日期"] is None for r in rows if r["状态"] != "潜在")
    assert all(r["客户编号"] in buyers for r in rows if r["状态"] != "潜在")


def test_dormant_customers_stopped_and_active_ones_ordered_recently(
    demo: tuple[DemoFiles, pa.Table, pa.Table],
) -> None:
    """Given a demo, then 沉默 customers' last order is over six months before the end and
    活跃 customers ordered within the last six months."""
    _, customers, transactions = demo
    stats = _per_customer(transactions)
    cutoff = date(2026, 3, 30)  # END minus six months
    status = dict(
        zip(customers["客户编号"].to_pylist(), customers["状态"].to_pylist(), strict=True)
    )
    dormant = [c for c, s in status.items() if s == "沉默"]
    assert len(dormant) == round(0.10 * SMALL)
    assert all(stats[c]["last"] < cutoff for c in dormant)
    assert all(
        stats[c]["last"] >= END - timedelta(days=183) for c, s in status.items() if s == "活跃"
    )


def test_at_least_one_customer_loses_money(demo: tuple[DemoFiles, pa.Table, pa.Table]) -> None:
    """Given a demo, then some customer's total cost exceeds its total revenue, while most
    customers earn a 10–35% margin."""
    _, _, transactions = demo
    stats = _per_customer(transactions)
    losing = [c for c, s in stats.items() if s["cost"] > s["revenue"]]
    assert 1 <= len(losing) <= 0.06 * len(stats)
    margins = [1 - s["cost"] / s["revenue"] for s in stats.values() if s["revenue"] > 0]
    typical = [m for m in margins if 0.10 <= m <= 0.35]
    assert len(typical) >= 0.75 * len(margins)


def test_the_first_customer_is_the_key_account(
    demo: tuple[DemoFiles, pa.Table, pa.Table],
) -> None:
    """Given a demo, then C000001 brings 8–12% of total revenue and nobody else comes close."""
    _, _, transactions = demo
    stats = _per_customer(transactions)
    total = sum(s["revenue"] for s in stats.values())
    share = stats["C000001"]["revenue"] / total
    assert 0.08 <= share <= 0.12
    runner_up = max(s["revenue"] for c, s in stats.items() if c != "C000001")
    assert runner_up / total < share


def test_returns_are_present_and_negative(demo: tuple[DemoFiles, pa.Table, pa.Table]) -> None:
    """Given a demo, then about 3% of orders are 退货 with negative amount and cost, and
    sales are positive."""
    _, _, transactions = demo
    rows = transactions.select(["金额", "成本", "类型"]).to_pylist()
    returns = [r for r in rows if r["类型"] == "退货"]
    sales = [r for r in rows if r["类型"] == "销售"]
    assert len(returns) + len(sales) == len(rows)
    assert 0.01 <= len(returns) / len(rows) <= 0.06
    assert all(r["金额"] < 0 and r["成本"] < 0 for r in returns)
    assert all(r["金额"] > 0 and r["成本"] >= 0 for r in sales)
    assert all(round(r["金额"], 2) == r["金额"] for r in rows)


def test_dates_are_within_the_period(demo: tuple[DemoFiles, pa.Table, pa.Table]) -> None:
    """Given a demo, then every order date lies in [start, end] and both years' ends are
    covered (dates spread over the period)."""
    _, _, transactions = demo
    dates = transactions.column("日期")
    assert pc.min(dates).as_py() >= START
    assert pc.max(dates).as_py() <= END
    assert pc.min(dates).as_py() < START + timedelta(days=60)
    assert pc.max(dates).as_py() > END - timedelta(days=60)


def test_revenue_is_concentrated_like_pareto(tmp_path: Path) -> None:
    """Given a 2,000-customer demo, then the top 20% of customers bring 65–85% of revenue."""
    files = generate_demo(tmp_path, customers=2000, seed=11, fmt="parquet")
    stats = _per_customer(pq.read_table(files.transactions))
    revenues = sorted((s["revenue"] for s in stats.values()), reverse=True)
    revenues += [0.0] * (files.customer_count - len(revenues))
    share = sum(revenues[: files.customer_count // 5]) / sum(revenues)
    assert 0.65 <= share <= 0.85
    assert 8 <= files.transaction_count / files.customer_count <= 12


def test_xlsx_format(tmp_path: Path) -> None:
    """Given fmt=xlsx, then customers.xlsx opens with openpyxl with the expected headers
    and rows, and 交易记录.csv starts with the UTF-8 BOM."""
    files = generate_demo(tmp_path, customers=SMALL, seed=7, fmt="xlsx")
    assert files.customers.name == "customers.xlsx"
    assert files.transactions.name == "交易记录.csv"
    workbook = openpyxl.load_workbook(files.customers, read_only=True)
    try:
        rows = list(workbook.active.iter_rows(values_only=True))
    finally:
        workbook.close()
    assert list(rows[0]) == list(CUSTOMER_COLUMNS)
    assert len(rows) == SMALL + 1
    assert rows[1][0] == "C000001"
    reference = pq.read_table(
        generate_demo(tmp_path / "ref", customers=SMALL, seed=7, fmt="parquet").customers
    )
    assert [r[1] for r in rows[1:]] == reference.column("客户名称").to_pylist()
    assert files.transactions.read_bytes().startswith(BOM)


def test_csv_format_matches_parquet(tmp_path: Path) -> None:
    """Given fmt=csv, then both files start with the BOM, use plain ISO dates and
    two-decimal amounts, and hold the same data as the parquet demo for the same seed."""
    files = generate_demo(tmp_path / "csv", customers=SMALL, seed=7, fmt="csv")
    reference = generate_demo(tmp_path / "pq", customers=SMALL, seed=7, fmt="parquet")
    assert files.customers.name == "customers.csv"
    for path in (files.customers, files.transactions):
        assert path.read_bytes().startswith(BOM)
    with files.transactions.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(TRANSACTION_COLUMNS)
    expected = pq.read_table(reference.transactions).to_pylist()
    assert len(rows) - 1 == len(expected)
    for got, want in zip(rows[1:], expected, strict=True):
        assert got[0] == want["单号"]
        assert got[1] == want["客户编号"]
        assert got[2] == want["日期"].isoformat()
        assert got[3] == f"{want['金额']:.2f}"
        assert got[4] == f"{want['成本']:.2f}"
        assert got[5] == want["类型"]
    with files.customers.open(encoding="utf-8-sig", newline="") as f:
        customer_rows = list(csv.reader(f))
    assert customer_rows[0] == list(CUSTOMER_COLUMNS)
    assert len(customer_rows) == SMALL + 1


def test_progress_is_reported_up_to_done(tmp_path: Path) -> None:
    """Given a progress callback, then it is called a few times with non-decreasing
    fractions ending at 1.0."""
    calls: list[tuple[str, float]] = []
    generate_demo(tmp_path, customers=50, fmt="xlsx", progress=lambda s, f: calls.append((s, f)))
    fractions = [f for _, f in calls]
    assert 3 <= len(calls) <= 20
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert all(isinstance(s, str) and s for s, _ in calls)


def test_tiny_company_still_works(tmp_path: Path) -> None:
    """Given a single-customer demo, then it is the key account and has orders."""
    files = generate_demo(tmp_path, customers=1, fmt="parquet")
    transactions = pq.read_table(files.transactions)
    assert files.customer_count == 1
    assert set(transactions.column("客户编号").to_pylist()) == {"C000001"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "xlsx", "customers": 1_000_001}, "parquet"),
        ({"fmt": "json"}, "unknown format"),
        ({"customers": 0}, "at least 1"),
        ({"start": date(2026, 5, 1)}, "too short"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    """Given invalid arguments, then a ValueError explains the problem and nothing is
    written."""
    with pytest.raises(ValueError, match=message):
        generate_demo(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
