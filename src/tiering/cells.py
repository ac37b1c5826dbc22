"""Text cells that a spreadsheet would execute, made safe in exports and read back as they
were ("CSV injection").

Excel, WPS and LibreOffice read a CSV cell starting with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula: a customer named
``=HYPERLINK("http://…","点击")`` would become a live link in the sales manager's sheet.
Every CSV we write puts an apostrophe before such text (the spreadsheet shows the text,
without the apostrophe, and computes nothing); numbers are written as numbers and never
touched. The imports take the apostrophe off again, so that our own exports are read
back unchanged. In .xlsx files text is written as text cells, which are never formulas.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

#: What a cell may start with for a spreadsheet to read it as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_PATTERN = "^[=+\\-@\t\r]"


def safe_text(value):
    """``value`` as a CSV writer should write it: text that would be a formula gets an
    apostrophe in front; anything else (numbers, dates, None) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_arrow(table: pa.Table) -> pa.Table:
    """``table`` with :func:`safe_text` applied to every text column (vectorised)."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, _PATTERN)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def safe_ibis(table):
    """``table`` (an Ibis table) with :func:`safe_text` applied to every text column, as
    an expression: DuckDB writes the CSV without the rows passing through Python."""
    import ibis

    risky = {
        name: ibis.ifelse(table[name].re_search(_PATTERN), "'" + table[name], table[name])
        for name, dtype in table.schema().items()
        if dtype.is_string()
    }
    return table.mutate(**risky) if risky else table


def unquote_sql(expression: str) -> str:
    """DuckDB SQL taking the apostrophe of :func:`safe_text` off ``expression`` (text)."""
    return f"regexp_replace({expression}, '^''([=+\\-@\t\r])', '\\1')"
