"""Reading one sheet of an .xlsx/.xlsm workbook as an all-text Arrow table.

The workbook is parsed by calamine (Rust, through ``python-calamine``), which gives every
cell with its own type as openpyxl did before it, several times faster; the cells are then
turned into text the way people read them in Excel, so that :mod:`tiering.data` converts
Excel, CSV and Parquet files with the same SQL.

Why python-calamine rather than fastexcel (calamine too, building Arrow columns in Rust, and
faster still): fastexcel gives each column one type, so a column mixing real date cells with
dates typed as text (``2026/6/30``), or numbers with text codes, either fails to load or is
coerced, numbers rounded to nine decimals and booleans written ``true``; per-cell types are
what read such files as before.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pyarrow as pa
import pyarrow.compute as pc

from tiering.exceptions import InputError, RowIssue

# integral floats up to this are written as integers (codes such as 10000001, not
# 10000001.0); every integer up to 2**53 is exact in a float
_EXACT_INTEGERS = 2.0**53


def read_excel(path: Path, sheet: str | None, label: str) -> pa.Table:
    """One sheet of a workbook as an all-text Arrow table with its spreadsheet row numbers.

    Parameters
    ----------
    path
        The ``.xlsx`` or ``.xlsm`` file.
    sheet
        The sheet's name, or None for the first worksheet (chart sheets skipped).
    label
        How errors name the file (e.g. ``book.xlsx#交易``).

    Returns
    -------
    pyarrow.Table
        One string column per header cell of row 1 (stripped; empty header cells at the
        end of the row are dropped), in sheet order, then ``_row`` (int64): the row number
        as Excel shows it (the header is row 1). Rows whose cells under the header are all
        empty are left out. Cells become text as Excel shows them without formatting:
        strings stripped (empty or blank ones are null), integral numbers without a
        decimal point (``123``, ``10000001``) and others as Python writes floats
        (``0.1``, ``0.125`` for 12.5%), dates ``2026-06-30``, date-times
        ``2026-06-30 12:30:00``, times ``09:15:00``, durations ``1 day, 6:00:00``,
        booleans ``TRUE``/``FALSE``. A date typed as text stays that text. Error cells
        keep their text (``#N/A``, ``#DIV/0!``), so that they are reported as bad values.

    Raises
    ------
    InputError
        The file is not a readable workbook, the sheet does not exist (the message lists
        the sheets there are), is empty, or its header has an empty or repeated name.
    """
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_path(path)
    except Exception as e:  # ZipError, XmlError, CalamineError, OSError...
        raise _unreadable(label, e) from None
    try:
        names = book.sheet_names
        if sheet is not None and sheet not in names:
            raise _file_error(
                label,
                f"no sheet {sheet!r}; the workbook has: {', '.join(names)}",
                f"没有工作表 {sheet!r}；工作簿中有：{'、'.join(names)}",
            )
        if sheet is None:  # the first worksheet: a chart sheet before it holds no cells
            worksheets = [
                m.name
                for m in book.sheets_metadata
                if m.typ == python_calamine.SheetTypeEnum.WorkSheet
            ]
            sheet = (worksheets or names)[0]
        try:
            cells = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as e:
            raise _unreadable(label, e) from None
    finally:
        book.close()
    for (row, column), text in _error_cells(path, sheet).items():
        if row < len(cells) and column < len(cells[row]):
            cells[row][column] = text
    if not cells:
        raise _file_error(label, "the sheet is empty", "工作表为空")
    header = _header(cells[0], label)
    rows = cells[1:]
    del cells
    columns = [_column_text([row[j] for row in rows]) for j in range(len(header))]
    numbers = pa.array(range(2, len(rows) + 2), pa.int64())
    table = pa.table([*columns, numbers], names=[*header, "_row"])
    if columns:
        filled = columns[0].is_valid()
        for column in columns[1:]:
            filled = pc.or_(filled, column.is_valid())
        if not pc.all(filled).as_py():
            table = table.filter(filled)
    else:  # no header at all: every row is empty under it
        table = table.slice(0, 0)
    return table


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\b([^>]*\bt="e"[^>/]*)>(.*?)</(?:\w+:)?c>', re.S)
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_CHUNK = 4 << 20


def _error_cells(path: Path, sheet: str) -> dict[tuple[int, int], str]:
    """The error cells (``#N/A``, ``#DIV/0!``...) of ``sheet`` by (row, column) from 0:
    calamine reads them as empty cells, which would let an error pass as a missing value
    (an empty cost counts as 0). The sheet's XML is streamed (a few megabytes at a time,
    whatever its size) and only the pieces holding the error type ``t="e"`` are parsed:
    most sheets have none, and scanning costs a tenth of reading them."""
    found: dict[tuple[int, int], str] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return found
            with archive.open(part) as xml:
                carry = b""
                for chunk in iter(lambda: xml.read(_CHUNK), b""):
                    data = carry + chunk
                    # the cells before the end of the last row (</row>, </x:row>) are whole
                    end = data.rfind(b"row>") + 4
                    whole, carry = (data[:end], data[end:]) if end > 3 else (b"", data)
                    if b't="e"' in whole:
                        found.update(_errors_in(whole))
                if b't="e"' in carry:
                    found.update(_errors_in(carry))
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}  # calamine read it: whatever is odd here is not an error cell
    return found


def _errors_in(xml: bytes) -> dict[tuple[int, int], str]:
    found = {}
    for attrs, body in _ERROR_CELL.findall(xml):
        ref, value = _REF.search(attrs), _VALUE.search(body)
        if ref is None or value is None or not value.group(1):
            continue
        column = 0
        for letter in ref.group(1):
            column = column * 26 + letter - 64
        text = html.unescape(value.group(1).decode("utf-8"))
        found[(int(ref.group(2)) - 1, column - 1)] = text
    return found


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding ``sheet``'s cells, from the workbook's sheet list and links."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel = next((s.get(_REL_ID) for s in book.iter(f"{_MAIN}sheet") if s.get("name") == sheet), None)
    links = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(
        (r.get("Target") for r in links.iter(f"{_RELS}Relationship") if r.get("Id") == rel), None
    )
    if target is None:
        return None
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


def _header(cells: list, label: str) -> list[str]:
    """The column names of row 1, checked: trailing empty cells dropped, none empty, none
    repeated."""
    names = [_cell_text(c) for c in cells]
    while names and not names[-1]:
        names.pop()
    for i, name in enumerate(names):
        if not name:
            raise _file_error(label, f"column {i + 1} has no header", f"第 {i + 1} 列没有列名")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _file_error(label, f"header {dup!r} appears twice", f"列名 {dup!r} 重复")
    return names


def _column_text(values: list) -> pa.Array:
    """One column's cells as text (see :func:`read_excel`); null for an empty cell."""
    try:  # all strings (calamine gives "" for an empty cell): trimmed in Arrow
        strings = pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_cell_text(v) for v in values], pa.string())
    trimmed = pc.utf8_trim_whitespace(strings)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _cell_text(value) -> str | None:
    """One cell as calamine gives it (str, float, int, bool, date, datetime, time,
    timedelta) as text."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= _EXACT_INTEGERS:
            return str(int(value))
        return repr(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None  # int, time, timedelta


def _file_error(file: str, en: str, zh: str) -> InputError:
    return InputError(file, [RowIssue(None, None, None, en, zh)])


def _unreadable(label: str, e: Exception) -> InputError:
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    return _file_error(
        label, f"not a readable .xlsx workbook: {first}", f"不是可读取的 .xlsx 工作簿：{first}"
    )
