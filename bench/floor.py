"""Where the floor is: the Pareto case of ``evaluate.py`` beside the same grading written
straight in DuckDB SQL, with and without the engine's input checks.

Usage::

    python bench/floor.py                    # 1,000,000 customers / ~10,000,000 transactions
    python bench/floor.py --customers 20000 --repeat 1

Each command runs as a subprocess under ``bench/_measure.py`` (wall time, peak RSS), in
turn, ``--repeat`` times (median kept):

* **pandas**: ``bench/pandas_reference.py examples/pareto.yaml`` (the baseline);
* **tiering narrow**: ``tiering evaluate examples/pareto.yaml --columns customer_id,tier``;
* **DuckDB, checked**: ``bench/_floor_duckdb.py --checks``: the same arithmetic in exact
  cents with the checks the engine makes on these files (empty and duplicate customer ids,
  empty cells, unknown customers), nothing but DuckDB imported;
* **DuckDB, bare**: ``bench/_floor_duckdb.py``: the arithmetic only;
* **import Ibis**: ``python -c "import ibis, ibis.backends.duckdb"``, what any Ibis program
  pays before its first expression.

It prints the seconds, the ratio pandas / each, and checks that every command gives every
customer the same tier as pandas (exit status 1 otherwise). No timed assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import (
    BENCH,
    EXAMPLES,
    REFERENCE,
    demo_data,
    engine_command,
    input_files,
    machine_info,
    run_measured,
    table,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=BENCH / ".data")
    args = parser.parse_args(argv)
    folder = demo_data(args.customers, args.seed, args.cache, regenerate=False)
    cust, tx = input_files(folder, "parquet")
    work = args.cache / "runs" / "floor"
    work.mkdir(parents=True, exist_ok=True)
    rules = str(EXAMPLES / "pareto.yaml")
    io = ["--customers", str(cust), "--transactions", str(tx), "--out"]
    floor = [sys.executable, str(BENCH / "_floor_duckdb.py"), str(cust), str(tx)]
    # where each grading command writes its tiers (compared with pandas' below)
    out = {
        name: work / f"{file}.parquet"
        for name, file in (
            ("pandas", "pandas"),
            ("tiering narrow", "tiering"),
            ("DuckDB, checked", "checked"),
            ("DuckDB, bare", "bare"),
        )
    }
    commands = {
        "pandas": [sys.executable, str(REFERENCE), rules, *io, str(out["pandas"])],
        "tiering narrow": [
            *engine_command(),
            "evaluate",
            rules,
            *io,
            str(out["tiering narrow"]),
            "--columns",
            "customer_id,tier",
        ],
        "DuckDB, checked": [*floor, str(out["DuckDB, checked"]), "--checks"],
        "DuckDB, bare": [*floor, str(out["DuckDB, bare"])],
        "import Ibis": [sys.executable, "-c", "import ibis, ibis.backends.duckdb"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(args.repeat):
        for name, cmd in commands.items():
            run = run_measured(cmd, work / f"{name.replace(' ', '_').replace(',', '')}.log")
            if run.returncode != 0:
                print(run.log[-3000:])
                raise SystemExit(f"{name} failed ({run.returncode})")
            seconds[name].append(run.seconds)
            peaks[name].append(run.peak_rss_mb)
            print(f"run {i + 1}: {name} {run.seconds:.2f} s", flush=True)

    def tiers(path: Path):
        t = pq.read_table(path, columns=["customer_id", "tier"]).to_pydict()
        return dict(zip(t["customer_id"], t["tier"], strict=True))

    expected = tiers(out["pandas"])
    same = {n: tiers(path) == expected for n, path in out.items() if n != "pandas"}
    base = statistics.median(seconds["pandas"])
    rows = []
    for name in commands:
        s = statistics.median(seconds[name])
        rows.append(
            [
                name,
                f"{s:.2f}",
                f"{min(seconds[name]):.2f}–{max(seconds[name]):.2f}",
                f"{base / s:.2f}×",
                f"{statistics.median(peaks[name]):,.0f}",
                {True: "yes", False: "NO"}.get(same.get(name), ""),
            ]
        )
    for key, value in machine_info().items():
        print(f"{key}: {value}")
    print(f"{args.customers:,} customers, Pareto, median of {args.repeat}")
    print(table(rows, ["command", "s", "range", "pandas / it", "peak MB", "tiers = pandas"]))
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
