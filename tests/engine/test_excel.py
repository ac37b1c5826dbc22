"""Reading one sheet of a workbook as text (tiering.excel.read_excel): cells as Excel shows
them, row numbers as Excel counts them, header checks and errors that name the file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
import xlsxwriter
from openpyxl.chart import BarChart, Reference

import tiering.data
import tiering.excel
from tiering.demo import generate_demo
from tiering.excel import read_excel
from tiering.exceptions import InputError

# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True, params=["read_excel", "cells"])
def reader(request, monkeypatch) -> str:
    """Every test twice: as read_excel reads (by columns where it can, see the module's
    docstring), and with the column path switched off, so that the cell path alone holds
    every expectation too."""
    if request.param == "cells":
        monkeypatch.setattr(tiering.excel, "_read_columns", lambda path, sheet: None)
    return request.param


def write_xlsx(path: Path, sheets: dict[str, list[list]], formats: dict | None = None) -> Path:
    """A workbook (openpyxl) with one sheet per key, each a list of rows (header first);
    ``formats`` maps a cell such as ``"B2"`` of the first sheet to a number format."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    for cell, number_format in (formats or {}).items():
        book.worksheets[0][cell].number_format = number_format
    book.save(path)
    return path


def rows_of(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def read_error(path: Path, sheet: str | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        read_excel(path, sheet, str(path))
    return info.value


def openpyxl_text(value) -> str | None:
    """A cell as openpyxl reads it, turned into text the way the reader did before."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def read_with_openpyxl(path: Path) -> pa.Table:
    """The first sheet as openpyxl reads it: the table the reader made before calamine."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    names = [str(h).strip() for h in rows[0] if h is not None]
    kept = [
        (number, [openpyxl_text(c) for c in row[: len(names)]])
        for number, row in enumerate(rows[1:], start=2)
        if any(openpyxl_text(c) is not None for c in row[: len(names)])
    ]
    columns = {n: pa.array([r[j] for _, r in kept], pa.string()) for j, n in enumerate(names)}
    return pa.table({**columns, "_row": pa.array([n for n, _ in kept], pa.int64())})


# --------------------------------------------------------------------------- cells


def test_mixed_cell_types_read_as_openpyxl_read_them(tmp_path: Path) -> None:
    """Given a workbook whose columns mix numbers, text, dates, times, booleans, blanks and
    a blank line (as hand-kept customer lists do), when read, then the table is exactly the
    one the openpyxl reader made: same columns, same text, same row numbers."""
    book = write_xlsx(
        tmp_path / "mixed.xlsx",
        {
            "客户": [
                ["客户编号", "金额", "日期", "时间", "标记", "备注", "混合"],
                [10000001, 123.0, dt.date(2026, 6, 30), dt.time(9, 15), True, "  华东 ", 1.5],
                [10000002, 0.1, dt.datetime(2026, 6, 30, 12, 30), dt.time(0, 0), False, "", "x"],
                [None, None, None, None, None, "   ", None],
                [
                    "C-3",
                    1234.5678,
                    "2026/6/30",
                    None,
                    None,
                    "\u3000全角\u3000",
                    dt.date(2026, 1, 2),
                ],
                [4, -3.0, "2026年6月30日", dt.time(23, 59, 59), None, None, True],
                [5, 1 / 3, dt.datetime(2026, 6, 30), None, None, "第一行\n第二行", 0.125],
            ]
        },
        formats={"G7": "0.00%", "B3": "0.0"},
    )
    table = read_excel(book, None, str(book))
    assert table.equals(read_with_openpyxl(book))
    assert table.column("_row").to_pylist() == [2, 3, 5, 6, 7]


def test_numbers_read_as_excel_shows_them(tmp_path: Path) -> None:
    """Given numbers stored as floats (as every .xlsx stores them), when read, then integral
    ones have no decimal point, long numeric customer codes keep every digit, and the others
    read as Python writes floats, whatever the cell's format (a 12.5% cell is 0.125, 1,234.50
    is 1234.5)."""
    values = [123.0, 0.1, 10000001, 123456789012, 2**53, -3.0, 0.0, 1234.5, 1 / 3, 1e16]
    book = write_xlsx(
        tmp_path / "n.xlsx",
        {"n": [["n"], *([v] for v in values), [0.125]]},
        formats={"A12": "0.00%", "A9": "#,##0.00"},
    )
    table = read_excel(book, None, "n.xlsx")
    assert table.column("n").to_pylist() == [
        "123",
        "0.1",
        "10000001",
        "123456789012",
        "9007199254740992",
        "-3",
        "0",
        "1234.5",
        "0.3333333333333333",
        "1e+16",
        "0.125",
    ]


def test_dates_times_and_booleans(tmp_path: Path) -> None:
    """Given date, date-time, time-only and boolean cells, and dates typed as text, when
    read, then dates are ISO, times hh:mm:ss, booleans TRUE/FALSE, and text dates stay
    text (tiering.data parses them later)."""
    book = write_xlsx(
        tmp_path / "d.xlsx",
        {
            "d": [
                ["v"],
                [dt.date(2026, 6, 30)],
                [dt.datetime(2026, 6, 30)],
                [dt.datetime(2026, 6, 30, 12, 30)],
                [dt.time(9, 15)],
                [True],
                [False],
                ["2026年6月30日"],
                ["2026/6/30"],
            ]
        },
    )
    assert read_excel(book, None, "d.xlsx").column("v").to_pylist() == [
        "2026-06-30",
        "2026-06-30",
        "2026-06-30 12:30:00",
        "09:15:00",
        "TRUE",
        "FALSE",
        "2026年6月30日",
        "2026/6/30",
    ]


def test_chinese_builtin_date_format_is_a_date(tmp_path: Path) -> None:
    """Given a date cell in Chinese Excel's built-in format 31 (2026年6月30日), which
    openpyxl read as the serial number 46203, when read, then it is the date."""
    path = tmp_path / "cn.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("交易")
    sheet.write_row(0, 0, ["日期"])
    sheet.write_number(1, 0, 46203, book.add_format({"num_format": 31}))
    book.close()
    assert read_excel(path, None, "cn.xlsx").column("日期").to_pylist() == ["2026-06-30"]


def test_error_cells_keep_their_text(tmp_path: Path) -> None:
    """Given #N/A and #DIV/0! cells, when read, then they keep their text as openpyxl read
    them (calamine alone gives empty cells), so that a row of errors is not taken for a
    blank row."""
    book = write_xlsx(
        tmp_path / "e.xlsx",
        {"e": [["客户编号", "金额"], ["A1", "#N/A"], ["#DIV/0!", "#N/A"], ["A3", 5]]},
    )
    assert rows_of(read_excel(book, None, "e.xlsx")) == [
        {"客户编号": "A1", "金额": "#N/A", "_row": 2},
        {"客户编号": "#DIV/0!", "金额": "#N/A", "_row": 3},
        {"客户编号": "A3", "金额": "5", "_row": 4},
    ]


def test_error_cells_of_a_later_sheet_written_by_xlsxwriter(tmp_path: Path) -> None:
    """Given a workbook written by xlsxwriter whose second sheet has a formula cached as
    #DIV/0!, when that sheet is read, then the cell reads #DIV/0! and the first sheet's
    cells are untouched."""
    path = tmp_path / "x.xlsx"
    book = xlsxwriter.Workbook(str(path))
    first = book.add_worksheet("说明")
    first.write_row(0, 0, ["备注", "金额"])
    first.write_row(1, 0, ["ok", 1])
    second = book.add_worksheet("交易")
    second.write_row(0, 0, ["客户编号", "成本"])
    second.write_row(1, 0, ["A1", 2])
    second.write_formula(2, 1, "=1/0", None, "#DIV/0!")
    second.write(2, 0, "A2")
    book.close()
    assert read_excel(path, "交易", "x.xlsx").column("成本").to_pylist() == ["2", "#DIV/0!"]
    assert read_excel(path, None, "x.xlsx").column("金额").to_pylist() == ["1"]


def test_error_cells_found_across_the_pieces_streamed(tmp_path: Path, monkeypatch) -> None:
    """Given 300 rows with an error cell in every third, when the sheet is streamed in
    pieces of 100 bytes (cells cut anywhere), then every error cell is found, as when the
    sheet is streamed in one piece."""
    rows = [["id", "v"]] + [[f"A{i}", "#N/A" if i % 3 == 0 else i] for i in range(300)]
    book = write_xlsx(tmp_path / "s.xlsx", {"s": rows})
    whole = read_excel(book, None, "s.xlsx").to_pylist()
    monkeypatch.setattr(tiering.excel, "_CHUNK", 100)
    assert read_excel(book, None, "s.xlsx").to_pylist() == whole
    assert [r["v"] for r in whole].count("#N/A") == 100


def test_an_error_cost_is_a_bad_amount_not_zero(tmp_path: Path) -> None:
    """Given a transactions sheet whose cost on row 3 is #N/A, when read, then the error
    names row 3, the column and #N/A (an empty cost would count as 0)."""
    customers = tmp_path / "c.csv"
    customers.write_text("customer_id\nA1\n", encoding="utf-8")
    book = write_xlsx(
        tmp_path / "t.xlsx",
        {
            "t": [
                ["customer_id", "date", "amount", "cost"],
                ["A1", "2026-06-01", 10, 5],
                ["A1", "2026-06-02", 10, "#N/A"],
            ]
        },
    )
    with pytest.raises(InputError) as info:
        tiering.data.read_inputs(customers, book)
    assert [(i.row, i.column, i.value) for i in info.value.issues] == [(3, "cost", "#N/A")]


def test_merged_cells_hold_their_value_in_the_first_cell(tmp_path: Path) -> None:
    """Given a value merged across B2:C2, when read, then B2 holds it and C2 is empty."""
    path = write_xlsx(tmp_path / "m.xlsx", {"m": [["a", "b", "c"], ["x", "merged", None]]})
    book = openpyxl.load_workbook(path)
    book.active.merge_cells("B2:C2")
    book.save(path)
    assert rows_of(read_excel(path, None, "m.xlsx")) == [
        {"a": "x", "b": "merged", "c": None, "_row": 2}
    ]


# --------------------------------------------------------------------------- rows and header


def test_rows_keep_their_excel_numbers(tmp_path: Path) -> None:
    """Given blank and whitespace-only lines, and a line whose only value lies right of the
    header, when read, then those lines are left out and the others keep the row number
    Excel shows."""
    book = write_xlsx(
        tmp_path / "r.xlsx",
        {"r": [["id", "v"], ["A1", 1], [None, None], [" ", "\t"], [None, None, "note"], ["A6", 6]]},
    )
    assert rows_of(read_excel(book, None, "r.xlsx")) == [
        {"id": "A1", "v": "1", "_row": 2},
        {"id": "A6", "v": "6", "_row": 6},
    ]


def test_trailing_empty_header_cells_are_dropped(tmp_path: Path) -> None:
    """Given a header " id ", "v" followed by empty header cells with values under them,
    when read, then the columns are id and v (stripped) and the values right of them are
    ignored."""
    book = write_xlsx(tmp_path / "h.xlsx", {"h": [[" id ", "v", None, ""], ["A1", 1, "x", "y"]]})
    table = read_excel(book, None, "h.xlsx")
    assert table.column_names == ["id", "v", "_row"]
    assert rows_of(table) == [{"id": "A1", "v": "1", "_row": 2}]


def test_sheet_with_only_a_header(tmp_path: Path) -> None:
    """Given a sheet holding only its header, when read, then the table has the columns and
    no rows."""
    book = write_xlsx(tmp_path / "h.xlsx", {"h": [["客户编号", "地区"]]})
    table = read_excel(book, None, "h.xlsx")
    assert table.column_names == ["客户编号", "地区", "_row"]
    assert table.num_rows == 0
    assert table.schema.field("_row").type == pa.int64()


def test_empty_sheet(tmp_path: Path) -> None:
    """Given a sheet with no cell at all, when read, then the error says it is empty."""
    error = read_error(write_xlsx(tmp_path / "e.xlsx", {"空": []}))
    assert "the sheet is empty" in str(error)
    assert "工作表为空" in error.message("zh")


@pytest.mark.parametrize(
    ("header", "en", "zh"),
    [
        (["id", None, "v"], "column 2 has no header", "第 2 列没有列名"),
        ([None, "id"], "column 1 has no header", "第 1 列没有列名"),
        (["id", "  ", "v"], "column 2 has no header", "第 2 列没有列名"),
        (["id", "v", " id"], "header 'id' appears twice", "列名 'id' 重复"),
    ],
)
def test_header_errors(tmp_path: Path, header: list, en: str, zh: str) -> None:
    """Given a header with an empty cell before the last name (or in column A, as when a
    sheet starts in column B), or a name twice, when read, then the error names the file
    and the column or the name, in English and in Chinese."""
    book = write_xlsx(tmp_path / "h.xlsx", {"h": [header, ["x"] * len(header)]})
    error = read_error(book)
    assert error.file == str(book)
    assert en in str(error)
    assert zh in error.message("zh")


# --------------------------------------------------------------------------- sheets and files


def test_named_sheet_and_missing_sheet(tmp_path: Path) -> None:
    """Given sheets 说明 and 交易, when 交易 is asked for, then it is read; when 汇总 is asked
    for, then the error lists the sheets the workbook has."""
    book = write_xlsx(tmp_path / "b.xlsx", {"说明": [["x"], [1]], "交易": [["id"], ["A1"]]})
    assert rows_of(read_excel(book, "交易", "b.xlsx#交易")) == [{"id": "A1", "_row": 2}]
    with pytest.raises(InputError) as info:
        read_excel(book, "汇总", "b.xlsx#汇总")
    assert info.value.file == "b.xlsx#汇总"
    assert "no sheet '汇总'; the workbook has: 说明, 交易" in str(info.value)
    assert "没有工作表 '汇总'；工作簿中有：说明、交易" in info.value.message("zh")


def test_first_worksheet_after_a_chart_sheet(tmp_path: Path) -> None:
    """Given a workbook whose first tab is a chart sheet (图表) and whose second is the data,
    when read without #Sheet, then the data sheet is read, as openpyxl's first worksheet
    was."""
    book = openpyxl.Workbook()
    data = book.active
    data.title = "数据"
    data.append(["客户编号", "v"])
    data.append(["A1", 1])
    chart = BarChart()
    chart.add_data(Reference(data, min_col=2, min_row=1, max_row=2))
    book.create_chartsheet("图表", 0).add_chart(chart)
    book.save(tmp_path / "chart.xlsx")
    assert rows_of(read_excel(tmp_path / "chart.xlsx", None, "chart.xlsx")) == [
        {"客户编号": "A1", "v": "1", "_row": 2}
    ]


@pytest.mark.parametrize("content", ["not a zip", "zip without a workbook"])
def test_unreadable_workbook(tmp_path: Path, content: str) -> None:
    """Given a .xlsx that is a text file, or a zip without a workbook inside, when read,
    then the error says it is not a readable .xlsx workbook."""
    path = tmp_path / "bad.xlsx"
    if content == "not a zip":
        path.write_text("客户编号,地区\nA1,华东\n", encoding="utf-8")
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "hello")
    error = read_error(path)
    assert error.file == str(path)
    assert "not a readable .xlsx workbook: " in str(error)
    assert "不是可读取的 .xlsx 工作簿：" in error.message("zh")


def test_xlsm_through_read_table(tmp_path: Path) -> None:
    """Given a macro-enabled .xlsm workbook with a #Sheet suffix, when read by
    tiering.data.read_table, then its sheet is the table, with numeric codes as text."""
    book = write_xlsx(tmp_path / "b.xlsx", {"说明": [["x"]], "客户": [["客户编号"], [1001]]})
    xlsm = book.rename(tmp_path / "b.xlsm")
    _, table = tiering.data.read_table(f"{xlsm}#客户")
    assert table.to_pyarrow().to_pylist() == [{"客户编号": "1001", "_row": 2}]


def test_demo_workbook_reads_as_openpyxl_read_it(tmp_path: Path) -> None:
    """Given the demo company's customers.xlsx (xlsxwriter, inline strings, frozen header,
    autofilter), when read, then the table is exactly the one the openpyxl reader made."""
    files = generate_demo(tmp_path, customers=300, seed=3)
    table = read_excel(files.customers, None, "customers.xlsx")
    assert table.num_rows == 300
    assert table.equals(read_with_openpyxl(files.customers))


def test_the_old_name_and_a_lazy_import() -> None:
    """Given the engine, when tiering.data and the CLI are imported, then
    tiering.data.read_excel is this reader and the Rust reader is not loaded yet."""
    assert tiering.data.read_excel is read_excel
    code = (
        "import sys, tiering.cli, tiering.data; "
        "print('python_calamine' in sys.modules, 'fastexcel' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


# --------------------------------------------------------------------------- bombs


def bomb(path: Path, megabytes: int) -> Path:
    """A workbook whose one shared string is ``megabytes`` of "A" (a megabyte packs to
    about a kilobyte), streamed into the zip so that the test itself stays small."""
    write_xlsx(path, {"s": [["客户编号"], ["A1"]]})
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
        with z.open("xl/sharedStrings.xml", "w") as xml:
            xml.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            xml.write(b"<si><t>")
            for _ in range(megabytes):
                xml.write(b"A" * (1 << 20))
            xml.write(b"</t></si></sst>")
    return path


def test_a_decompression_bomb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """Given a workbook of well under a megabyte whose shared strings unpack to 256 MB,
    when read (in a fresh process), then the error names the part and the sizes, in
    English and Chinese, and the process never grew beyond what Python itself needs."""
    path = bomb(tmp_path / "bomb.xlsx", 256)
    assert path.stat().st_size < 1 << 20
    code = (
        "import re, sys; from pathlib import Path; from tiering.excel import read_excel\n"
        "from tiering.exceptions import InputError\n"
        "try:\n    read_excel(Path(sys.argv[1]), None, 'bomb.xlsx')\n"
        "except InputError as e:\n    print(str(e)); print(e.message('zh'))\n"
        # the peak of this process's own memory: ru_maxrss would count the parent's (a
        # pytest worker grown past 300 MB), which the child shares until it runs Python
        "status = Path('/proc/self/status').read_text()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status)[1]) // 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    lines = out.stdout.strip().splitlines()
    assert "xl/sharedStrings.xml unpacks from 0.2 MB to 256 MB, more than 100 times" in out.stdout
    assert "refused as a decompression bomb" in out.stdout
    assert "疑似压缩炸弹，拒绝读取" in out.stdout
    assert int(lines[-1]) < 300  # MiB: nothing was inflated


def test_a_workbook_too_large_unpacked_is_refused(tmp_path: Path, monkeypatch) -> None:
    """Given a limit of 1 MB unpacked, when an ordinary 2,000-row workbook is read, then
    the error says how large it unpacks and what to do (split it, or save it as CSV)."""
    path = write_xlsx(
        tmp_path / "big.xlsx", {"s": [["客户编号"], *([f"客户{i:06}"] for i in range(20000))]}
    )
    monkeypatch.setattr(tiering.excel, "MAX_UNPACKED_BYTES", 1 << 20)
    error = read_error(path)
    assert "more than the 1 MB a workbook may hold here: split it, or save it as CSV" in str(error)
    assert "超过允许的 1 MB：请拆分，或另存为 CSV" in error.message("zh")
