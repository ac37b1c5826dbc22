"""Speed benchmark: ``tiering evaluate`` against a straightforward pandas implementation.

Usage::

    python bench/evaluate.py                      # 1,000,000 customers / ~10,000,000 transactions
    python bench/evaluate.py --customers 20000 --csv-customers 20000 --excel-customers 2000

Cases, each run end to end as subprocesses (read, grade, write parquet):

* ``examples/{scorecard,pareto,rfm}.yaml`` on the Parquet demo company (``--customers``);
* ``examples/scorecard.yaml`` on the same company written as CSV (``--csv-customers``,
  200,000 customers / ~2,000,000 transactions by default);
* reading a ``customers.xlsx`` of ``--excel-customers`` rows (``bench/excel.py``).

For each rule file the engine runs twice: with its full explained output (tier, score,
reason, gap, what is missing, the metrics, the customer's own columns, best first) and with
``--columns`` set to what the pandas reference writes (``customer_id, tier`` and, for RFM,
``rfm_code``). ``--before CMD`` also runs an earlier engine and compares its full output with
this one's, column by column. Wall time and peak RSS of each child are measured, then the
outputs are compared customer by customer; the process exits non-zero when any tier differs.
The start-up of ``tiering --help`` is timed beside ``python -c pass``. The demo data comes
from ``tiering.demo.generate_demo`` and is cached in ``bench/.data/`` keyed by size, seed,
format and a hash of the generator's source.

Each command runs under ``bench/_measure.py`` (a small stdlib-only launcher that times it and
reads its memory high-water mark, ``VmHWM``). Peak RSS is the larger of that peak (the
largest single process) and the peak of the summed RSS of the command's process tree sampled
every 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import inspect
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
EXAMPLES = ROOT / "examples"
REFERENCE = BENCH / "pandas_reference.py"
MEASURE = BENCH / "_measure.py"
METHODS = ("scorecard", "pareto", "rfm")


# --------------------------------------------------------------------------------------------
# data


def demo_data(
    customers: int, seed: int, cache: Path, regenerate: bool, fmt: str = "parquet"
) -> Path:
    """Directory holding customers.parquet / transactions.parquet (``fmt="csv"``:
    customers.csv / 交易记录.csv), generated once, then reused."""
    from tiering import demo

    source = inspect.getsource(demo).encode()
    suffix = "" if fmt == "parquet" else f"_{fmt}"
    key = f"c{customers}_s{seed}{suffix}_{hashlib.sha256(source).hexdigest()[:10]}"
    target = cache / key
    done = target / ".complete"
    if done.exists() and not regenerate:
        print(f"data: reusing {os.path.relpath(target, ROOT)}", flush=True)
        return target
    shutil.rmtree(target, ignore_errors=True)
    for stale in cache.glob(f"c{customers}_s{seed}{suffix}_*"):  # made by an older generator
        if suffix or stale.name.split("_")[2] != "csv":  # not the CSV copy of that size
            shutil.rmtree(stale, ignore_errors=True)
    tmp = cache / f".{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    print(f"data: generating {customers:,} customers (seed {seed}) ...", flush=True)
    t0 = time.perf_counter()
    demo.generate_demo(tmp, customers=customers, seed=seed, fmt=fmt)
    for name in input_files(tmp, fmt):
        if not (tmp / name).exists():
            raise SystemExit(f"tiering.demo.generate_demo did not write {name} in {tmp}")
    (tmp / ".complete").write_text(f"{dt.datetime.now().isoformat()}\n")
    tmp.rename(target)
    print(f"data: generated in {time.perf_counter() - t0:.1f}s -> {os.path.relpath(target, ROOT)}")
    return target


def input_files(folder: Path, fmt: str) -> tuple[Path, Path]:
    """The customers and transactions files of a demo company written as ``fmt``."""
    if fmt == "csv":
        return folder / "customers.csv", folder / "交易记录.csv"
    return folder / "customers.parquet", folder / "transactions.parquet"


def row_count(path: Path) -> int:
    if path.suffix == ".csv":
        with open(path, "rb") as f:
            return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) - 1
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


# --------------------------------------------------------------------------------------------
# measuring a subprocess


@dataclass
class Run:
    cmd: list[str]
    returncode: int
    seconds: float
    peak_rss_mb: float
    maxrss_mb: float  # the command's own high-water RSS (bench/_measure.py)
    tree_rss_mb: float  # peak of the summed RSS of the tree, sampled every 50 ms
    log: str


def _tree_rss(pid: int) -> int:
    """Summed RSS of the descendants of ``pid`` (the measuring launcher itself excluded)."""
    try:
        procs = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def run_measured(cmd: list[str], log_path: Path) -> Run:
    """Run ``cmd`` under bench/_measure.py (wall time, peak RSS) while sampling its tree."""
    peak = [0]
    stop = threading.Event()
    result = log_path.with_suffix(".json")
    result.unlink(missing_ok=True)
    with open(log_path, "wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, str(MEASURE), str(result), *cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )

        def sample() -> None:
            while True:
                peak[0] = max(peak[0], _tree_rss(launcher.pid))
                if stop.wait(0.05):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        launcher.wait()
        stop.set()
        sampler.join()
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if launcher.returncode != 0 or not result.exists():
        return Run(cmd, launcher.returncode or 1, float("nan"), 0.0, 0.0, 0.0, text)
    measured = json.loads(result.read_text(encoding="utf-8"))
    maxrss = measured["maxrss_kib"] / 1024
    tree = peak[0] / 2**20
    return Run(
        cmd=cmd,
        returncode=measured["returncode"],
        seconds=measured["seconds"],
        peak_rss_mb=max(maxrss, tree),
        maxrss_mb=maxrss,
        tree_rss_mb=tree,
        log=text,
    )


def engine_command() -> list[str]:
    script = Path(sys.executable).with_name("tiering")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "tiering"]


def engine_available(cmd: list[str]) -> tuple[bool, str]:
    try:
        res = subprocess.run(
            [*cmd, "evaluate", "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return res.returncode == 0, (res.stdout + res.stderr).strip()[-2000:]


# --------------------------------------------------------------------------------------------
# comparing outputs


@dataclass
class Comparison:
    identical: bool
    rows_engine: int
    rows_reference: int
    mismatches: int
    details: list[str]


def compare(
    method: str, engine_out: Path, ref_out: Path, data: Path, as_of: str | None
) -> Comparison:
    eng = pd.read_parquet(engine_out)
    ref = pd.read_parquet(ref_out)
    details: list[str] = []
    for col in ("customer_id", "tier"):
        if col not in eng.columns:
            return Comparison(False, len(eng), len(ref), -1, [f"engine output lacks {col!r}"])
    for frame, who in ((eng, "engine"), (ref, "reference")):
        frame["customer_id"] = frame["customer_id"].astype("str")
        frame["tier"] = frame["tier"].astype("str")
        dups = int(frame["customer_id"].duplicated().sum())
        if dups:
            details.append(f"{who} output has {dups} duplicated customer_id")
    keys = (
        ["tier", "rfm_code"]
        if "rfm_code" in ref.columns and "rfm_code" in eng.columns
        else ["tier"]
    )
    if method == "rfm" and "rfm_code" not in eng.columns:
        details.append("engine output has no rfm_code column (only tiers compared)")
    both = eng.merge(
        ref, on="customer_id", how="outer", suffixes=("_engine", "_ref"), indicator=True
    )
    only_eng = both["_merge"] == "left_only"
    only_ref = both["_merge"] == "right_only"
    if only_eng.any():
        details.append(f"{int(only_eng.sum())} customer_id only in the engine output")
    if only_ref.any():
        details.append(f"{int(only_ref.sum())} customer_id only in the reference output")
    differ = pd.Series(False, index=both.index)
    for k in keys:
        differ |= both[f"{k}_engine"].astype("str") != both[f"{k}_ref"].astype("str")
    bad = both[differ | only_eng | only_ref]
    n_bad = len(bad)
    if n_bad:
        crosstab = pd.crosstab(
            bad["tier_engine"].fillna("<missing>"), bad["tier_ref"].fillna("<missing>")
        )
        details.append("engine tier (rows) x reference tier (columns) among mismatches:")
        details.append(crosstab.to_string())
        details.extend(explain(method, bad.head(10), eng, data, as_of))
    identical = n_bad == 0 and not any("duplicated" in d for d in details)
    return Comparison(identical, len(eng), len(ref), n_bad, details)


def explain(
    method: str, bad: pd.DataFrame, eng: pd.DataFrame, data: Path, as_of: str | None
) -> list[str]:
    """Reference metrics (recomputed in-process) and engine columns for a few mismatches."""
    sys.path.insert(0, str(BENCH))
    import pandas_reference as pr

    rules = pr.load_rules(EXAMPLES / f"{method}.yaml")
    day = dt.date.fromisoformat(as_of) if as_of else None
    metrics, grades = pr.evaluate(
        rules, str(data / "customers.parquet"), str(data / "transactions.parquet"), day
    )
    ids = [i for i in bad["customer_id"] if i in metrics.index]
    lines = ["first mismatches, reference metrics (money in cents) and grading:"]
    with pd.option_context("display.width", 250, "display.max_columns", 50):
        lines.append(metrics.loc[ids].join(grades.loc[ids]).to_string())
        lines.append("engine output rows:")
        lines.append(
            eng.set_index("customer_id")
            .loc[[i for i in ids if i in set(eng["customer_id"])]]
            .to_string()
        )
    if method == "scorecard":
        raw = grades["raw_score"]
        frac = (raw * 100) % 1
        fragile = int(((frac - 0.5).abs() < 1e-6).sum())
        lines.append(f"scorecard: {fragile} customers have a raw score within 1e-8 of x.xx5")
    return lines


# --------------------------------------------------------------------------------------------
# report


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("tiering", "pandas", "pyarrow", "duckdb", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # informational only
            versions[mod] = "?"
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical / {psutil.cpu_count(logical=False)} physical"
        f" (affinity {len(os.sched_getaffinity(0))})",
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


#: Result columns of the like-for-like runs: what the pandas reference writes.
NARROW = {"rfm": "customer_id,tier,rfm_code"}


@dataclass
class Case:
    """One input set: a label, the files and the rule files run on them."""

    label: str
    customers: Path
    transactions: Path
    methods: list[str]


def compare_before(method: str, before_out: Path, engine_out: Path) -> tuple[bool, str]:
    """Whether the current engine's full output equals an earlier engine's, value by value
    in every column (types may widen, e.g. int16 -> int32); the differing columns if not."""
    old, new = pd.read_parquet(before_out), pd.read_parquet(engine_out)
    if list(old.columns) != list(new.columns) or len(old) != len(new):
        return (
            False,
            f"columns {list(old.columns)} -> {list(new.columns)}, rows {len(old)} -> {len(new)}",
        )
    differ = [c for c in old.columns if not old[c].astype("object").equals(new[c].astype("object"))]
    return not differ, ", ".join(differ)


def run_case(case: Case, args, engine: list[str], before: list[str] | None, work: Path):
    """Every rule file of ``case``: the engine's full output, the engine writing what the
    reference writes (``--columns``), the pandas reference and, with ``before``, an earlier
    engine; medians of ``args.repeat`` runs, outputs compared."""
    extra = ["--as-of", args.as_of] if args.as_of else []
    results, failed = [], False
    for method in case.methods:
        rules = EXAMPLES / f"{method}.yaml"
        io = ["--customers", str(case.customers), "--transactions", str(case.transactions)]
        cmds: dict[str, list[str]] = {}
        if not args.no_engine:
            cmds["tiering"] = [*engine, "evaluate", str(rules), *io]
            cmds["narrow"] = [*cmds["tiering"], "--columns", NARROW.get(method, "customer_id,tier")]
        if before:
            cmds["before"] = [*before, "evaluate", str(rules), *io]
        cmds["pandas"] = [sys.executable, str(REFERENCE), str(rules), *io]
        runs: dict[str, list[Run]] = {k: [] for k in cmds}
        tag = f"{case.label.split()[0]}.{method}"
        for i in range(args.repeat):
            for impl, cmd in cmds.items():
                out = work / f"{tag}.{impl}.parquet"
                out.unlink(missing_ok=True)
                run = run_measured([*cmd, "--out", str(out), *extra], work / f"{tag}.{impl}.log")
                print(
                    f"{case.label:22} {method:9} {impl:7} run {i + 1}: {run.seconds:8.2f}s"
                    f" peak {run.peak_rss_mb:8.0f} MB  exit {run.returncode}",
                    flush=True,
                )
                if run.returncode != 0 or not out.exists():
                    print(f"--- {impl} failed ({' '.join(run.cmd)}):\n{run.log[-4000:]}")
                    failed = True
                runs[impl].append(run)
        if failed:
            break
        med = {k: sorted(v, key=lambda r: r.seconds)[len(v) // 2] for k, v in runs.items()}
        row = {
            "case": case.label,
            "method": method,
            "pandas_s": med["pandas"].seconds,
            "pandas_rss_mb": med["pandas"].peak_rss_mb,
        }
        if not args.no_engine:
            data = case.customers.parent
            cmps = {
                impl: compare(
                    method,
                    work / f"{tag}.{impl}.parquet",
                    work / f"{tag}.pandas.parquet",
                    data,
                    args.as_of,
                )
                for impl in ("tiering", "narrow")
            }
            row.update(
                tiering_s=med["tiering"].seconds,
                tiering_rss_mb=med["tiering"].peak_rss_mb,
                narrow_s=med["narrow"].seconds,
                narrow_rss_mb=med["narrow"].peak_rss_mb,
                identical=all(c.identical for c in cmps.values()),
                mismatches=max(c.mismatches for c in cmps.values()),
                details=[d for c in cmps.values() for d in c.details],
            )
            for impl, cmp in cmps.items():
                if cmp.details:
                    print(f"--- {method} ({impl}): {cmp.mismatches} mismatching customers")
                    print("\n".join(cmp.details))
            if before:
                same, differ = compare_before(
                    method, work / f"{tag}.before.parquet", work / f"{tag}.tiering.parquet"
                )
                row.update(before_s=med["before"].seconds, same_as_before=same)
                if not same:
                    print(f"--- {method}: the output differs from the earlier engine's: {differ}")
        row["runs"] = {k: [asdict(r) | {"log": r.log[-2000:]} for r in v] for k, v in runs.items()}
        results.append(row)
    return results, failed


def startup(engine: list[str], runs: int = 7) -> dict[str, float]:
    """Median wall seconds of ``tiering --help`` and of ``python -c pass`` (the floor)."""

    def median(cmd: list[str]) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
        return sorted(times)[runs // 2]

    return {"help": median([*engine, "--help"]), "python": median([sys.executable, "-c", "pass"])}


def excel_case(customers: int) -> dict | None:
    """Reading the demo company's customers.xlsx (bench/excel.py), when that script is here."""
    sys.path.insert(0, str(BENCH))
    try:
        from excel import measure_excel
    except ImportError:
        return None
    return measure_excel(customers)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument(
        "--csv-customers",
        type=int,
        default=200_000,
        help="also the scorecard from CSV files of this many customers (0: skip)",
    )
    ap.add_argument(
        "--excel-customers",
        type=int,
        default=100_000,
        help="also reading a customers.xlsx of this many rows (0: skip)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per implementation (median kept)")
    ap.add_argument("--as-of", default=None, help="passed to both implementations")
    ap.add_argument("--cache", type=Path, default=BENCH / ".data")
    ap.add_argument("--regenerate", action="store_true", help="ignore cached demo data")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--no-engine", action="store_true", help="time the pandas reference only")
    ap.add_argument(
        "--engine", default=None, help="engine command (default: the tiering script of this venv)"
    )
    ap.add_argument(
        "--before",
        default=None,
        help="an earlier engine's command (e.g. 'env PYTHONPATH=OLD/src python -m tiering'): "
        "timed too, and its full outputs compared with this engine's, column by column",
    )
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]

    info = machine_info()
    print("machine:")
    for k, v in info.items():
        print(f"  {k:9} {v}")

    engine = shlex.split(args.engine) if args.engine else engine_command()
    before = shlex.split(args.before) if args.before else None
    for cmd in [c for c in (None if args.no_engine else engine, before) if c]:
        ok, msg = engine_available(cmd)
        if not ok:
            print(f"`{' '.join(cmd)} evaluate --help` failed:\n{msg}", file=sys.stderr)
            return 2

    cases = []
    data = demo_data(args.customers, args.seed, args.cache, args.regenerate)
    cases.append(Case(f"{args.customers // 1000}k parquet", *input_files(data, "parquet"), methods))
    if args.csv_customers:
        csv_data = demo_data(args.csv_customers, args.seed, args.cache, args.regenerate, "csv")
        label = f"{args.csv_customers // 1000}k csv"
        cases.append(Case(label, *input_files(csv_data, "csv"), ["scorecard"]))
    for case in cases:
        print(
            f"data: {case.label}: {row_count(case.customers):,} customers, "
            f"{row_count(case.transactions):,} transactions"
        )
    work = args.cache / "runs"
    work.mkdir(parents=True, exist_ok=True)

    results, failed = [], False
    for case in cases:
        found, failed = run_case(case, args, engine, before, work)
        results += found
        if failed:
            break
    excel = None if failed or not args.excel_customers else excel_case(args.excel_customers)
    started = None if args.no_engine else startup(engine)

    header = [
        "case",
        "method",
        "tiering s",
        "narrow s",
        "pandas s",
        "pandas/tiering",
        "pandas/narrow",
        "tiering peak MB",
        "narrow peak MB",
        "pandas peak MB",
        "tiers identical",
    ]
    if before:
        header[5:5] = ["before s", "before/tiering"]
        header.append("same as before")
    rows = []
    for r in results:
        if args.no_engine:
            line = [r["case"], r["method"], "-", "-", f"{r['pandas_s']:.2f}", "-", "-", "-", "-"]
            rows.append([*line, f"{r['pandas_rss_mb']:.0f}", "-"])
            continue
        line = [
            r["case"],
            r["method"],
            f"{r['tiering_s']:.2f}",
            f"{r['narrow_s']:.2f}",
            f"{r['pandas_s']:.2f}",
            f"{r['pandas_s'] / r['tiering_s']:.2f}x",
            f"{r['pandas_s'] / r['narrow_s']:.2f}x",
            f"{r['tiering_rss_mb']:.0f}",
            f"{r['narrow_rss_mb']:.0f}",
            f"{r['pandas_rss_mb']:.0f}",
            "yes" if r["identical"] else f"NO ({r['mismatches']} differ)",
        ]
        if before:
            line[5:5] = [f"{r['before_s']:.2f}", f"{r['before_s'] / r['tiering_s']:.2f}x"]
            line.append("yes" if r["same_as_before"] else "NO")
        rows.append(line)
    print()
    print(f"{info['cores']} cores, {info['python']}; median of {args.repeat} run(s)")
    print("tiering: the full explained output; narrow: --columns as the pandas reference writes")
    print(table(rows, header))
    if started is not None:
        print()
        print(
            f"start-up: `tiering --help` {started['help']:.2f}s, "
            f"`python -c pass` {started['python']:.2f}s (median of 7)"
        )
    if excel is not None:
        print()
        print(
            f"reading customers.xlsx ({excel['customers']:,} rows, {excel['file_mib']:.1f} MiB),"
            f" same table as openpyxl: {'yes' if excel['identical'] else 'NO'}"
        )
        print(
            table(
                [
                    [
                        mode,
                        f"{run['seconds']:.2f}",
                        f"{run['ratio']:.2f}",
                        f"{run['peak_rss_mib']:.0f}",
                    ]
                    for mode, run in excel["runs"].items()
                ],
                ["reader", "seconds", "of openpyxl", "peak MiB"],
            )
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "cases": [asdict(c) for c in cases],
                    "results": results,
                    "excel": excel,
                    "startup": started,
                },
                indent=2,
                ensure_ascii=False,
                default=str,
            ),
            encoding="utf-8",
        )
    if failed:
        return 1
    if any(not r.get("identical", True) or not r.get("same_as_before", True) for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
