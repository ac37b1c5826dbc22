"""Benchmark: fitting tiering.clv on a million simulated customers, against lifetimes.

```bash
.venv/bin/python bench/clv.py                        # 1,000,000 customers, lifetimes too
.venv/bin/python bench/clv.py --customers 100000     # a quick run
.venv/bin/python bench/clv.py --no-lifetimes         # ours only
.venv/bin/python bench/clv.py --lifetimes-customers 100000   # lifetimes on the first 100k, scaled
```

The customers are drawn from BG/NBD (r = 0.25, α = 28 days, a = 0.8, b = 2.5) with first
purchases spread uniformly over the last 365 days, summarised at day resolution in weeks
(recency and T = whole days / 7, as :func:`tiering.clv.summarize` gives them), and the repeat
buyers' mean spend from Gamma-Gamma (p = 6, q = 3.7, v = 15) rounded to cents; seeded, cached
in ``bench/.data/``.

Timed (wall clock, best of ``--repeat``): ``BetaGeoModel().fit`` and
``GammaGammaModel().fit`` (the targets: under 10 s each at 1M), and for information
ParetoNBDModel, ModifiedBetaGeoModel and a 12-month ``customer_lifetime_value``.

lifetimes (``BetaGeoFitter``, ``GammaGammaFitter``) runs in its own virtualenv,
``bench/.venv-lifetimes``, created on first use with ``python3 -m venv`` and
``pip install lifetimes``, on the same arrays, as a user would call it (no aggregation).
If it cannot be installed or run, the error is printed and the ratio is "unavailable".
With ``--lifetimes-customers M`` smaller than the data, lifetimes fits the first M customers
and its time is scaled by N/M (its cost is linear in the customers), which is said.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy

from tiering import clv

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
VENV = HERE / ".venv-lifetimes"
BG_TRUE = {"r": 0.25, "alpha": 28.0, "a": 0.8, "b": 2.5}  # alpha in days: 4 weeks
GG_TRUE = {"p": 6.0, "q": 3.7, "v": 15.0}

LIFETIMES_RUNNER = r"""
import json, sys, time
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
d = np.load(path)
x, t_x, T, m = (d[k][:n] for k in ("frequency", "recency", "T", "monetary_value"))
from lifetimes import BetaGeoFitter, GammaGammaFitter
out = {}
t0 = time.perf_counter()
bg = BetaGeoFitter().fit(x, t_x, T)
out["bgnbd"] = time.perf_counter() - t0
repeat = x > 0
t0 = time.perf_counter()
gg = GammaGammaFitter().fit(x[repeat], m[repeat])
out["gamma_gamma"] = time.perf_counter() - t0
out["bgnbd_params"] = {k: float(v) for k, v in bg.params_.items()}
out["gamma_gamma_params"] = {k: float(v) for k, v in gg.params_.items()}
import lifetimes, numpy, scipy, pandas
out["versions"] = {"lifetimes": lifetimes.__version__, "numpy": numpy.__version__,
                   "scipy": scipy.__version__, "pandas": pandas.__version__}
print("RESULT " + json.dumps(out))
"""


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    """The benchmark's customers (cached in bench/.data)."""
    path = DATA / f"clv_c{n}_s{seed}.npz"
    if path.exists():
        with np.load(path) as d:
            return {k: d[k] for k in d.files}
    rng = np.random.default_rng(seed)
    t_days = rng.integers(0, 366, n).astype(float)
    draw = clv.simulate_bgnbd(n, **BG_TRUE, T=t_days, rng=rng)
    x = draw["frequency"]
    spend = clv.simulate_gamma_gamma(x, **GG_TRUE, rng=rng)
    data = {
        "frequency": x,
        "recency": np.floor(draw["recency"]) / 7.0,
        "T": t_days / 7.0,
        "monetary_value": np.where(x > 0, np.maximum(np.round(spend, 2), 0.01), 0.0),
    }
    DATA.mkdir(exist_ok=True)
    np.savez(path, **data)
    return data


def best_of(repeat: int, func):
    """(best wall seconds, last result) of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return min(times), result


def ensure_lifetimes() -> tuple[Path | None, str]:
    """The virtualenv's python with lifetimes installed, or None and the error."""
    python = VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import lifetimes"], capture_output=True, text=True
        )
        if probe.returncode == 0:
            return python, ""
    base = shutil.which("python3") or sys.executable
    steps = [
        [base, "-m", "venv", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "lifetimes"],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"`{' '.join(cmd)}` failed:\n{done.stderr.strip() or done.stdout.strip()}"
    probe = subprocess.run([str(python), "-c", "import lifetimes"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None, f"lifetimes does not import:\n{probe.stderr.strip()}"
    return python, ""


def run_lifetimes(python: Path, path: Path, n: int, timeout: float) -> tuple[dict | None, str]:
    try:
        done = subprocess.run(
            [str(python), "-c", LIFETIMES_RUNNER, str(path), str(n)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None, f"lifetimes did not finish within {timeout:.0f} s"
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :]), ""
    return None, f"lifetimes failed (exit {done.returncode}):\n{done.stderr.strip()[-3000:]}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {scipy.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lifetimes-customers", type=int, default=None)
    parser.add_argument("--lifetimes-timeout", type=float, default=1800.0)
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    n = args.customers

    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    data = simulate(n, args.seed)
    x, t_x, big_t, m = (data[k] for k in ("frequency", "recency", "T", "monetary_value"))
    repeat = x > 0
    print(
        f"data: {n:,} customers ({int(repeat.sum()):,} repeat buyers, max frequency "
        f"{int(x.max())}), {time.perf_counter() - t0:.1f} s to simulate or load"
    )
    distinct = len(np.unique(np.stack([x, t_x, big_t]), axis=1).T)
    print(f"distinct (frequency, recency, T) rows: {distinct:,}")

    clv.BetaGeoModel().fit(x[:1000], t_x[:1000], big_t[:1000])  # imports, first-call costs
    ours: dict[str, float] = {}
    ours["bgnbd"], bg = best_of(args.repeat, lambda: clv.BetaGeoModel().fit(x, t_x, big_t))
    ours["gamma_gamma"], gg = best_of(
        args.repeat, lambda: clv.GammaGammaModel().fit(x[repeat], m[repeat])
    )
    ours["mbgnbd"], mbg = best_of(1, lambda: clv.ModifiedBetaGeoModel().fit(x, t_x, big_t))
    ours["paretonbd"], pnbd = best_of(1, lambda: clv.ParetoNBDModel().fit(x, t_x, big_t))
    ours["clv_12_months"], _ = best_of(
        1, lambda: clv.customer_lifetime_value(bg, gg, x, t_x, big_t, m, horizon_months=12)
    )

    def fmt(params: dict[str, float]) -> str:
        return ", ".join(f"{k} {v:.4g}" for k, v in params.items())

    print(f"\ntiering.clv (best of {args.repeat} for the two targets):")
    truth_weeks = {**BG_TRUE, "alpha": BG_TRUE["alpha"] / 7}
    print(f"  BG/NBD       {ours['bgnbd']:7.2f} s   {fmt(bg.params_)}   (true {fmt(truth_weeks)})")
    print(
        f"  Gamma-Gamma  {ours['gamma_gamma']:7.2f} s   {fmt(gg.params_)}   (true {fmt(GG_TRUE)})"
    )
    print(f"  MBG/NBD      {ours['mbgnbd']:7.2f} s   {fmt(mbg.params_)}")
    print(f"  Pareto/NBD   {ours['paretonbd']:7.2f} s   {fmt(pnbd.params_)}")
    print(f"  CLV 12 months{ours['clv_12_months']:7.2f} s   (BG/NBD + Gamma-Gamma, all customers)")

    results: dict = {"customers": n, "ours": ours, "machine": machine()}
    if not args.no_lifetimes:
        python, error = ensure_lifetimes()
        lt, scale, subset = None, 1.0, n
        if python is not None:
            subset = min(args.lifetimes_customers or n, n)
            scale = n / subset
            lt, error = run_lifetimes(
                python, DATA / f"clv_c{n}_s{args.seed}.npz", subset, args.lifetimes_timeout
            )
        print("\nlifetimes:")
        if lt is None:
            print(f"  unavailable: {error}")
            print("  ratio lifetimes / tiering.clv: unavailable")
            results["lifetimes"] = {"error": error}
        else:
            note = "" if subset == n else f" (fitted on the first {subset:,}, time × {scale:g})"
            print(f"  versions: {lt['versions']}{note}")
            for key, label in (("bgnbd", "BetaGeoFitter"), ("gamma_gamma", "GammaGammaFitter")):
                seconds = lt[key] * scale
                print(
                    f"  {label:17s}{seconds:7.2f} s   {fmt(lt[key + '_params'])}   "
                    f"ratio lifetimes / tiering.clv: {seconds / ours[key]:.1f}x"
                )
            results["lifetimes"] = {**lt, "subset": subset, "scale": scale}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
