"""Speed benchmark: ``tiering evaluate`` against a straightforward pandas implementation.

Usage::

    python bench/evaluate.py                      # 1,000,000 customers / ~10,000,000 transactions
    python bench/evaluate.py --customers 20000    # quick run

For each of ``examples/{scorecard,pareto,rfm}.yaml`` both implementations are run end to end as
subprocesses (read parquet, grade, write parquet): wall time and peak RSS of the child are
measured, then the two outputs are compared customer by customer.  The process exits non-zero
when any tier differs.  The demo data comes from ``tiering.demo.generate_demo`` and is cached in
``bench/.data/`` keyed by size, seed and a hash of the generator's source.

Each command runs under ``bench/_measure.py`` (a small stdlib-only launcher that times it and
reads its ``ru_maxrss`` with ``os.wait4``). Peak RSS is the larger of that ``ru_maxrss`` (the
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


def demo_data(customers: int, seed: int, cache: Path, regenerate: bool) -> Path:
    """Directory holding customers.parquet / transactions.parquet (generated once, then reused)."""
    from tiering import demo

    source = inspect.getsource(demo).encode()
    key = f"c{customers}_s{seed}_{hashlib.sha256(source).hexdigest()[:10]}"
    target = cache / key
    done = target / ".complete"
    if done.exists() and not regenerate:
        print(f"data: reusing {target.relative_to(ROOT)}", flush=True)
        return target
    shutil.rmtree(target, ignore_errors=True)
    for stale in cache.glob(f"c{customers}_s{seed}_*"):  # made by an older generator
        shutil.rmtree(stale, ignore_errors=True)
    tmp = cache / f".{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    print(f"data: generating {customers:,} customers (seed {seed}) ...", flush=True)
    t0 = time.perf_counter()
    demo.generate_demo(tmp, customers=customers, seed=seed, fmt="parquet")
    for name in ("customers.parquet", "transactions.parquet"):
        if not (tmp / name).exists():
            raise SystemExit(f"tiering.demo.generate_demo did not write {name} in {tmp}")
    (tmp / ".complete").write_text(f"{dt.datetime.now().isoformat()}\n")
    tmp.rename(target)
    print(f"data: generated in {time.perf_counter() - t0:.1f}s -> {target.relative_to(ROOT)}")
    return target


def row_count(path: Path) -> int:
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
    maxrss_mb: float  # ru_maxrss from wait4: the largest single process
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
    """Run ``cmd`` under bench/_measure.py (wall time, ru_maxrss) while sampling its tree."""
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--repeat", type=int, default=1, help="runs per implementation (median kept)")
    ap.add_argument("--as-of", default=None, help="passed to both implementations")
    ap.add_argument("--cache", type=Path, default=BENCH / ".data")
    ap.add_argument("--regenerate", action="store_true", help="ignore cached demo data")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--no-engine", action="store_true", help="time the pandas reference only")
    ap.add_argument(
        "--engine", default=None, help="engine command (default: the tiering script of this venv)"
    )
    args = ap.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]

    info = machine_info()
    print("machine:")
    for k, v in info.items():
        print(f"  {k:9} {v}")

    engine = shlex.split(args.engine) if args.engine else engine_command()
    if not args.no_engine:
        ok, msg = engine_available(engine)
        if not ok:
            print(f"`{' '.join(engine)} evaluate --help` failed:\n{msg}", file=sys.stderr)
            return 2

    data = demo_data(args.customers, args.seed, args.cache, args.regenerate)
    customers, transactions = data / "customers.parquet", data / "transactions.parquet"
    print(f"data: {row_count(customers):,} customers, {row_count(transactions):,} transactions")
    work = args.cache / "runs"
    work.mkdir(parents=True, exist_ok=True)
    extra = ["--as-of", args.as_of] if args.as_of else []

    results = []
    failed = False
    for method in methods:
        rules = EXAMPLES / f"{method}.yaml"
        io = ["--customers", str(customers), "--transactions", str(transactions)]
        cmds = {
            "pandas": [sys.executable, str(REFERENCE), str(rules), *io],
        }
        if not args.no_engine:
            cmds = {"tiering": [*engine, "evaluate", str(rules), *io], **cmds}
        runs: dict[str, list[Run]] = {k: [] for k in cmds}
        for i in range(args.repeat):
            for impl, cmd in cmds.items():
                out = work / f"{method}.{impl}.parquet"
                out.unlink(missing_ok=True)
                run = run_measured([*cmd, "--out", str(out), *extra], work / f"{method}.{impl}.log")
                print(
                    f"{method:9} {impl:7} run {i + 1}: {run.seconds:8.2f}s"
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
            "method": method,
            "pandas_s": med["pandas"].seconds,
            "pandas_rss_mb": med["pandas"].peak_rss_mb,
        }
        if not args.no_engine:
            cmp = compare(
                method,
                work / f"{method}.tiering.parquet",
                work / f"{method}.pandas.parquet",
                data,
                args.as_of,
            )
            row.update(
                tiering_s=med["tiering"].seconds,
                tiering_rss_mb=med["tiering"].peak_rss_mb,
                identical=cmp.identical,
                mismatches=cmp.mismatches,
                rows_engine=cmp.rows_engine,
                rows_reference=cmp.rows_reference,
                details=cmp.details,
            )
            if cmp.details:
                print(f"--- {method}: {cmp.mismatches} mismatching customers")
                print("\n".join(cmp.details))
        row["runs"] = {k: [asdict(r) | {"log": r.log[-2000:]} for r in v] for k, v in runs.items()}
        results.append(row)

    header = [
        "method",
        "tiering s",
        "pandas s",
        "pandas/tiering",
        "tiering peak RSS MB",
        "pandas peak RSS MB",
        "tiers identical",
    ]
    rows = []
    for r in results:
        if args.no_engine:
            rows.append(
                [
                    r["method"],
                    "-",
                    f"{r['pandas_s']:.2f}",
                    "-",
                    "-",
                    f"{r['pandas_rss_mb']:.0f}",
                    "-",
                ]
            )
        else:
            rows.append(
                [
                    r["method"],
                    f"{r['tiering_s']:.2f}",
                    f"{r['pandas_s']:.2f}",
                    f"{r['pandas_s'] / r['tiering_s']:.2f}x",
                    f"{r['tiering_rss_mb']:.0f}",
                    f"{r['pandas_rss_mb']:.0f}",
                    "yes" if r["identical"] else f"NO ({r['mismatches']} differ)",
                ]
            )
    print()
    print(
        f"{row_count(customers):,} customers, {row_count(transactions):,} transactions;"
        f" {info['cores']} cores, {info['python']}; median of {args.repeat} run(s)"
    )
    print(table(rows, header))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": info, "data": str(data), "results": results},
                indent=2,
                ensure_ascii=False,
                default=str,
            ),
            encoding="utf-8",
        )
    if failed:
        return 1
    if any(not r.get("identical", True) for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
