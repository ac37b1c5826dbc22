"""Text a spreadsheet would run as a formula, written inert in CSV by every writer and read
back as it was (``tiering.cells``)."""

import csv

import duckdb
import ibis
import pyarrow as pa
import pytest

from tiering import cells
from tiering.output import write_table

HOSTILE = ['=HYPERLINK("http://evil.example")', "+86 138", "-减号", "@SUM(A1)", "\t=1+1"]
PLAIN = ["华东机械", "A-1", "", None, "'quoted"]


def test_safe_text_quotes_formulas_only():
    """Given text starting with =, +, -, @ or a tab, when made safe, then it gets an
    apostrophe; other text, numbers and None are left as they are."""
    assert [cells.safe_text(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert [cells.safe_text(v) for v in PLAIN] == PLAIN
    assert [cells.safe_text(v) for v in (-5, 1.5)] == [-5, 1.5]


def _read(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("through", ["arrow", "duckdb"])
def test_csv_from_either_writer_is_inert(tmp_path, through):
    """Given a table of names and (negative) amounts, when written to CSV from Arrow or by
    DuckDB itself, then the risky names carry an apostrophe and the amounts are numbers."""
    table = pa.table({"name": HOSTILE + PLAIN, "amount": [-1.5] * 10})
    if through == "duckdb":
        table = ibis.duckdb.connect().create_table("t", table)
    rows = _read(write_table(table, tmp_path / "out.csv"))
    expected = ["'" + v for v in HOSTILE] + ["华东机械", "A-1", "", "", "'quoted"]
    assert [r["name"] for r in rows] == expected
    assert {r["amount"] for r in rows} == {"-1.5"}


def test_the_apostrophe_comes_off_when_read_back():
    """Given the safe form of each value, when read with :func:`cells.unquote_sql`, then
    the original text comes back; an apostrophe before anything else stays."""
    values = [cells.safe_text(v) for v in HOSTILE] + ["'quoted", "A-1"]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR, i INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [[v, i] for i, v in enumerate(values)])
    back = [
        r[0] for r in con.execute(f"SELECT {cells.unquote_sql('v')} FROM t ORDER BY i").fetchall()
    ]
    assert back == [*HOSTILE, "'quoted", "A-1"]
