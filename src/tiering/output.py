"""Writing results (CSV, Parquet, Excel) atomically, and summarising them per tier.

Every file is written to a temporary file beside the target and renamed into place, so a
failed or interrupted run never leaves a half-written output. CSV is UTF-8 with a BOM so
that Excel opens Chinese text correctly.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tiering import cells
from tiering.exceptions import OutputError

EXCEL_MAX_ROWS = 1_048_575  # one row is the header


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    formats = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}
    if suffix not in formats:
        raise OutputError(
            f"{path}: unknown output type {suffix or '(none)'}: use .csv, .parquet or .xlsx",
            f"{path}：无法识别的输出类型 {suffix or '（无）'}：请使用 .csv、.parquet 或 .xlsx",
        )
    return formats[suffix]


def write_table(table: pa.Table | ir.Table, path: str | Path, sheet: str = "tiers") -> Path:
    """Write ``table`` to ``path`` (format by extension), atomically.

    ``table`` is an Arrow table or an Ibis table. An Ibis table on DuckDB is written to CSV
    and Parquet by DuckDB itself (in parallel, without passing through Python); anything
    else is computed to Arrow first.
    """
    path = Path(path)
    fmt = output_format(path)
    duckdb_table = isinstance(table, ir.Table) and table._find_backend().name == "duckdb"
    if isinstance(table, ir.Table) and not (duckdb_table and fmt in ("csv", "parquet")):
        table = table.to_pyarrow()
        duckdb_table = False
    # an Excel file is always written from Arrow, so its size is known without a query
    rows = 0 if duckdb_table else table.num_rows
    if fmt == "xlsx" and rows > EXCEL_MAX_ROWS:
        raise OutputError(
            f"{path}: {rows:,} rows do not fit in an Excel sheet "
            f"({EXCEL_MAX_ROWS:,} at most): write .csv or .parquet",
            f"{path}：{rows:,} 行超出 Excel 工作表上限（{EXCEL_MAX_ROWS:,} 行）："
            "请输出 .csv 或 .parquet",
        )

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            if fmt == "csv":
                f.write(b"\xef\xbb\xbf")  # so that Excel reads the UTF-8 text as such
                # text a spreadsheet would run as a formula gets an apostrophe in front
                if duckdb_table:
                    f.flush()
                    _duckdb_copy(cells.safe_ibis(table), tmp, "csv", append=True)
                else:
                    pacsv.write_csv(cells.safe_arrow(table), f)
            elif fmt == "parquet":
                if duckdb_table:
                    _duckdb_copy(table, tmp, "parquet")
                else:
                    pq.write_table(table, f)
            else:
                _write_xlsx(table, f, sheet)

    return write_atomically(path, write)


def write_atomically(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(temporary_path)`` and rename the file it wrote to ``path``.

    The temporary file is in the same folder (so the rename is atomic) and is removed if
    ``write`` fails: a failed or interrupted run never leaves a half-written file, and an
    existing file stays as it was. The folder must exist."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(
            f"{path}: folder {folder} does not exist", f"{path}：文件夹 {folder} 不存在"
        )
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _duckdb_copy(table: ir.Table, target: str, fmt: str, append: bool = False) -> None:
    """Write an Ibis table on DuckDB to a file with DuckDB's COPY (through the backend's own
    writers, which first register the in-memory tables the query reads, such as a
    ``--previous`` file); with ``append``, after what the file holds."""
    con = table._find_backend()
    if not append:
        con.to_parquet(table, target) if fmt == "parquet" else con.to_csv(table, target)
        return
    part = target + ".part"
    try:
        con.to_csv(table, part)
        with open(target, "ab") as out, open(part, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    finally:
        if os.path.exists(part):
            os.unlink(part)


def _write_xlsx(table: pa.Table, f, sheet: str) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(f, {"constant_memory": True, "in_memory": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    names = table.column_names
    for j, name in enumerate(names):
        ws.write_string(0, j, name, bold)
    ws.freeze_panes(1, 1)
    row = 1
    for batch in table.to_batches(max_chunksize=10_000):
        cols = [batch.column(j).to_pylist() for j in range(batch.num_columns)]
        for i in range(batch.num_rows):
            for j, col in enumerate(cols):
                v = col[i]
                if v is None:
                    continue
                if isinstance(v, Decimal):
                    ws.write_number(row, j, float(v))
                elif isinstance(v, bool):
                    ws.write_boolean(row, j, v)
                elif isinstance(v, int | float):
                    ws.write_number(row, j, v)
                elif isinstance(v, dt.date):
                    ws.write_datetime(row, j, dt.datetime(v.year, v.month, v.day), date_fmt)
                else:
                    ws.write_string(row, j, str(v))
            row += 1
    book.close()


def _per_tier(results: pa.Table | ir.Table) -> list[dict]:
    if isinstance(results, ir.Table):
        grouped = results.group_by("tier").aggregate(
            customer_id_count=results.count(),
            revenue_sum=results.revenue.sum(),
            profit_sum=results.profit.sum(),
        )
        return grouped.to_pyarrow().to_pylist()
    grouped = results.group_by("tier").aggregate(
        [("customer_id", "count"), ("revenue", "sum"), ("profit", "sum")]
    )
    return grouped.to_pylist()


def summarise(results: pa.Table | ir.Table, tier_names: list[str]) -> list[dict]:
    """Customers, revenue and profit per tier, with shares, best tier first; the last row
    (tier None) is the total. ``results`` is an Arrow table or an Ibis table (computed
    where it lives)."""
    rows = {r["tier"]: r for r in _per_tier(results)}
    total_n = sum(r["customer_id_count"] for r in rows.values())
    tot_rev = sum((r["revenue_sum"] or 0) for r in rows.values())
    tot_pro = sum((r["profit_sum"] or 0) for r in rows.values())
    out = []
    for name in tier_names:
        r = rows.get(name, {"customer_id_count": 0, "revenue_sum": 0, "profit_sum": 0})
        n, rev, pro = r["customer_id_count"], r["revenue_sum"] or 0, r["profit_sum"] or 0
        out.append(
            {
                "tier": name,
                "customers": n,
                "customers_share": n / total_n if total_n else 0.0,
                "revenue": rev,
                "revenue_share": float(rev / tot_rev) if tot_rev else 0.0,
                "profit": pro,
                "profit_share": float(pro / tot_pro) if tot_pro else 0.0,
            }
        )
    out.append(
        {
            "tier": None,
            "customers": total_n,
            "customers_share": 1.0 if total_n else 0.0,
            "revenue": tot_rev,
            "revenue_share": 1.0 if tot_rev else 0.0,
            "profit": tot_pro,
            "profit_share": 1.0 if tot_pro else 0.0,
        }
    )
    return out


def movements(results: pa.Table | ir.Table) -> dict[str, int]:
    """Counts of ``change`` values (up/down/same/new/changed)."""
    if isinstance(results, ir.Table):
        if "change" not in results.columns:
            return {}
        counts = results.group_by("change").aggregate(n=results.count()).to_pyarrow()
        return {r["change"]: r["n"] for r in counts.to_pylist() if r["change"] is not None}
    if "change" not in results.column_names:
        return {}
    counts = pc.value_counts(results.column("change")).to_pylist()
    return {c["values"]: c["counts"] for c in counts if c["values"] is not None}
