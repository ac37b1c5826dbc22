"""A straightforward pandas implementation of the example rule files (the benchmark baseline).

Usage::

    python bench/pandas_reference.py RULES.yaml --customers C.parquet --transactions T.parquet \
        --out OUT.parquet [--as-of YYYY-MM-DD]

It supports exactly what ``examples/scorecard.yaml``, ``examples/pareto.yaml`` and
``examples/rfm.yaml`` use (it is not a general engine) and writes one row per customer with
``customer_id`` and ``tier`` (plus ``rfm_code`` for RFM rules).  It doubles as an independent
oracle: ``bench/evaluate.py`` compares its tiers with those of ``tiering evaluate``.

Semantics (see bench/README.md for the full list):

* transactions dated after ``as_of`` are ignored everywhere; ``lookback: N months`` is the window
  ``(as_of - N months, as_of]`` with calendar-month arithmetic clamped to the month end;
* money is converted to integer cents (``round(amount * 100)``) before summing and every money
  comparison is done in cents, so sums are exact;
* every customer of the customers file is graded, with or without transactions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

MONEY = ("revenue", "cost", "profit")  # metrics held in integer cents

RFM_SEGMENTS = {
    "111": "重要价值客户",
    "101": "重要发展客户",
    "011": "重要保持客户",
    "001": "重要挽留客户",
    "110": "一般价值客户",
    "100": "一般发展客户",
    "010": "一般保持客户",
    "000": "一般挽留客户",
}


# --------------------------------------------------------------------------------------------
# rule file


def load_rules(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        rules = yaml.safe_load(fh)
    if not isinstance(rules, dict):
        raise SystemExit(f"{path}: not a mapping")
    return rules


def to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def minus_period(day: dt.date, spec: str, times: int = 1) -> dt.date:
    """``day`` minus ``times`` x ``spec`` (``"12 months"``, ``"1 year"``, ``"90 days"``)."""
    m = re.fullmatch(r"\s*(\d+)\s*(day|days|month|months|year|years)\s*", str(spec))
    if not m:
        raise SystemExit(f"unsupported lookback {spec!r}")
    n, unit = int(m.group(1)) * times, m.group(2)
    ts = pd.Timestamp(day)
    if unit.startswith("day"):
        return (ts - pd.Timedelta(days=n)).date()
    months = n * 12 if unit.startswith("year") else n
    # pandas DateOffset(months=...) clamps to the month end: 2024-02-29 - 12 months = 2023-02-28
    return (ts - pd.DateOffset(months=months)).date()


def percent(value: Any) -> Fraction:
    text = str(value).strip()
    if text.endswith("%"):
        return Fraction(text[:-1])
    return Fraction(text) * 100


# --------------------------------------------------------------------------------------------
# data


def cents(values: pd.Series) -> pd.Series:
    return pd.Series(np.rint(values.to_numpy(dtype="float64") * 100).astype("int64"), values.index)


def needed_metrics(rules: dict[str, Any]) -> set[str]:
    if "scorecard" in rules:
        return {str(f["factor"]) for f in rules["scorecard"]}
    if "pareto" in rules:
        return {str(rules["pareto"]["metric"])}
    if "rfm" in rules:
        r = rules["rfm"]
        return {str(r["recency"]), str(r["frequency"]), str(r["monetary"])}
    raise SystemExit("only scorecard / pareto / rfm rule files are supported")


def read_inputs(
    rules: dict[str, Any], customers_path: str, transactions_path: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = {"customer_id": "customer_id", "date": "date", "amount": "amount", "cost": "cost"}
    cols.update(rules.get("columns") or {})
    rename = {v: k for k, v in cols.items()}
    need = needed_metrics(rules)
    attrs = sorted(m.split(".", 1)[1] for m in need if m.startswith("attribute."))

    tx_cols = ["customer_id", "date", "amount"]
    if need & {"cost", "profit"}:
        tx_cols.append("cost")
    if str(customers_path).endswith(".csv"):
        # UTF-8 CSV with a BOM as the demo writes it, read by pandas' fastest reader
        customers = pd.read_csv(
            customers_path,
            usecols=[cols["customer_id"], *attrs],
            dtype=str,
            encoding="utf-8-sig",
            engine="pyarrow",
        )
    else:
        customers = pd.read_parquet(customers_path, columns=[cols["customer_id"], *attrs])
    customers = customers.rename(columns={cols["customer_id"]: "customer_id"})
    customers["customer_id"] = customers["customer_id"].astype("str")

    if str(transactions_path).endswith(".csv"):
        tx = pd.read_csv(
            transactions_path,
            usecols=[cols[c] for c in tx_cols],
            dtype={cols["customer_id"]: str},
            parse_dates=[cols["date"]],
            encoding="utf-8-sig",
            engine="pyarrow",
        ).rename(columns=rename)
    else:
        # date32 -> datetime64 (pandas would otherwise give an object column of datetime.date)
        table = pq.read_table(transactions_path, columns=[cols[c] for c in tx_cols])
        tx = table.to_pandas(date_as_object=False).rename(columns=rename)
    tx["customer_id"] = tx["customer_id"].astype("str")
    return customers, tx


def compute_metrics(
    rules: dict[str, Any], customers: pd.DataFrame, tx: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """One row per customer (index customer_id); money in int64 cents."""
    need = needed_metrics(rules)
    lookback = rules.get("lookback")
    as_of_ts = pd.Timestamp(as_of)
    tx = tx[tx["date"] <= as_of_ts]
    out = pd.DataFrame(index=pd.Index(customers["customer_id"], name="customer_id"))

    tx = tx.assign(amount=cents(tx["amount"]))
    if "cost" in tx:
        tx = tx.assign(cost=cents(tx["cost"]))

    if lookback is None:
        window = tx
    else:
        start = pd.Timestamp(minus_period(as_of, lookback))
        window = tx[tx["date"] > start]
    g = window.groupby("customer_id", sort=False)
    if need & {"revenue", "profit", "growth"}:
        out["revenue"] = g["amount"].sum().reindex(out.index, fill_value=0).astype("int64")
    if need & {"cost", "profit"}:
        out["cost"] = g["cost"].sum().reindex(out.index, fill_value=0).astype("int64")
    if "profit" in need:
        out["profit"] = out["revenue"] - out["cost"]
    # orders is always computed: RFM splits are means over customers with orders > 0
    out["orders"] = g.size().reindex(out.index, fill_value=0).astype("int64")
    if "recency_days" in need:
        last = tx.groupby("customer_id", sort=False)["date"].max().reindex(out.index)
        out["recency_days"] = (as_of_ts - last).dt.days.astype("float64")  # NaN: never bought
    if "growth" in need:
        if lookback is None:
            raise SystemExit("growth needs a lookback")
        prev_start = pd.Timestamp(minus_period(as_of, lookback, times=2))
        prev = tx[(tx["date"] > prev_start) & (tx["date"] <= start)]
        prev_rev = prev.groupby("customer_id", sort=False)["amount"].sum()
        out["prev_revenue"] = prev_rev.reindex(out.index, fill_value=0).astype("int64")
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = out["revenue"] / out["prev_revenue"] - 1
        out["growth"] = growth.where(out["prev_revenue"] != 0)
    for m in need:
        if m.startswith("attribute."):
            out[m] = customers[m.split(".", 1)[1]].to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# methods


def percentile_points(values: pd.Series, invert: bool) -> pd.Series:
    """100 x PERCENT_RANK over the non-empty values (SQL semantics); empty -> 0."""
    present = values.dropna()
    n = len(present)
    points = pd.Series(0.0, index=values.index)
    if n > 1:
        rank = present.rank(method="min", ascending=not invert)
        points.loc[present.index] = (rank - 1) / (n - 1) * 100
    return points


def band_reached(m: pd.DataFrame, factor: str, bound: Any) -> pd.Series:
    """value >= bound, exactly (cents for money, rational arithmetic for growth)."""
    b = Fraction(str(bound))
    if factor in MONEY:
        return m[factor] * b.denominator >= b.numerator * 100  # cents >= bound * 100
    if factor == "growth":
        # rev / prev - 1 >= p/q  <=>  q * (rev - prev) * sign(prev) >= p * |prev|   (prev != 0)
        rev, prev = m["revenue"], m["prev_revenue"]
        lhs = b.denominator * (rev - prev) * np.sign(prev)
        return (prev != 0) & (lhs >= b.numerator * prev.abs())
    return m[factor] >= float(b)


def band_points(m: pd.DataFrame, factor: str, bands: list[list[Any]]) -> pd.Series:
    points = pd.Series(0.0, index=m.index)
    for bound, pts in bands:  # ascending bounds: the highest one reached wins
        points = points.mask(band_reached(m, factor, bound), float(pts))
    return points


def scorecard(rules: dict[str, Any], m: pd.DataFrame) -> pd.DataFrame:
    total = pd.Series(0.0, index=m.index)
    weights = 0.0
    for f in rules["scorecard"]:
        factor, weight, scale = str(f["factor"]), float(f["weight"]), f["scale"]
        if scale == "percentile":
            pts = percentile_points(m[factor], bool(f.get("invert", False)))
        elif isinstance(scale, dict) and "bands" in scale:
            pts = band_points(m, factor, scale["bands"])
        elif isinstance(scale, dict) and "map" in scale:
            mapping = {str(k): float(v) for k, v in scale["map"].items()}
            pts = m[factor].map(mapping).astype("float64").fillna(0.0)
        else:
            raise SystemExit(f"unsupported scale {scale!r}")
        total += weight * pts
        weights += weight
    raw = total / weights
    score = np.round(raw, 2)
    tiers = rules["tiers"]
    tier = pd.Series(str(tiers[-1]["name"]), index=m.index, dtype="object")
    assigned = pd.Series(False, index=m.index)
    for t in tiers[:-1]:
        hit = ~assigned & (score >= float(t["min_score"]))
        tier[hit] = str(t["name"])
        assigned |= hit
    return pd.DataFrame({"tier": tier, "score": score, "raw_score": raw})


def pareto(rules: dict[str, Any], m: pd.DataFrame) -> pd.DataFrame:
    spec = rules["pareto"]
    if spec.get("by", "customers") != "customers":
        raise SystemExit("only pareto by: customers is supported")
    metric = str(spec["metric"])
    ordered = (
        m[[metric]]
        .reset_index()
        .sort_values([metric, "customer_id"], ascending=[False, True], kind="mergesort")
    )
    n = len(ordered)
    position = pd.Series(np.arange(1, n + 1), index=ordered["customer_id"].to_numpy())
    position = position.reindex(m.index)
    tiers = rules["tiers"]
    tier = pd.Series(str(tiers[-1]["name"]), index=m.index, dtype="object")
    assigned = m[metric] <= 0  # nothing to contribute: always the last tier
    for t in tiers[:-1]:
        share = percent(t["top"])
        cutoff = math.ceil(share * n / 100)  # exact integer arithmetic
        hit = ~assigned & (position <= cutoff)
        tier[hit] = str(t["name"])
        assigned |= hit
    return pd.DataFrame({"tier": tier, "position": position})


def _high(values: pd.Series, active: pd.Series, greater: bool) -> pd.Series:
    """values > mean(values over active) (or <), compared exactly: v * k > sum."""
    present = values.notna()
    act = values[active & present]
    k = len(act)
    if k == 0:
        return pd.Series(False, index=values.index)
    if values.dtype.kind == "f":
        ints = values.fillna(0).astype("int64")
        assert (ints[present] == values[present]).all()
    else:
        ints = values
    s = int(act.astype("int64").sum())
    big = int(ints.abs().max()) * k
    if big < 2**62 and abs(s) < 2**62:
        lhs = ints * k
        res = lhs > s if greater else lhs < s
    else:  # Python ints: no overflow
        res = ints.map(lambda v: (int(v) * k > s) if greater else (int(v) * k < s))
    return res & present


def rfm(rules: dict[str, Any], m: pd.DataFrame) -> pd.DataFrame:
    spec = rules["rfm"]
    if spec.get("split", "mean") != "mean":
        raise SystemExit("only split: mean is supported")
    active = m["orders"] > 0
    r = _high(m[spec["recency"]], active, greater=False)  # recent is good: below the mean
    f = _high(m[spec["frequency"]], active, greater=True)
    mo = _high(m[spec["monetary"]], active, greater=True)
    code = (
        r.map({True: "1", False: "0"})
        + f.map({True: "1", False: "0"})
        + mo.map({True: "1", False: "0"})
    )
    return pd.DataFrame({"tier": code.map(RFM_SEGMENTS), "rfm_code": code})


def grade(rules: dict[str, Any], m: pd.DataFrame) -> pd.DataFrame:
    if "scorecard" in rules:
        return scorecard(rules, m)
    if "pareto" in rules:
        return pareto(rules, m)
    return rfm(rules, m)


def evaluate(
    rules: dict[str, Any], customers_path: str, transactions_path: str, as_of: dt.date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, grades), both indexed by customer_id."""
    as_of = as_of or to_date(rules["as_of"])
    customers, tx = read_inputs(rules, customers_path, transactions_path)
    metrics = compute_metrics(rules, customers, tx, as_of)
    return metrics, grade(rules, metrics)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rules")
    ap.add_argument("--customers", required=True)
    ap.add_argument("--transactions", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    args = ap.parse_args(argv)
    rules = load_rules(args.rules)
    _, grades = evaluate(rules, args.customers, args.transactions, args.as_of)
    keep = ["tier", "rfm_code"] if "rfm_code" in grades else ["tier"]
    out = grades[keep].reset_index()
    out["customer_id"] = out["customer_id"].astype("str")
    out["tier"] = out["tier"].astype("str")
    out.to_parquet(args.out, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
