"""Reading one sheet of an .xlsx/.xlsm workbook as an all-text Arrow table.

Two readers, one result. The cells are turned into text the way people read them in Excel,
so that :mod:`tiering.data` converts Excel, CSV and Parquet files with the same SQL.

* **Columns** (the fast path, :func:`_read_columns`): fastexcel (calamine in Rust, building
  Arrow columns there) loads the sheet with one type per column, and the columns become text
  in Arrow. It reads a 100,000-row customer sheet in about a third of the time of the cell
  path. It is used only where its table is certain to equal the cell path's: fastexcel gives
  each column one type (a column mixing date cells with dates typed as text, or numbers with
  text codes, does not load in its strict mode), reads error cells (``#N/A``) as empty,
  names the columns itself (empty or repeated header cells get generated names) and starts
  the table at the first filled cell rather than at A1.
* **Cells** (:func:`_read_cells`): python-calamine gives every cell with its own type, as
  openpyxl did before it, and each cell becomes text on its own. Everything the column path
  declines comes here, and here every error message is made.

The column path declines (and the cell path reads the sheet) when the sheet's first filled
cell is not A1, a header cell is not text, a name is empty or repeated once stripped, a
column mixes types or holds durations or times, the sheet has error cells or cells in the
built-in Chinese date formats (which fastexcel reads as numbers), or fastexcel cannot read
the file at all. A test reads every workbook of the test suite both ways.
"""

from __future__ import annotations

import array
import datetime as dt
import html
import logging
import re
import threading
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pyarrow as pa
import pyarrow.compute as pc

from tiering.exceptions import InputError, RowIssue

# integral floats up to this are written as integers (codes such as 10000001, not
# 10000001.0); every integer up to 2**53 is exact in a float
_EXACT_INTEGERS = 2.0**53

#: A part of the workbook that unpacks to more than this many times its packed size (and
#: to more than a mebibyte) is refused as a decompression bomb: the XML of real workbooks
#: packs 5 to 20 times (Apache POI refuses 100 times as well).
MAX_INFLATE_RATIO = 100
#: The most the parts of a workbook may unpack to together. The 100,000-customer demo
#: sheet is 76 MB unpacked; a full sheet of 1,048,576 such rows would be about 800 MB.
MAX_UNPACKED_BYTES = 2 << 30
_SMALL_PART = 1 << 20


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
        the sheets there are), is empty, or its header has an empty or repeated name; or
        it would unpack to more than :data:`MAX_UNPACKED_BYTES` or a part of it to more
        than :data:`MAX_INFLATE_RATIO` times its size (refused before anything is read).
    """
    _check_unpacked_size(path, label)
    table = _read_columns(path, sheet)
    if table is None:
        table = _read_cells(path, sheet, label)
    return table


def _check_unpacked_size(path: Path, label: str) -> None:
    """Refuse a workbook whose parts would unpack to too much (see :func:`read_excel`),
    from the sizes its zip directory declares, before a reader inflates them (a file
    whose directory lies about the sizes is not caught here)."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (OSError, zipfile.BadZipFile):
        return  # not a zip: the readers say it is not a readable workbook
    mib = 1 << 20
    for part in parts:
        if part.file_size > _SMALL_PART and part.file_size > MAX_INFLATE_RATIO * max(
            part.compress_size, 1
        ):
            size, packed = part.file_size / mib, part.compress_size / mib
            raise _file_error(
                label,
                f"{part.filename} unpacks from {packed:,.1f} MB to {size:,.0f} MB, more than"
                f" {MAX_INFLATE_RATIO} times: refused as a decompression bomb",
                f"{part.filename} 从 {packed:,.1f} MB 解压为 {size:,.0f} MB，超过"
                f" {MAX_INFLATE_RATIO} 倍：疑似压缩炸弹，拒绝读取",
            )
    total = sum(part.file_size for part in parts)
    if total > MAX_UNPACKED_BYTES:
        limit = MAX_UNPACKED_BYTES / mib
        raise _file_error(
            label,
            f"the workbook unpacks to {total / mib:,.0f} MB, more than the {limit:,.0f} MB"
            " a workbook may hold here: split it, or save it as CSV",
            f"工作簿解压后为 {total / mib:,.0f} MB，超过允许的 {limit:,.0f} MB："
            "请拆分，或另存为 CSV",
        )


def _read_cells(path: Path, sheet: str | None, label: str) -> pa.Table:
    """:func:`read_excel` cell by cell (python-calamine): every workbook, every message."""
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
    return _filled_rows(header, columns, len(rows))


def _filled_rows(header: list[str], columns: list[pa.Array], height: int) -> pa.Table:
    """The text columns under ``header`` and ``_row`` (the sheet's row numbers: the header
    is row 1), without the rows whose cells are all empty."""
    # built from a buffer: pa.array() would import pandas (a third of a second) to check
    # whether it was given a pandas object
    numbers = pa.Array.from_buffers(
        pa.int64(), height, [None, pa.py_buffer(array.array("q", range(2, height + 2)))]
    )
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


# --------------------------------------------------------------------------------------------
# the column path: fastexcel, where its table is certain to be the cell path's

#: fastexcel's names for columns it could not name from the header, or named twice
_DEDUPED = re.compile(r"^(.*)_[0-9]+$")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_TYPE = re.compile(rb"""\bt=["']([^"']*)["']""")
_ROW_NUMBER = re.compile(rb"""\br=["']([0-9]+)["']""")
_HAS_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)\b")
_TEXT_TYPES = (b"s", b"inlineStr", b"str")
_ERROR_TYPES = (b't="e"', b"t='e'")
_FIRST_SURE_DAY = dt.datetime(1900, 3, 1)
_CJK_DATE_FORMATS = frozenset([*range(27, 37), *range(50, 59)])


def _read_columns(path: Path, sheet: str | None) -> pa.Table | None:
    """:func:`read_excel` by columns (fastexcel), or None where the cell path must read
    the sheet (see the module's docstring). Errors of any kind are the cell path's to
    report: here they only mean None."""
    try:
        import fastexcel
    except ImportError:  # pragma: no cover - a dependency; the cell path still reads
        return None
    # an empty column is "falling back to string", logged as a warning: as it should be
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    try:
        with zipfile.ZipFile(path) as archive:
            found = _worksheet(archive, sheet)
            markers = _ERROR_TYPES + _cjk_date_styles(archive)
        if found is None:
            return None
        name, part = found
        checked: list[bool] = []
        scan = threading.Thread(target=lambda: checked.append(_plain_sheet(path, part, markers)))
        scan.start()  # the XML is scanned while fastexcel parses it (both release the GIL)
        try:
            loaded = fastexcel.read_excel(str(path)).load_sheet(
                name, schema_sample_rows=None, dtype_coercion="strict"
            )
            infos = loaded.available_columns()
            batch = loaded.to_arrow() if _own_names(infos) else None
        finally:
            scan.join()
        if batch is None or checked != [True]:
            return None
        header = [info.name.strip() for info in infos]
        columns = [_arrow_text(batch.column(j)) for j in range(batch.num_columns)]
        if any(column is None for column in columns):
            return None
        return _filled_rows(header, columns, batch.num_rows)
    except Exception:  # whatever fastexcel refuses, the cell path explains
        return None


def _worksheet(archive: zipfile.ZipFile, sheet: str | None) -> tuple[str, str] | None:
    """The sheet's name and the zip member holding its cells: ``sheet``, or the first
    sheet when it is a worksheet (the cell path finds a worksheet after chart sheets);
    None for a workbook whose dates count from 1904."""
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    properties = next(book.iter(f"{_MAIN}workbookPr"), None)
    if properties is not None and properties.get("date1904") in ("1", "true"):
        return None  # dates counted from 1904 (old Mac workbooks): the cell path's care
    sheets = [s for s in _sheets(archive, book) if sheet is None or s[0] == sheet]
    if not sheets:
        return None
    name, kind, part = sheets[0]
    if name is None or part is None or not kind.endswith("/worksheet"):
        return None  # no name, no cells, or a chart sheet: the cell path reads or refuses it
    return name, part


def _cjk_date_styles(archive: zipfile.ZipFile) -> tuple[bytes, ...]:
    """The style attributes (``s="3"``) of cells formatted with the built-in Chinese,
    Japanese and Korean date formats (27-36, 50-58: 2026年6月30日 is 31), which the cell
    path reads as dates and fastexcel as numbers."""
    try:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    except KeyError:
        return ()
    xfs = next(styles.iter(f"{_MAIN}cellXfs"), None)
    found = []
    for index, xf in enumerate(() if xfs is None else xfs.iter(f"{_MAIN}xf")):
        if int(xf.get("numFmtId") or 0) in _CJK_DATE_FORMATS:
            found += [b' s="%d"' % index, b" s='%d'" % index]
    return tuple(found)


def _plain_sheet(path: Path, part: str, markers: tuple[bytes, ...]) -> bool:
    """Whether the sheet's XML starts with a header of text cells from A1 (so that its
    first row is row 1 and its first column column A, as the cell path counts them) and
    holds none of ``markers`` (error cells, Chinese date styles). Streamed a few megabytes
    at a time."""
    overlap = max(len(m) for m in markers)
    try:
        with zipfile.ZipFile(path) as archive, archive.open(part) as xml:
            first = xml.read(_CHUNK)
            if not _header_at_a1(first) or any(m in first for m in markers):
                return False
            tail = first[-overlap:]
            for chunk in iter(lambda: xml.read(_CHUNK), b""):
                joined = tail + chunk
                if any(m in joined for m in markers):
                    return False
                tail = chunk[-overlap:]
        return True
    except Exception:  # unreadable here: the cell path reads it
        return False


def _header_at_a1(xml: bytes) -> bool:
    """Whether the first row element is row 1, wholly in ``xml``, its first filled cell
    is A1 and every filled cell of it holds text."""
    tag = _ROW_TAG.search(xml)
    if tag is None or tag.group(1).rstrip().endswith(b"/"):
        return False
    number = _ROW_NUMBER.search(tag.group(1))
    end = _ROW_END.search(xml, tag.end())
    if number is None or number.group(1) != b"1" or end is None:
        return False
    filled = [
        attrs
        for attrs, body in _CELL.findall(xml, tag.end(), end.start())
        if body and _HAS_VALUE.search(body)
    ]
    if not filled or not re.search(rb"""\br=["']A1["']""", filled[0]):
        return False
    for attrs in filled:
        kind = _TYPE.search(attrs)
        if kind is None or kind.group(1) not in _TEXT_TYPES:
            return False
    return True


def _own_names(infos: list) -> bool:
    """Whether fastexcel took every column's name from the header as it is there: none
    generated for an empty cell, none it made unique, none empty or repeated once
    stripped (the cell path reports those)."""
    names = [info.name.strip() for info in infos]
    if not names or any(info.column_name_from != "looked_up" for info in infos):
        return False
    if any(not n for n in names) or len(set(names)) != len(names):
        return False
    deduped = (_DEDUPED.match(info.name) for info in infos)
    return not any(m is not None and m.group(1) in {i.name for i in infos} for m in deduped)


def _arrow_text(column: pa.Array) -> pa.Array | None:
    """One typed column as the cell path writes its cells (see :func:`read_excel`), or
    None for a type it does not handle (durations, times)."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _column_text(column.cast(pa.string()))
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_boolean(kind):
        return pc.utf8_upper(column.cast(pa.string()))
    if pa.types.is_integer(kind):
        return column.cast(pa.string())
    if pa.types.is_floating(kind):
        integral = pc.all(pc.equal(pc.floor(column), column)).as_py() is not False
        largest = pc.max(pc.abs(column)).as_py()
        if integral and (largest is None or largest <= _EXACT_INTEGERS):
            return column.cast(pa.int64()).cast(pa.string())
    elif pa.types.is_timestamp(kind):
        earliest = pc.min(column).as_py()
        if earliest is not None and earliest < _FIRST_SURE_DAY:
            return None  # a time of day (day 0), or a day of Excel's false 1900-02-29
        if pc.all(pc.equal(pc.floor_temporal(column, unit="day"), column)).as_py() is not False:
            return column.cast(pa.date32()).cast(pa.string())
    elif pa.types.is_date(kind):
        return column.cast(pa.string())
    else:
        return None
    return pa.array([None if v is None else _cell_text(v) for v in column.to_pylist()], pa.string())


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


def _sheets(
    archive: zipfile.ZipFile, book: ElementTree.Element | None = None
) -> list[tuple[str | None, str, str | None]]:
    """The workbook's sheets in order: (name, relationship type, zip member holding its
    cells or None), from the sheet list (``book``, parsed here if not given) and links."""
    if book is None:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    links = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    by_id = {r.get("Id"): r for r in links.iter(f"{_RELS}Relationship")}
    found = []
    for element in book.iter(f"{_MAIN}sheet"):
        link = by_id.get(element.get(_REL_ID))
        target = None if link is None else link.get("Target")
        if target:
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        kind = "" if link is None else link.get("Type") or ""
        found.append((element.get("name"), kind, target or None))
    return found


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The zip member holding ``sheet``'s cells, from the workbook's sheet list and links."""
    return next((part for name, _, part in _sheets(archive) if name == sheet), None)


def _header(cells: list, label: str) -> list[str]:
    """The column names of row 1, checked: trailing empty cells dropped, none empty, none
    repeated."""
    texts = [_cell_text(c) for c in cells]
    while texts and not texts[-1]:
        texts.pop()
    names: list[str] = []
    for i, text in enumerate(texts):
        if not text:
            raise _file_error(label, f"column {i + 1} has no header", f"第 {i + 1} 列没有列名")
        names.append(text)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise _file_error(label, f"header {dup!r} appears twice", f"列名 {dup!r} 重复")
    return names


def _column_text(values: list | pa.Array) -> pa.Array:
    """One column's cells as text (see :func:`read_excel`); null for an empty cell."""
    try:  # all strings (calamine gives "" for an empty cell): trimmed in Arrow
        strings = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_cell_text(v) for v in values], pa.string())
    trimmed = pc.utf8_trim_whitespace(strings)
    empty = pc.invert(pc.cast(pc.utf8_length(trimmed), pa.bool_()))
    return pc.if_else(empty, pa.nulls(len(trimmed), pa.string()), trimmed)


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
