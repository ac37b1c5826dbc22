"""Speed and memory of reading the demo company's customers.xlsx, against the openpyxl reader
it replaced.

Usage::

    python bench/excel.py                       # 100,000 customers (a ~7.4 MB workbook)
    python bench/excel.py --customers 20000     # a quick run

The workbook is ``tiering.demo.generate_demo(..., fmt="xlsx")``'s customers.xlsx, cached in
``bench/.data/excel/`` keyed by size, seed and a hash of the generator's source. Then, each in
a fresh subprocess started through ``bench/_measure.py`` (so that ``ru_maxrss`` is the
child's own):

* **openpyxl**: :func:`read_excel_openpyxl` below, a copy of the reader as it was (openpyxl
  in read-only mode), the baseline;
* **cells**: ``tiering.excel._read_cells``, the cell path (python-calamine, each cell with
  its own type), which reads every workbook the column path declines;
* **read_excel**: :func:`tiering.excel.read_excel`: the column path (fastexcel) where it is
  sure to give the cell path's table, as on this workbook;
* **read_table**: :func:`tiering.data.read_table` on the file: the Excel reader, then the
  table registered and described in DuckDB (what an import or ``tiering evaluate`` does
  before converting columns).

Printed per run: the seconds of the call itself (imports of the reader inside the call
count, as they do for a user: the reader is imported lazily) and its CPU seconds (a steadier
figure when other work shares the cores), the seconds of the whole process, the ratio of the
call against the openpyxl baseline, and the peak RSS of the process. Then whether the
baseline's table and the new reader's table are identical (compared as Arrow tables, column
by column), and the cell path's and read_excel's. There are no timed assertions; the target
is reading in at most 1.5 s.

:func:`measure_excel` runs the same and returns the figures as a dict (for
``bench/evaluate.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import inspect
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MEASURE = BENCH / "_measure.py"
CACHE = BENCH / ".data" / "excel"
MODES = ("openpyxl", "cells", "read_excel", "read_table")
TARGET_SECONDS = 1.5


# --------------------------------------------------------------------------------------------
# the baseline: the openpyxl reader as tiering.data had it (errors as ValueError)


def read_excel_openpyxl(path: Path, sheet: str | None, label: str):
    """One sheet as an all-text Arrow table with a ``_row`` column (spreadsheet rows)."""
    import openpyxl
    import pyarrow as pa

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ValueError(f"{label}: no sheet {sheet!r}")
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ValueError(f"{label}: the sheet is empty")
        names = [None if h is None else str(h).strip() for h in header]
        while names and not names[-1]:
            names.pop()
        for i, n in enumerate(names):
            if not n:
                raise ValueError(f"{label}: column {i + 1} has no header")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"{label}: header {dup!r} appears twice")
        columns: list[list[str | None]] = [[] for _ in names]
        numbers: list[int] = []
        width = len(names)
        for index, row in enumerate(rows, start=2):
            cells = row[:width]
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            numbers.append(index)
            for j in range(width):
                columns[j].append(_cell_text_openpyxl(cells[j] if j < len(cells) else None))
    finally:
        book.close()
    data = {n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)}
    data["_row"] = pa.array(numbers, pa.int64())
    return pa.table(data)


def _cell_text_openpyxl(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    text = str(value).strip()
    return text or None


# --------------------------------------------------------------------------------------------
# data


def demo_workbook(customers: int, seed: int = 1, cache: Path = CACHE, regenerate=False) -> Path:
    """The demo company's customers.xlsx (generated once, then reused)."""
    from tiering import demo

    source = inspect.getsource(demo).encode()
    key = f"c{customers}_s{seed}_{hashlib.sha256(source).hexdigest()[:10]}"
    target = cache / key / "customers.xlsx"
    if target.exists() and not regenerate:
        print(f"data: reusing {os.path.relpath(target, ROOT)}", flush=True)
        return target
    for stale in cache.glob(f"c{customers}_s{seed}_*"):  # made by an older generator
        shutil.rmtree(stale, ignore_errors=True)
    tmp = cache / f".{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"data: generating {customers:,} customers (seed {seed}) ...", flush=True)
    t0 = time.perf_counter()
    files = demo.generate_demo(tmp, customers=customers, seed=seed, fmt="xlsx")
    for other in (files.transactions, files.payments):  # only the workbook is read here
        if other is not None:
            other.unlink()
    target.parent.mkdir(parents=True)
    files.customers.rename(target)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"data: generated in {time.perf_counter() - t0:.1f}s -> {os.path.relpath(target, ROOT)}")
    return target


# --------------------------------------------------------------------------------------------
# one timed read (the child process)


def child(mode: str, path: Path, out: Path) -> None:
    """Read ``path`` the ``mode`` way; write the call's seconds to ``out`` (JSON) and the table
    next to it (Arrow IPC) for the comparison."""
    import pyarrow as pa

    cpu0 = _cpu()
    if mode == "openpyxl":
        t0 = time.perf_counter()
        table = read_excel_openpyxl(path, None, str(path))
        seconds = time.perf_counter() - t0
    elif mode in ("cells", "read_excel"):
        from tiering import excel

        read = excel._read_cells if mode == "cells" else excel.read_excel
        t0 = time.perf_counter()
        table = read(path, None, str(path))
        seconds = time.perf_counter() - t0
    else:
        from tiering.data import read_table

        t0 = time.perf_counter()
        src, _ = read_table(path, "customers")
        seconds = time.perf_counter() - t0
        table = None
        cpu = _cpu() - cpu0
        rows = src.db.execute(f"SELECT count(*) FROM {src.view}").fetchone()[0]
    if table is not None:
        cpu = _cpu() - cpu0
        rows = table.num_rows
        sink = pa.OSFile(str(out.with_suffix(".arrow")), "wb")
        with sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    out.write_text(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows}), encoding="utf-8")


def _cpu() -> float:
    """User + system CPU seconds of this process so far (less swayed by a busy machine than
    wall time)."""
    t = os.times()
    return t.user + t.system


# --------------------------------------------------------------------------------------------
# the parent


def _run(mode: str, path: Path, work: Path) -> dict:
    out = work / f"{mode}.json"
    measured = work / f"{mode}.measure.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, str(path), str(out)]
    subprocess.run([sys.executable, str(MEASURE), str(measured), *cmd], check=True, cwd=ROOT)
    process = json.loads(measured.read_text(encoding="utf-8"))
    if process["returncode"] != 0:
        raise SystemExit(f"{mode}: the read failed (exit code {process['returncode']})")
    call = json.loads(out.read_text(encoding="utf-8"))
    return {
        "seconds": call["seconds"],
        "cpu_seconds": call["cpu"],
        "process_seconds": process["seconds"],
        "peak_rss_mib": process["maxrss_kib"] / 1024,
        "rows": call["rows"],
    }


def _identical(work: Path) -> bool:
    import pyarrow as pa

    tables = [pa.ipc.open_file(str(work / f"{m}.arrow")).read_all() for m in MODES[:3]]
    return tables[0].equals(tables[1]) and tables[0].equals(tables[2])


def measure_excel(customers: int = 100_000, seed: int = 1, regenerate: bool = False) -> dict:
    """Time the four reads of the demo's customers.xlsx of ``customers`` rows.

    Returns ``{"customers", "file_mib", "identical", "runs": {mode: {"seconds",
    "cpu_seconds", "process_seconds", "peak_rss_mib", "rows", "ratio"}}}``; ``seconds`` and
    ``cpu_seconds`` are the call's wall and CPU time, ``ratio`` its seconds over the openpyxl
    baseline's, ``identical`` whether the baseline's table, the cell path's and
    :func:`tiering.excel.read_excel`'s are equal.
    """
    path = demo_workbook(customers, seed, regenerate=regenerate)
    with tempfile.TemporaryDirectory(prefix="bench-excel-") as tmp:
        work = Path(tmp)
        runs = {}
        for mode in MODES:
            print(f"run: {mode} ...", flush=True)
            runs[mode] = _run(mode, path, work)
        identical = _identical(work)
    base = runs["openpyxl"]["seconds"]
    for run in runs.values():
        run["ratio"] = run["seconds"] / base
    return {
        "customers": customers,
        "file_mib": path.stat().st_size / 2**20,
        "identical": identical,
        "runs": runs,
    }


def report(result: dict) -> None:
    print()
    print(
        f"customers.xlsx, {result['customers']:,} customers, {result['file_mib']:.1f} MiB; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'read':<11} {'call s':>8} {'call CPU s':>11} {'process s':>10} {'x openpyxl':>11} "
        f"{'peak RSS':>10}"
    )
    for mode, run in result["runs"].items():
        print(
            f"{mode:<11} {run['seconds']:>8.2f} {run['cpu_seconds']:>11.2f} "
            f"{run['process_seconds']:>10.2f} {run['ratio']:>11.3f} {run['peak_rss_mib']:>7.0f} MiB"
        )
    identical = "yes" if result["identical"] else "NO"
    print(f"tables identical (openpyxl, cells, read_excel): {identical}")
    new = result["runs"]["read_excel"]["seconds"]
    verdict = "met" if new <= TARGET_SECONDS else "not met"
    print(f"target: reading in at most {TARGET_SECONDS} s: {verdict} ({new:.2f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regenerate", action="store_true", help="write the workbook anew")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, path, out = args.child
        child(mode, Path(path), Path(out))
        return 0
    result = measure_excel(args.customers, args.seed, args.regenerate)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
