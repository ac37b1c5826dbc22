"""The column path of tiering.excel (fastexcel): it reads what it can exactly as the cell
path does, and declines the rest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_excel import rows_of, write_xlsx

import tiering.excel
from tiering.demo import generate_demo
from tiering.excel import read_excel


def typed_sheet(path: Path) -> Path:
    """A sheet whose every column holds one type: text (padded, blank, Chinese), integral
    and other numbers, booleans, dates, date-times to the millisecond, an empty column,
    and a blank line."""
    return write_xlsx(
        path,
        {
            "客户": [
                [" 客户编号 ", "金额", "数量", "有效", "日期", "时间", "空", "备注"],
                [
                    "A1",
                    0.1,
                    1,
                    True,
                    dt.date(2026, 6, 30),
                    dt.datetime(2026, 1, 2, 3, 4, 5),
                    None,
                    " 华东 ",
                ],
                [
                    "A2",
                    1e-05,
                    2.0,
                    False,
                    dt.datetime(2026, 7, 1),
                    dt.datetime(2026, 1, 2),
                    None,
                    "   ",
                ],
                [None, None, None, None, None, None, None, None],
                [
                    "A4",
                    1e16,
                    10000001,
                    None,
                    None,
                    dt.datetime(2026, 1, 2, 0, 0, 0, 125000),
                    None,
                    "x",
                ],
                ["A5", -3.0, None, True, dt.date(2026, 1, 3), None, None, "第一行\n第二行"],
            ]
        },
    )


def test_the_column_path_reads_one_type_columns_as_the_cell_path(tmp_path: Path) -> None:
    """Given the demo's customers.xlsx and a sheet of one-type columns, when read by
    columns, then the column path takes them (it is not declined) and its tables are the
    cell path's, cell for cell."""
    files = generate_demo(tmp_path, customers=300, seed=3)
    for book in (files.customers, typed_sheet(tmp_path / "typed.xlsx")):
        by_columns = tiering.excel._read_columns(book, None)
        assert by_columns is not None
        assert by_columns.equals(tiering.excel._read_cells(book, None, str(book)))
    assert rows_of(by_columns)[2] == {
        "客户编号": "A4",
        "金额": "1e+16",
        "数量": "10000001",
        "有效": None,
        "日期": None,
        "时间": "2026-01-02 00:00:00.125000",
        "空": None,
        "备注": "x",
        "_row": 5,
    }


@pytest.mark.parametrize(
    ("rows", "start"),
    [
        ([["id", "v"], ["A1", 1], ["A2", "x"]], "A1"),  # numbers and text in one column
        ([["id", "v"], ["A1", "#N/A"], ["A2", 2]], "A1"),  # an error cell
        ([["id", "v"], ["A1", 1]], "B3"),  # the sheet starts at B3
        ([["id", "id_1"], ["A1", 1]], "A1"),  # a name as fastexcel makes names unique
        ([["id", 2024], ["A1", 1]], "A1"),  # a number in the header
        ([["id", "v", None], ["A1", 1, 5]], "A1"),  # a value under an empty header cell
        ([["id", "v"], ["A1", dt.time(9, 15)]], "A1"),  # a time
        ([["id", "v"], ["A1", dt.datetime(1900, 2, 28, 12)]], "A1"),  # before 1900-03-01
    ],
)
def test_the_column_path_declines_what_it_cannot_read_exactly(
    tmp_path: Path, rows: list, start: str
) -> None:
    """Given a sheet the column path would read differently from the cell path, when read,
    then the column path declines it (and read_excel's table is the cell path's)."""
    book = openpyxl.Workbook()
    first = book.active[start]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                book.active.cell(first.row + i, first.column + j, value)
    book.save(tmp_path / "d.xlsx")
    path = tmp_path / "d.xlsx"
    assert tiering.excel._read_columns(path, None) is None
    assert read_excel(path, None, "d.xlsx").equals(tiering.excel._read_cells(path, None, "d"))


_CELLS = {
    "text": st.sampled_from(["A1", " 华东 ", "", "  ", "x\ty", "2026/6/30", "TRUE", "0.10"]),
    "number": st.one_of(
        st.integers(-(2**60), 2**60).map(float),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.sampled_from([0.1, 1e-05, 2.0**53, 1e16, -0.0, 12.5]),
    ),
    "boolean": st.booleans(),
    "date": st.dates(dt.date(1900, 3, 1), dt.date(2100, 12, 31)),
    "datetime": st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 12, 31)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
    ),
}


@st.composite
def sheets(draw) -> tuple[list, list[list]]:
    width = draw(st.integers(1, 4))
    names = st.sampled_from(["id", "v", "v_1", " w ", "名称", "", None, 7])
    header = draw(
        st.one_of(  # mostly names the column path takes, sometimes ones it declines
            st.permutations(["id", "v", " w ", "名称"]).map(lambda names: names[:width]),
            st.lists(names, min_size=width, max_size=width),
        )
    )
    kinds = draw(st.lists(st.sampled_from([*_CELLS, "mixed"]), min_size=width, max_size=width))
    mixed = st.one_of(*_CELLS.values())
    cell = {k: v for k, v in _CELLS.items()} | {"mixed": mixed}
    rows = draw(
        st.lists(
            st.tuples(*(st.one_of(st.none(), cell[k]) for k in kinds)).map(list),
            max_size=6,
        )
    )
    return header, rows


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sheet=sheets(), error=st.booleans())
def test_the_column_path_is_the_cell_path_or_declines(tmp_path: Path, sheet, error: bool) -> None:
    """Given any sheet of text, numbers, booleans, dates and date-times (columns of one
    type or mixed, odd headers, an error cell or not), when read by columns, then the
    column path either declines or gives exactly the cell path's table."""
    header, rows = sheet
    book = openpyxl.Workbook()
    sheet_ = book.active
    for j, name in enumerate(header):
        if name is not None:
            sheet_.cell(1, j + 1, name)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                sheet_.cell(i + 2, j + 1, value)
    if error and rows:
        sheet_.cell(2, 1, "#N/A")
    path = tmp_path / "p.xlsx"
    book.save(path)
    by_columns = tiering.excel._read_columns(path, None)
    if by_columns is not None:
        assert by_columns.equals(tiering.excel._read_cells(path, None, "p.xlsx"))
