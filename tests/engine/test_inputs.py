"""Reading customers and transactions files (tiering.read_inputs): formats, encodings,
header mapping, dates and amounts as people write them, and errors that name the file,
the row (as a spreadsheet shows it), the column and the value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import tiering

JUNE_30 = dt.date(2026, 6, 30)


# --------------------------------------------------------------------------- helpers


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A workbook with one sheet per key (in order), each a list of rows (header first)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def customers_csv(tmp_path: Path, header: str = "customer_id", ids=("A1", "A2")) -> Path:
    lines = [f"{header},地区"] + [f"{i},华东" for i in ids]
    return write_text(tmp_path / "customers.csv", "\n".join(lines) + "\n")


def tx_rows(inputs: tiering.Inputs) -> list[dict]:
    rows = inputs.transactions.to_pyarrow().to_pylist()
    return sorted(rows, key=lambda r: (r["customer_id"], r["date"], r["amount"]))


def customer_rows(inputs: tiering.Inputs) -> dict[str, dict]:
    return {r["customer_id"]: r for r in inputs.customers.to_pyarrow().to_pylist()}


def read_error(customers, transactions, **kwargs) -> tiering.InputError:
    with pytest.raises(tiering.InputError) as info:
        tiering.read_inputs(customers, transactions, **kwargs)
    return info.value


# --------------------------------------------------------------------------- formats


def test_utf8_csv_with_chinese_headers_needs_no_mapping(tmp_path: Path) -> None:
    """Given CSVs headed 客户编号, 日期, 金额, 成本 and no columns mapping,
    when read, then they are recognised as customer_id, date, amount and cost."""
    cust = write_text(tmp_path / "客户.csv", "客户编号,地区\nA1,华东\nA2,华北\n")
    tx = write_text(
        tmp_path / "交易记录.csv",
        "客户编号,日期,金额,成本\nA1,2026-06-30,100.50,60\nA2,2026-06-01,20,5.25\n",
    )
    inputs = tiering.read_inputs(cust, tx)
    assert tx_rows(inputs) == [
        {"customer_id": "A1", "date": JUNE_30, "amount": Decimal("100.50"), "cost": Decimal("60")},
        {
            "customer_id": "A2",
            "date": dt.date(2026, 6, 1),
            "amount": Decimal("20"),
            "cost": Decimal("5.25"),
        },
    ]
    assert customer_rows(inputs)["A2"]["地区"] == "华北"


def test_cost_is_optional(tmp_path: Path) -> None:
    """Given transactions without a cost column, when read, then every cost is 0."""
    tx = write_text(tmp_path / "t.csv", "customer_id,date,amount\nA1,2026-06-30,10\n")
    inputs = tiering.read_inputs(customers_csv(tmp_path), tx)
    assert [r["cost"] for r in tx_rows(inputs)] == [Decimal("0")]


def test_csv_with_utf8_bom(tmp_path: Path) -> None:
    """Given UTF-8 CSVs with a byte-order mark before the first header,
    when read, then the first header is still customer_id / 客户编号 and values are intact."""
    cust = write_text(tmp_path / "c.csv", "\ufeffcustomer_id,地区\nA1,华东\n")
    tx = write_text(tmp_path / "t.csv", "\ufeff客户编号,日期,金额\nA1,2026-06-30,12.5\n")
    inputs = tiering.read_inputs(cust, tx)
    assert customer_rows(inputs) == {"A1": {"customer_id": "A1", "地区": "华东"}}
    assert tx_rows(inputs)[0]["amount"] == Decimal("12.5")


def test_csv_in_gbk(tmp_path: Path) -> None:
    """Given customers and transactions saved in GBK (as Excel on Chinese Windows does),
    when read, then the encoding is detected and Chinese headers and values are intact."""
    cust = write_text(
        tmp_path / "客户.csv", "客户编号,地区,客户名称\nA1,华东,上海某某公司\n", "gbk"
    )
    tx = write_text(
        tmp_path / "交易记录.csv", "客户编号,日期,金额,成本\nA1,2026年6月30日,100元,2\n", "gbk"
    )
    inputs = tiering.read_inputs(cust, tx)
    assert customer_rows(inputs)["A1"]["客户名称"] == "上海某某公司"
    assert customer_rows(inputs)["A1"]["地区"] == "华东"
    assert tx_rows(inputs)[0]["date"] == JUNE_30
    assert tx_rows(inputs)[0]["amount"] == Decimal(100)


def test_gbk_csv_error_shows_the_decoded_value(tmp_path: Path) -> None:
    """Given a GBK transactions file with the date 六月三十日 on its third line,
    when read, then the error gives row 3, column 日期 and the value in readable Chinese."""
    tx = write_text(
        tmp_path / "交易记录.csv", "客户编号,日期,金额\nA1,2026-06-30,1\nA2,六月三十日,2\n", "gbk"
    )
    error = read_error(customers_csv(tmp_path), tx)
    assert error.file == str(tx)
    assert [(i.row, i.column, i.value) for i in error.issues] == [(3, "日期", "六月三十日")]


def test_csv_with_a_quoted_line_break(tmp_path: Path) -> None:
    """Given a customers CSV whose address cell holds a line break (quoted, as Excel
    exports it), when read, then it is one customer with the whole address."""
    cust = write_text(tmp_path / "c.csv", 'customer_id,地址\nA1,"上海市\n浦东新区"\nA2,北京市\n')
    tx = write_text(tmp_path / "t.csv", "customer_id,date,amount\nA1,2026-06-30,1\n")
    inputs = tiering.read_inputs(cust, tx)
    assert customer_rows(inputs)["A1"]["地址"] == "上海市\n浦东新区"
    assert set(customer_rows(inputs)) == {"A1", "A2"}


def test_excel_named_sheet_with_real_date_cells(tmp_path: Path) -> None:
    """Given a workbook whose transactions are on sheet 交易 (not the first) with real
    date cells and numeric amounts, when read as book.xlsx#交易, then dates and amounts
    come through exactly."""
    book = write_xlsx(
        tmp_path / "book.xlsx",
        {
            "说明": [["这是说明页"]],
            "交易": [
                ["客户编号", "日期", "金额", "成本"],
                ["A1", dt.datetime(2026, 6, 30), 1234.5, 1000],
                ["A2", dt.date(2026, 5, 1), 3, None],
            ],
        },
    )
    inputs = tiering.read_inputs(customers_csv(tmp_path), f"{book}#交易")
    assert tx_rows(inputs) == [
        {"customer_id": "A1", "date": JUNE_30, "amount": Decimal("1234.5"), "cost": Decimal(1000)},
        {"customer_id": "A2", "date": dt.date(2026, 5, 1), "amount": Decimal(3), "cost": 0},
    ]


def test_excel_first_sheet_by_default(tmp_path: Path) -> None:
    """Given a customers workbook without a #Sheet suffix, when read, then its first sheet
    is used, with numeric ids as text."""
    book = write_xlsx(
        tmp_path / "customers.xlsx",
        {"客户": [["客户编号", "地区"], [1001, "华东"], [1002, "华南"]], "其他": [["x"], [1]]},
    )
    tx = write_text(tmp_path / "t.csv", "客户编号,日期,金额\n1001,2026-06-30,5\n")
    inputs = tiering.read_inputs(book, tx)
    assert set(customer_rows(inputs)) == {"1001", "1002"}
    assert tx_rows(inputs)[0]["customer_id"] == "1001"


def test_parquet_inputs(tmp_path: Path) -> None:
    """Given Parquet files with native date and float columns, when read, then the values
    come through as dates and exact amounts."""
    pq.write_table(
        pa.table({"customer_id": ["A1", "A2"], "地区": ["华东", "华北"]}), tmp_path / "c.parquet"
    )
    pq.write_table(
        pa.table(
            {
                "customer_id": ["A1", "A2"],
                "date": pa.array([JUNE_30, dt.date(2026, 1, 2)], pa.date32()),
                "amount": [10.25, 3.0],
                "cost": [5.0, None],
            }
        ),
        tmp_path / "t.parquet",
    )
    inputs = tiering.read_inputs(tmp_path / "c.parquet", tmp_path / "t.parquet")
    assert tx_rows(inputs) == [
        {"customer_id": "A1", "date": JUNE_30, "amount": Decimal("10.25"), "cost": Decimal(5)},
        {"customer_id": "A2", "date": dt.date(2026, 1, 2), "amount": Decimal(3), "cost": 0},
    ]


@pytest.mark.parametrize(
    "text", ["2026-06-30", "2026/6/30", "2026/06/30", "20260630", "2026年6月30日"]
)
def test_date_spellings(tmp_path: Path, text: str) -> None:
    """Given a transaction dated as people write it, when read, then it is 2026-06-30."""
    tx = write_text(tmp_path / "t.csv", f"customer_id,date,amount\nA1,{text},1\n")
    assert tx_rows(tiering.read_inputs(customers_csv(tmp_path), tx))[0]["date"] == JUNE_30


@pytest.mark.parametrize(
    "text", ['"1,234.50"', "¥1234.50", "1234.50元", '"¥1,234.50元"', "￥1234.5", " 1234.50 "]
)
def test_amount_spellings(tmp_path: Path, text: str) -> None:
    """Given an amount with thousands separators, ¥ or 元, when read, then it is 1234.50."""
    tx = write_text(
        tmp_path / "t.csv", f"customer_id,date,amount,cost\nA1,2026-06-30,{text},{text}\n"
    )
    row = tx_rows(tiering.read_inputs(customers_csv(tmp_path), tx))[0]
    assert row["amount"] == Decimal("1234.50")
    assert row["cost"] == Decimal("1234.50")


@pytest.mark.parametrize("text", ["12元5", '"1.234,50"'], ids=["yuan_inside", "european"])
def test_misplaced_separators_are_not_silently_misread(tmp_path: Path, text: str) -> None:
    """Given an amount where 元 or a comma is not a unit or thousands separator
    (12元5 is 12.5 yuan, 1.234,50 is European notation), when read, then it is reported as
    not an amount rather than read as 125 or 1.23."""
    tx = write_text(tmp_path / "t.csv", f"customer_id,date,amount\nA1,2026-06-30,{text}\n")
    [issue] = read_error(customers_csv(tmp_path), tx).issues
    assert (issue.row, issue.column) == (2, "amount")


# --------------------------------------------------------------------------- mapping


def test_columns_mapping_renames_custom_headers(tmp_path: Path) -> None:
    """Given headers no synonym covers and a columns: mapping for them, when read with the
    mapping, then each maps to ours."""
    cust = write_text(tmp_path / "c.csv", "客户代码X,地区\nA1,华东\n")
    tx = write_text(tmp_path / "t.csv", "客户代码X,成交时间,含税总价,进货价\nA1,2026-06-30,9,4\n")
    mapping = [
        ("customer_id", "客户代码X"),
        ("date", "成交时间"),
        ("amount", "含税总价"),
        ("cost", "进货价"),
    ]
    inputs = tiering.read_inputs(cust, tx, columns=mapping)
    assert tx_rows(inputs) == [
        {"customer_id": "A1", "date": JUNE_30, "amount": Decimal(9), "cost": Decimal(4)}
    ]
    assert set(customer_rows(inputs)) == {"A1"}


def test_mixed_mapping_customers_already_ours(tmp_path: Path) -> None:
    """Given customers.csv headed customer_id and 交易记录.csv headed 客户编号, and the
    example mapping {customer_id: 客户编号, ...}, when read, then both files load: the
    mapping applies only where the header exists."""
    cust = customers_csv(tmp_path, "customer_id")
    tx = write_text(tmp_path / "交易记录.csv", "客户编号,日期,金额,成本\nA1,2026-06-30,1,0\n")
    mapping = [("customer_id", "客户编号"), ("date", "日期"), ("amount", "金额"), ("cost", "成本")]
    inputs = tiering.read_inputs(cust, tx, columns=mapping)
    assert set(customer_rows(inputs)) == {"A1", "A2"}
    assert tx_rows(inputs)[0]["customer_id"] == "A1"


def test_mixed_mapping_the_other_way_round(tmp_path: Path) -> None:
    """Given customers headed 客户代码X (mapped) and transactions already headed customer_id,
    when read, then both files load."""
    cust = customers_csv(tmp_path, "客户代码X")
    tx = write_text(tmp_path / "t.csv", "customer_id,date,amount\nA2,2026-06-30,1\n")
    inputs = tiering.read_inputs(cust, tx, columns=[("customer_id", "客户代码X")])
    assert set(customer_rows(inputs)) == {"A1", "A2"}
    assert tx_rows(inputs)[0]["customer_id"] == "A2"


# --------------------------------------------------------------------------- errors


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    """Given transactions without an amount column, when read, then the InputError names
    the transactions file and the missing column, and lists the headers it has."""
    tx = write_text(tmp_path / "t.csv", "customer_id,date,total\nA1,2026-06-30,1\n")
    error = read_error(customers_csv(tmp_path), tx)
    assert error.file == str(tx)
    text = str(error)
    assert str(tx) in text
    assert "amount" in text
    assert "total" in text
    assert error.issues[0].row is None


def test_missing_mapped_column_names_the_mapped_header(tmp_path: Path) -> None:
    """Given a mapping date: 成交时间 and a file without that header, when read, then the
    error names 成交时间 (the header the user must fix)."""
    tx = write_text(tmp_path / "t.csv", "customer_id,时间,amount\nA1,2026-06-30,1\n")
    error = read_error(customers_csv(tmp_path), tx, columns=[("date", "成交时间")])
    assert error.file == str(tx)
    assert "成交时间" in str(error)


def test_missing_customer_id_column_in_customers(tmp_path: Path) -> None:
    """Given a customers file without an id column, when read, then the error names the
    customers file and customer_id."""
    cust = write_text(tmp_path / "c.csv", "名称,地区\nx,华东\n")
    tx = write_text(tmp_path / "t.csv", "customer_id,date,amount\nA1,2026-06-30,1\n")
    error = read_error(cust, tx)
    assert error.file == str(cust)
    assert "customer_id" in str(error)


def test_unparseable_date(tmp_path: Path) -> None:
    """Given a date 2026-13-45 on the third line (header = row 1), when read, then the
    error names the file, row 3, column 日期 and the value."""
    tx = write_text(
        tmp_path / "t.csv",
        "客户编号,日期,金额\nA1,2026-06-30,1\nA2,2026-13-45,2\nA1,2026-06-29,3\n",
    )
    error = read_error(customers_csv(tmp_path), tx)
    assert error.file == str(tx)
    assert error.total == 1
    [issue] = error.issues
    assert (issue.row, issue.column, issue.value) == (3, "日期", "2026-13-45")
    text = str(error)
    assert str(tx) in text
    assert "row 3" in text
    assert "日期" in text
    assert "2026-13-45" in text


def test_unparseable_amount(tmp_path: Path) -> None:
    """Given the amount 'abc' on row 4, when read, then the error names the file, row 4,
    column 金额 and the value."""
    tx = write_text(
        tmp_path / "t.csv",
        "客户编号,日期,金额\nA1,2026-06-30,1\nA2,2026-06-30,2\nA2,2026-06-30,abc\n",
    )
    error = read_error(customers_csv(tmp_path), tx)
    assert error.file == str(tx)
    [issue] = error.issues
    assert (issue.row, issue.column, issue.value) == (4, "金额", "abc")
    assert "row 4" in str(error)
    assert "'abc'" in str(error)


def test_unparseable_cost(tmp_path: Path) -> None:
    """Given the cost 'n/a' on row 2, when read, then the error names the cost column."""
    tx = write_text(tmp_path / "t.csv", "customer_id,date,amount,成本\nA1,2026-06-30,1,n/a\n")
    [issue] = read_error(customers_csv(tmp_path), tx).issues
    assert (issue.row, issue.column, issue.value) == (2, "成本", "n/a")


def test_several_bad_rows_are_all_counted(tmp_path: Path) -> None:
    """Given 25 bad dates, when read, then .total is 25, a few examples are listed in row
    order, and the message says how many more there are."""
    lines = ["customer_id,date,amount"] + [f"A1,bad{i},1" for i in range(25)]
    tx = write_text(tmp_path / "t.csv", "\n".join(lines) + "\n")
    error = read_error(customers_csv(tmp_path), tx)
    assert error.total == 25
    rows = [i.row for i in error.issues]
    assert rows == sorted(rows) and rows[0] == 2
    assert error.issues[0].value == "bad0"
    assert f"{25 - len(rows)} more" in str(error)


def test_bad_row_numbers_in_a_large_csv(tmp_path: Path) -> None:
    """Given 200,000 rows with bad dates on rows 123,457 and 199,999, when read, then
    those exact row numbers are reported."""
    lines = ["customer_id,date,amount"] + ["A1,2026-06-30,1"] * 200_000
    for row in (123_457, 199_999):
        lines[row - 1] = f"A2,bad-{row},1"
    tx = write_text(tmp_path / "t.csv", "\n".join(lines) + "\n")
    error = read_error(customers_csv(tmp_path), tx)
    assert [(i.row, i.value) for i in error.issues] == [
        (123_457, "bad-123457"),
        (199_999, "bad-199999"),
    ]


def test_excel_row_numbers_count_the_header_and_blank_rows(tmp_path: Path) -> None:
    """Given a sheet with a blank line 3 and a text date on line 4, when read, then the
    error gives row 4 as Excel shows it."""
    book = write_xlsx(
        tmp_path / "t.xlsx",
        {
            "tx": [
                ["customer_id", "date", "amount"],
                ["A1", dt.datetime(2026, 6, 30), 1],
                [None, None, None],
                ["A2", "昨天", 2],
            ]
        },
    )
    error = read_error(customers_csv(tmp_path), book)
    assert error.file == str(book)
    assert [(i.row, i.column, i.value) for i in error.issues] == [(4, "date", "昨天")]


def test_parquet_row_numbers(tmp_path: Path) -> None:
    """Given Parquet transactions with a bad amount in the third record, when read, then
    the error gives row 4 (the header counts as row 1)."""
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["A1", "A1", "A2"],
                "date": ["2026-06-30", "2026-06-29", "2026-06-28"],
                "amount": ["1", "2", "zwei"],
            }
        ),
        path,
    )
    error = read_error(customers_csv(tmp_path), path)
    assert error.file == str(path)
    assert [(i.row, i.column, i.value) for i in error.issues] == [(4, "amount", "zwei")]


def test_duplicate_customer_id(tmp_path: Path) -> None:
    """Given A1 on rows 2 and 4 of the customers file, when read, then the error names the
    customers file, both rows, the column and the id."""
    cust = write_text(tmp_path / "c.csv", "customer_id,地区\nA1,华东\nA2,华北\nA1,华南\n")
    tx = write_text(tmp_path / "t.csv", "customer_id,date,amount\nA1,2026-06-30,1\n")
    error = read_error(cust, tx)
    assert error.file == str(cust)
    assert [(i.row, i.column, i.value) for i in error.issues] == [
        (2, "customer_id", "A1"),
        (4, "customer_id", "A1"),
    ]
    text = str(error)
    assert "row 2" in text and "row 4" in text and "'A1'" in text


def test_duplicate_customer_id_in_excel(tmp_path: Path) -> None:
    """Given an Excel customers sheet with 1001 on rows 2 and 3, when read, then both rows
    are reported."""
    book = write_xlsx(tmp_path / "c.xlsx", {"客户": [["客户编号"], [1001], [1001]]})
    tx = write_text(tmp_path / "t.csv", "客户编号,日期,金额\n1001,2026-06-30,1\n")
    error = read_error(book, tx)
    assert error.file == str(book)
    assert [(i.row, i.column, i.value) for i in error.issues] == [
        (2, "客户编号", "1001"),
        (3, "客户编号", "1001"),
    ]


def test_transactions_of_unknown_customers(tmp_path: Path) -> None:
    """Given transactions for ZZ9 (row 3) which the customers file lacks, when read, then
    the error names the transactions file, row 3, the id column and ZZ9."""
    tx = write_text(
        tmp_path / "交易记录.csv", "客户编号,日期,金额\nA1,2026-06-30,1\nZZ9,2026-06-30,2\n"
    )
    error = read_error(customers_csv(tmp_path), tx)
    assert error.file == str(tx)
    assert [(i.row, i.column, i.value) for i in error.issues] == [(3, "客户编号", "ZZ9")]
    assert "ZZ9" in str(error) and "row 3" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    """Given a transactions path that does not exist, when read, then the error names it."""
    missing = tmp_path / "nope.csv"
    error = read_error(customers_csv(tmp_path), missing)
    assert error.file == str(missing)
    assert str(missing) in str(error)
    assert "not found" in str(error)


def test_unknown_extension(tmp_path: Path) -> None:
    """Given a transactions file ending .json, when read, then the error names the file and
    says which types are supported."""
    path = write_text(tmp_path / "t.json", "{}")
    error = read_error(customers_csv(tmp_path), path)
    assert error.file == str(path)
    assert ".csv" in str(error) and ".xlsx" in str(error)


def test_missing_sheet(tmp_path: Path) -> None:
    """Given book.xlsx#Nope where the workbook has sheets 说明 and 交易, when read, then the
    error names the workbook, the missing sheet and the sheets it has."""
    book = write_xlsx(tmp_path / "book.xlsx", {"说明": [["x"]], "交易": [["customer_id"]]})
    error = read_error(customers_csv(tmp_path), f"{book}#Nope")
    assert str(book) in error.file
    text = str(error)
    assert "Nope" in text and "说明" in text and "交易" in text


def test_errors_in_chinese(tmp_path: Path) -> None:
    """Given a bad date on row 3, when the message is asked for in Chinese, then it says
    第 3 行, the column and the value in Chinese."""
    tx = write_text(tmp_path / "t.csv", "客户编号,日期,金额\nA1,2026-06-30,1\nA2,明天,2\n")
    error = read_error(customers_csv(tmp_path), tx)
    zh = error.message("zh")
    assert str(tx) in zh
    assert "第 3 行" in zh
    assert "列 日期" in zh
    assert "明天" in zh
    assert "不是日期" in zh
    assert "row" not in zh


def test_input_error_is_a_tiering_error(tmp_path: Path) -> None:
    """Given any invalid input, when read, then the error can be caught as TieringError."""
    with pytest.raises(tiering.TieringError):
        tiering.read_inputs(tmp_path / "a.csv", tmp_path / "b.csv")


# --------------------------------------------------------------------- checks while grouping

RULES = {
    "name": "t",
    "as_of": "2026-06-30",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 10}, {"name": "B"}],
}


def _ledger_parquet(path: Path, rows: dict[str, list]) -> Path:
    pq.write_table(pa.table(rows), path)
    return path


def _errors(error: tiering.InputError) -> tuple:
    return error.file, error.total, [(i.row, i.column, i.value, i.en) for i in error.issues]


def test_parquet_checks_in_evaluate_match_the_reading(tmp_path: Path) -> None:
    """Given Parquet transactions with an empty id, a bad date, a bad amount and a bad cost
    (one dated after as_of, so that no metric reads it), when evaluated, then the error is
    the one read_inputs gives: every bad row, in row order, with the file's headers."""
    cust = customers_csv(tmp_path)
    tx = _ledger_parquet(
        tmp_path / "t.parquet",
        {
            "客户编号": ["A1", None, "A2", "A1", "A2", "A1"],
            "日期": ["2026-06-01", "2026-06-02", "昨天", "2026-06-04", "2026-06-05", "2027-01-01"],
            "金额": ["10", "1", "2", "zwei", "3", "4"],
            "成本": ["1", "1", "1", "1", "1", "abc"],
        },
    )
    read = read_error(cust, tx)
    with pytest.raises(tiering.InputError) as info:
        tiering.evaluate(RULES, cust, tx)
    assert _errors(info.value) == _errors(read)
    assert [(i.row, i.column) for i in info.value.issues] == [
        (3, "客户编号"),
        (4, "日期"),
        (5, "金额"),
        (7, "成本"),
    ]


def test_parquet_transactions_are_checked_before_payments(tmp_path: Path) -> None:
    """Given bad cells in both Parquet transactions and Parquet payments, when evaluated
    with a payment metric, then the transactions file is named first (as when read); with
    good transactions, the payments' bad row is named."""
    cust = customers_csv(tmp_path)
    good_tx = {"customer_id": ["A1"], "date": ["2026-06-01"], "amount": ["10"]}
    bad_tx = {"customer_id": ["A1"], "date": ["2026-06-01"], "amount": ["x"]}
    pay = _ledger_parquet(
        tmp_path / "p.parquet",
        {"customer_id": ["A1", "A2"], "回款日期": ["2026-06-01", "6月"], "回款金额": ["5", "5"]},
    )
    rules = dict(RULES, thresholds={"metric": "payments"})
    bad = _ledger_parquet(tmp_path / "bad.parquet", bad_tx)
    with pytest.raises(tiering.InputError) as info:
        tiering.evaluate(rules, cust, bad, payments=pay)
    assert info.value.file == str(bad)
    good = _ledger_parquet(tmp_path / "good.parquet", good_tx)
    with pytest.raises(tiering.InputError) as info:
        tiering.evaluate(rules, cust, good, payments=pay)
    assert _errors(info.value) == _errors(read_error(cust, good, payments=pay))
    assert [(i.row, i.column, i.value) for i in info.value.issues] == [(3, "回款日期", "6月")]


def test_parquet_unknown_customer_after_good_cells(tmp_path: Path) -> None:
    """Given Parquet transactions whose cells are all good but one customer id is not in
    the customers file, when evaluated, then the unknown id is named with its row."""
    cust = customers_csv(tmp_path)
    tx = _ledger_parquet(
        tmp_path / "t.parquet",
        {"customer_id": ["A1", "ZZ"], "date": ["2026-06-01", "2026-06-02"], "amount": ["1", "2"]},
    )
    with pytest.raises(tiering.InputError) as info:
        tiering.evaluate(RULES, cust, tx)
    assert [(i.row, i.column, i.value) for i in info.value.issues] == [(3, "customer_id", "ZZ")]


@pytest.mark.parametrize(
    "text", ["1234.50", "-12", "+7.1", "¥1,234.5", "1 234", "1,234", "12元", ".5", "5.", "1e3"]
)
def test_plain_amounts_read_as_the_full_rule_reads_them(tmp_path: Path, text: str) -> None:
    """Given an amount as text, when read, then the plain-number shortcut gives what the
    full rule (separators, ¥ and 元 where they belong) gives: the same value or the same
    error."""
    import duckdb

    from tiering import data

    db = duckdb.connect()
    db.execute("CREATE TABLE t AS SELECT ? AS a", [text])
    got = db.execute(f"SELECT {data.money_sql('a', 'VARCHAR')} FROM t").fetchone()[0]
    text_sql = data._text("a")
    raw = f"regexp_replace({text_sql}, '\\s', '', 'g')"
    shape = "^[-+]?[¥￥]?[-+]?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\\.[0-9]+)?元?$"
    cleaned = f"regexp_replace({raw}, '[,¥￥元]', '', 'g')"
    cast = f"TRY_CAST({cleaned} AS {data.MONEY})"
    full = f"CASE WHEN regexp_full_match({raw}, '{shape}') THEN {cast} END"
    assert got == db.execute(f"SELECT {full} FROM t").fetchone()[0]


# --------------------------------------------------------------------------- the embedded engine


def test_engine_memory_is_bounded_and_spills_to_its_own_folder(monkeypatch) -> None:
    """Given no setting, when the engine connects, then DuckDB may hold 1.5 GB and spills
    to a folder of its own, removed with the connection; TIERING_MEMORY_LIMIT changes the
    bound, and a value that is not an amount of memory is an error naming the variable."""
    import gc
    from pathlib import Path

    from tiering import data

    monkeypatch.delenv("TIERING_MEMORY_LIMIT", raising=False)
    con = data.connect()
    limit, spill = con.con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    assert limit == "1.3 GiB"  # 1.5 GB
    assert Path(spill).is_dir() and Path(spill).name.startswith("tiering-duckdb-")
    del con
    gc.collect()
    assert not Path(spill).exists()
    monkeypatch.setenv("TIERING_MEMORY_LIMIT", "4GB")
    assert data.connect().con.execute("SELECT current_setting('memory_limit')").fetchone() == (
        "3.7 GiB",
    )
    monkeypatch.setenv("TIERING_MEMORY_LIMIT", "viel")
    with pytest.raises(tiering.TieringError) as info:
        data.connect()
    assert "TIERING_MEMORY_LIMIT" in info.value.message("en")
    assert "内存" in info.value.message("zh")
