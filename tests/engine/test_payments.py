"""Payments received (回款) and the metrics read from them: payments, collection_rate,
receivables and receivables_turnover.

The ledger below is small enough to compute every metric by hand. As of 2026-06-30 with a
12-month lookback, the window is (2025-06-30, 2026-06-30].
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from conftest import customers_table, d, grade, tx_table
from typer.testing import CliRunner

import tiering
from tiering.cli import app
from tiering.demo import PAYMENT_COLUMNS, generate_demo

AS_OF = "2026-06-30"
PAYMENT_METRICS = ("payments", "collection_rate", "receivables", "receivables_turnover")

CUSTOMERS = customers_table(["a", "b", "c", "d"])
LEDGER = tx_table(
    [
        ("a", d("2024-12-01"), 600.0),  # before the window: owed, not revenue
        ("a", d("2025-08-01"), 1000.0),
        ("a", d("2026-03-01"), 500.0),
        ("a", d("2026-04-01"), -100.0),  # a return
        ("b", d("2026-01-10"), 800.0),
        ("d", d("2025-06-30"), 50.0),  # on the window's (excluded) start
        ("d", d("2026-05-01"), 500.0),
        ("d", d("2026-07-02"), 999.0),  # after as_of: nowhere
    ]
)


def payments_table(rows) -> pa.Table:
    ids, dates, amounts = zip(*rows, strict=True)
    return pa.table(
        {"customer_id": list(ids), "date": list(dates), "amount": list(amounts)},
        schema=pa.schema(
            [("customer_id", pa.string()), ("date", pa.date32()), ("amount", pa.float64())]
        ),
    )


PAYMENTS = payments_table(
    [
        ("a", d("2025-01-15"), 600.0),  # before the window: reduces what is owed only
        ("a", d("2025-09-01"), 1000.0),
        ("a", d("2026-06-30"), 200.0),  # on as_of: counts
        ("a", d("2026-07-01"), 999.0),  # after as_of: counts nowhere
        ("b", d("2025-06-30"), 100.0),  # on the window's start: outside the window
        ("c", d("2026-02-01"), 300.0),  # paid ahead, never bought
        ("d", d("2025-07-01"), 50.0),  # the window's first day: inside
        ("d", d("2026-05-20"), 500.0),
    ]
)


def thresholds(metric: str, *, lookback: str | None = "12 months", bound=0.9) -> dict:
    rules = {
        "name": f"by {metric}",
        "thresholds": {"metric": metric},
        "tiers": [{"name": "A", "min": bound}, {"name": "B"}],
    }
    if lookback:
        rules["lookback"] = lookback
    return rules


def evaluate_all(rules: dict, payments=PAYMENTS, **kwargs):
    return grade(
        rules,
        CUSTOMERS,
        LEDGER,
        payments=ibis.memtable(payments),
        as_of=AS_OF,
        extra_metrics=PAYMENT_METRICS,
        **kwargs,
    )


def test_each_payment_metric_matches_the_hand_computation():
    """Given orders, a return and payments around the window's edges, when evaluated as of
    2026-06-30 over 12 months, then each payment metric is the hand-computed value."""
    rows = evaluate_all(thresholds("collection_rate"))

    a = rows["a"]  # revenue 1000 + 500 - 100 = 1400; paid in window 1000 + 200
    assert a["revenue"] == Decimal("1400.00")
    assert a["payments"] == Decimal("1200.00")
    assert a["collection_rate"] == pytest.approx(1200 / 1400)
    # owed: 600 + 1000 + 500 - 100 = 2000 billed, 600 + 1000 + 200 = 1800 paid
    assert a["receivables"] == Decimal("200.00")
    assert a["receivables_turnover"] == pytest.approx(1400 / 200)

    b = rows["b"]  # the payment on the window's start is outside it, but is paid
    assert b["payments"] == Decimal("0.00")
    assert b["collection_rate"] == 0.0
    assert b["receivables"] == Decimal("700.00")
    assert b["receivables_turnover"] == pytest.approx(800 / 700)

    c = rows["c"]  # no revenue: no rate; paid ahead: negative receivables, no turnover
    assert c["revenue"] == Decimal("0.00")
    assert c["payments"] == Decimal("300.00")
    assert c["collection_rate"] is None
    assert c["receivables"] == Decimal("-300.00")
    assert c["receivables_turnover"] is None

    dd = rows["d"]  # the order on the start is owed but not revenue; window's first day paid
    assert dd["revenue"] == Decimal("500.00")
    assert dd["payments"] == Decimal("550.00")
    assert dd["collection_rate"] == pytest.approx(1.1)
    assert dd["receivables"] == Decimal("0.00")
    assert dd["receivables_turnover"] is None


def test_money_metrics_are_exact_decimals():
    """Given payments as floats, then payments and receivables come out as exact decimals."""
    result = tiering.evaluate(
        thresholds("payments", bound=1000),
        ibis.memtable(CUSTOMERS),
        ibis.memtable(LEDGER),
        payments=ibis.memtable(PAYMENTS),
        as_of=AS_OF,
        extra_metrics=("receivables",),
    ).to_pyarrow()
    assert pa.types.is_decimal(result.schema.field("payments").type)
    assert pa.types.is_decimal(result.schema.field("receivables").type)


def test_without_lookback_the_window_is_all_history():
    """Given no lookback, then payments and revenue cover all history up to as_of."""
    rows = evaluate_all(thresholds("collection_rate", lookback=None))
    # a: revenue 2000, paid 1800 (the payment after as_of still excluded)
    assert rows["a"]["payments"] == Decimal("1800.00")
    assert rows["a"]["collection_rate"] == pytest.approx(1800 / 2000)
    assert rows["a"]["receivables_turnover"] == pytest.approx(2000 / 200)
    assert rows["b"]["payments"] == Decimal("100.00")


def test_collection_rate_thresholds_give_tiers_reasons_and_gaps():
    """Given a 90% collection rate for tier A, then the customers paying enough get A, the
    others B with what is missing, and an empty rate reads as empty, in both languages."""
    rows = evaluate_all(thresholds("collection_rate"))
    assert {k: r["tier"] for k, r in rows.items()} == {"a": "B", "b": "B", "c": "B", "d": "A"}
    assert rows["d"]["reason"] == "collection rate 1.10 ≥ 0.9 → A"
    assert rows["b"]["reason"] == "collection rate 0.00 < 0.9 → B"
    assert rows["b"]["gap"] == pytest.approx(0.9)
    assert rows["b"]["missing"] == "to reach A: collection rate +0.9"
    assert rows["c"]["reason"] == "collection rate is empty → B"
    assert rows["c"]["missing"] is None
    zh = evaluate_all(thresholds("collection_rate"), lang="zh")
    assert zh["b"]["reason"] == "回款率 0.00 < 0.9 → B"
    assert zh["b"]["missing"] == "升至 A：回款率还差 0.9"


def test_money_thresholds_compare_exactly():
    """Given tier A from 1,200.00 of payments, then exactly 1,200.00 reaches it and the
    gap of the others is what they still need to pay."""
    rows = evaluate_all(thresholds("payments", bound=1200))
    assert rows["a"]["tier"] == "A"
    assert rows["d"]["tier"] == "B"
    assert rows["d"]["gap"] == pytest.approx(650)
    assert rows["d"]["missing"] == "to reach A: payments received +650"


def test_receivables_in_a_scorecard_owing_less_scores_more():
    """Given a scorecard on receivables inverted (owing less is better), then the customer
    who paid ahead scores highest and the one owing most lowest."""
    rules = {
        "name": "owing",
        "scorecard": [{"factor": "receivables", "weight": 1, "scale": "minmax", "invert": True}],
        "tiers": [{"name": "A", "min_score": 50}, {"name": "B"}],
    }
    rows = evaluate_all(rules)
    assert rows["c"]["score"] == 100.0  # -300 owed
    assert rows["b"]["score"] == 0.0  # 700 owed
    assert rows["a"]["score"] == pytest.approx(50.0)  # 200 owed: halfway
    assert rows["c"]["reason"] == "score 100.00 ≥ 50 → A: receivables 100.00 × 100%"
    assert evaluate_all(rules, lang="zh")["c"]["reason"].endswith("应收账款 100.00分 × 100%")


def test_a_rule_using_a_payment_metric_needs_payments():
    """Given a rule on receivables_turnover and no payments, then the error names the
    metric and says to pass the payments, in English and Chinese."""
    rules = thresholds("receivables_turnover", bound=4)
    with pytest.raises(tiering.TieringError) as caught:
        tiering.evaluate(rules, ibis.memtable(CUSTOMERS), ibis.memtable(LEDGER), as_of=AS_OF)
    assert "receivables_turnover" in caught.value.message("en")
    assert "--payments" in caught.value.message("en")
    assert "应收账款周转率" in caught.value.message("zh")
    assert "回款" in caught.value.message("zh")


def test_payments_are_not_read_when_no_rule_needs_them(tmp_path):
    """Given rules on revenue only and a payments path that does not exist, then the
    evaluation runs as without payments."""
    rules = thresholds("revenue", bound=1000)
    with_path = grade(rules, CUSTOMERS, LEDGER, payments=tmp_path / "none.csv", as_of=AS_OF)
    without = grade(rules, CUSTOMERS, LEDGER, as_of=AS_OF)
    assert with_path == without
    assert "payments" not in with_path["a"]


def test_payments_of_unknown_customers_are_an_error_unless_ignored():
    """Given a payment of a customer missing from the customers table, then it is an
    error naming the id; with unknown_customers='ignore', it is left out."""
    stray = pa.concat_tables([PAYMENTS, payments_table([("zz", d("2026-01-01"), 5.0)])])
    with pytest.raises(tiering.InputError) as caught:
        evaluate_all(thresholds("collection_rate"), payments=stray)
    assert [i.value for i in caught.value.issues] == ["zz"]
    rows = evaluate_all(thresholds("collection_rate"), payments=stray, unknown_customers="ignore")
    assert set(rows) == {"a", "b", "c", "d"}
    assert rows["a"]["payments"] == Decimal("1200.00")


# --------------------------------------------------------------------------- files


def _write_csv(path, header: str, lines: list[str]) -> str:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def _files(tmp_path):
    customers = _write_csv(tmp_path / "customers.csv", "客户编号", ["a", "b", "c", "d"])
    tx_lines = [f"{r['customer_id']},{r['date']},{r['amount']:.2f}" for r in LEDGER.to_pylist()]
    transactions = _write_csv(tmp_path / "交易.csv", "客户编号,日期,金额", tx_lines)
    return customers, transactions


PAY_LINES = [
    "HK1,a,2025-01-15,600.00",
    'HK2,a,2025/9/1,"1,000.00"',
    "HK3,a,2026年6月30日,¥200",
    "HK4,a,2026-07-01,999",
    "HK5,b,20250630,100",
    "HK6,c,2026-02-01,300元",
    "HK7,d,2025-07-01,50",
    "HK8,d,2026-05-20,500.00",
]


@pytest.mark.parametrize(
    "header",
    [
        "回款单号,客户编号,回款日期,回款金额",
        "单号,客户编号,日期,金额",
        "ref,customer_id,date,amount",
    ],
)
def test_a_payments_file_with_chinese_headers_gives_the_same_metrics(tmp_path, header):
    """Given the payments as a CSV file (Chinese or English headers, dates and amounts as
    people write them), then the metrics equal those from the tables."""
    customers, transactions = _files(tmp_path)
    payments = _write_csv(tmp_path / "回款记录.csv", header, PAY_LINES)
    result = tiering.evaluate(
        thresholds("collection_rate"),
        customers,
        transactions,
        payments=payments,
        as_of=AS_OF,
        extra_metrics=PAYMENT_METRICS,
    )
    from_file = {r["customer_id"]: r for r in result.to_pyarrow().to_pylist()}
    from_tables = evaluate_all(thresholds("collection_rate"))
    for cid, row in from_tables.items():
        for metric in PAYMENT_METRICS:
            assert from_file[cid][metric] == row[metric], (cid, metric)


def test_a_bad_payments_file_names_every_bad_row_column_and_value(tmp_path):
    """Given a payments file with an empty id, a bad date and a bad amount, then the error
    names the file, and each row, column and value."""
    customers, transactions = _files(tmp_path)
    payments = _write_csv(
        tmp_path / "回款记录.csv",
        "客户编号,回款日期,回款金额",
        ["a,2026-01-01,10", ",2026-01-02,10", "b,2026-13-01,10", "c,2026-01-03,12元5"],
    )
    with pytest.raises(tiering.InputError) as caught:
        tiering.evaluate(
            thresholds("collection_rate"), customers, transactions, payments=payments, as_of=AS_OF
        )
    error = caught.value
    assert error.file.endswith("回款记录.csv")
    got = [(i.row, i.column, i.value) for i in error.issues]
    assert got == [(3, "客户编号", None), (4, "回款日期", "2026-13-01"), (5, "回款金额", "12元5")]
    assert "not a date" in error.message("en") and "不是日期" in error.message("zh")
    assert "回款记录.csv" in error.message("zh")


def test_a_payments_file_with_an_unknown_customer_names_its_row(tmp_path):
    """Given a payments file naming a customer missing from the customers file, then the
    error names that row."""
    customers, transactions = _files(tmp_path)
    payments = _write_csv(
        tmp_path / "回款记录.csv",
        "客户编号,回款日期,回款金额",
        ["a,2026-01-01,10", "zz,2026-01-02,10"],
    )
    with pytest.raises(tiering.InputError) as caught:
        tiering.evaluate(
            thresholds("collection_rate"), customers, transactions, payments=payments, as_of=AS_OF
        )
    assert [(i.row, i.column, i.value) for i in caught.value.issues] == [(3, "客户编号", "zz")]


def test_a_payments_file_without_an_amount_column_says_so(tmp_path):
    """Given a payments file without an amount column, then the error names the missing
    column and lists the file's headers."""
    customers, transactions = _files(tmp_path)
    payments = _write_csv(tmp_path / "回款记录.csv", "客户编号,回款日期,备注", ["a,2026-01-01,x"])
    with pytest.raises(tiering.InputError) as caught:
        tiering.evaluate(
            thresholds("collection_rate"), customers, transactions, payments=payments, as_of=AS_OF
        )
    message = caught.value.message("en")
    assert "missing column 'amount'" in message and "备注" in message


def test_a_payments_file_with_table_inputs(tmp_path):
    """Given customers and transactions as tables and the payments as a file, then the
    metrics are the same as from tables only."""
    payments = _write_csv(
        tmp_path / "回款记录.csv",
        "客户编号,回款日期,回款金额",
        [line.split(",", 1)[1] for line in PAY_LINES[:1] + PAY_LINES[4:]],
    )
    rows = grade(
        thresholds("receivables", bound=100),
        CUSTOMERS,
        LEDGER,
        payments=payments,
        as_of=AS_OF,
    )
    # a: billed 2000, paid 600 (the only payment of a kept in this file)
    assert rows["a"]["receivables"] == Decimal("1400.00")
    assert rows["c"]["receivables"] == Decimal("-300.00")


# --------------------------------------------------------------------------- command line


def test_the_command_line_takes_payments_and_explains_their_absence(tmp_path):
    """Given the collection example's kind of rule, when tiering evaluate runs with
    --payments it writes the payment metrics; without, it exits 1 saying to pass them."""
    customers, transactions = _files(tmp_path)
    payments = _write_csv(
        tmp_path / "回款记录.csv", "回款单号,客户编号,回款日期,回款金额", PAY_LINES
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "name: 回款\nlookback: 12 months\nthresholds: {metric: collection_rate}\n"
        "tiers: [{name: A, min: 0.9}, {name: B}]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    runner = CliRunner()
    args = ["evaluate", str(rules), "--customers", customers, "--transactions", transactions]
    done = runner.invoke(
        app, [*args, "--payments", payments, "--as-of", AS_OF, "--out", str(out), "--lang", "en"]
    )
    assert done.exit_code == 0, done.output
    written = pacsv.read_csv(out).to_pylist()
    assert {r["customer_id"]: r["tier"] for r in written} == {
        "a": "B",
        "b": "B",
        "c": "B",
        "d": "A",
    }
    refused = runner.invoke(app, [*args, "--as-of", AS_OF, "--lang", "en"])
    assert refused.exit_code == 1
    assert "--payments" in refused.stderr


# --------------------------------------------------------------------------- demo


def test_the_demo_writes_payments_consistent_with_its_sales(tmp_path):
    """Given a demo company, then its payments file names known customers, pays after the
    sale up to the demo's end, never more than was invoiced, most customers pay most of it,
    and the same seed writes the same bytes."""
    files = generate_demo(tmp_path / "a", customers=200, seed=5, fmt="csv")
    again = generate_demo(tmp_path / "b", customers=200, seed=5, fmt="csv")
    assert files.payments.name == "回款记录.csv"
    for name in ("customers.csv", "交易记录.csv", "回款记录.csv"):
        first = hashlib.sha256((tmp_path / "a" / name).read_bytes()).hexdigest()
        assert first == hashlib.sha256((tmp_path / "b" / name).read_bytes()).hexdigest()
    assert again.payment_count == files.payment_count > 0

    opts = pacsv.ConvertOptions(column_types={"回款金额": pa.string(), "金额": pa.string()})
    paid = pacsv.read_csv(files.payments, convert_options=opts)
    sold = pacsv.read_csv(files.transactions, convert_options=opts)
    assert paid.column_names == list(PAYMENT_COLUMNS)
    ids = set(pacsv.read_csv(files.customers).column("客户编号").to_pylist())
    assert set(paid.column("客户编号").to_pylist()) <= ids
    assert max(paid.column("回款日期").to_pylist()) <= dt.date(2026, 9, 30)
    assert len(set(paid.column("回款单号").to_pylist())) == paid.num_rows

    def totals(table, column):
        out: dict[str, Decimal] = {}
        for r in table.to_pylist():
            if Decimal(r[column]) > 0:  # sales (a return is deducted from the next invoice)
                out[r["客户编号"]] = out.get(r["客户编号"], Decimal(0)) + Decimal(r[column])
        return out

    received, sales = totals(paid, "回款金额"), totals(sold, "金额")
    assert all(v > 0 for v in received.values())
    assert all(received[c] <= sales[c] for c in received)
    paid_most = sum(1 for c in sales if received.get(c, 0) >= Decimal("0.8") * sales[c])
    assert paid_most >= 0.7 * len(sales)
    assert paid_most < len(sales)  # some pay slowly or only in part


def test_the_parquet_demo_writes_payments_parquet(tmp_path):
    """Given a parquet demo, then the payments are payments.parquet and the collection
    example grades from the three files."""
    files = generate_demo(tmp_path, customers=120, seed=2, fmt="parquet")
    assert files.payments.name == "payments.parquet"
    result = tiering.evaluate(
        "examples/collection.yaml",
        str(files.customers),
        str(files.transactions),
        payments=str(files.payments),
    ).to_pyarrow()
    assert result.num_rows == 120
    assert set(result.column("tier").to_pylist()) <= {"A", "B", "C"}
    assert result.column("collection_rate").null_count < 120
