"""Transactions -> the per-customer summary the buy-till-you-die models take.

Following Fader, Hardie & Lee (2005) and lifetimes' ``summary_data_from_transaction_data``:

- transactions dated after ``as_of`` are ignored; ``as_of`` itself is included;
- a *purchase* is a calendar day with at least one transaction of the customer: the
  transactions of one day collapse into one purchase whose amount is their sum;
- ``frequency`` = purchases − 1 (the first purchase is not counted: repeat purchases);
- ``recency`` = time from the first to the last purchase (0 without repeat purchases);
- ``T`` = time from the first purchase to ``as_of``;
- ``monetary_value`` = mean amount of the repeat purchases (the first purchase excluded),
  0 without repeat purchases.

Times are whole days divided by the length of the unit: ``"D"`` 1 day, ``"W"`` 7 days,
``"M"`` 30.436875 days (365.2425 / 12, a mean Gregorian month). For ``"D"`` this is
lifetimes' ``freq="D"``; for ``"W"`` it is lifetimes' ``freq="D", freq_multiplier=7``
(days / 7, as in the CDNOW summary of the papers: a customer who first bought on
1997-01-01 has T = 272 / 7 = 38.86 weeks at 1997-09-30). Lifetimes' ``freq="W"`` instead
collapses purchases by calendar week and counts whole weeks; that is not what the
literature's CDNOW data use, and not what this function does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from tiering.clv.errors import ModelError

#: Length of each time unit in days.
UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12}


def _as_day(name: str, value: Any) -> np.datetime64:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{name} is not a date: {value!r}", f"{name} 不是日期：{value!r}") from exc
    if ts is pd.NaT:
        raise ModelError(f"{name} is required (a date)", f"{name} 是必需的（一个日期）")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return np.datetime64(ts.floor("D").date(), "D")


def summarize(
    transactions: Any,
    *,
    as_of: str | dt.date | dt.datetime | pd.Timestamp,
    unit: str = "W",
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str | None = "amount",
) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary_value from transactions.

    Parameters
    ----------
    transactions : pandas.DataFrame or pyarrow.Table
        One row per transaction.
    as_of : date-like
        End of the observation period (required: never "today" by accident).
        Transactions after it are ignored; times are measured to this day.
    unit : {"W", "D", "M"}, default "W"
        Unit of recency and T: weeks (7 days), days, or months (30.436875 days).
    customer_id, date, amount : str
        Column names. ``date`` may hold dates, datetimes (truncated to the day) or
        strings pandas can parse. ``amount=None`` leaves out monetary_value.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (index named ``customer_id``'s column name, sorted), with
        columns ``frequency`` (int), ``recency``, ``T`` and ``monetary_value`` (floats).
        Customers whose first transaction is after ``as_of`` are not in it.

    Raises
    ------
    ModelError
        Unknown unit, missing column, missing or unparseable dates or amounts, missing
        ``as_of``.
    """
    if unit not in UNIT_DAYS:
        raise ModelError(
            f"unit must be one of D, W, M (got {unit!r})",
            f"unit 必须是 D、W、M 之一（实际为 {unit!r}）",
        )
    end = _as_day("as_of", as_of)
    if hasattr(transactions, "to_pandas") and not isinstance(transactions, pd.DataFrame):
        transactions = transactions.to_pandas()
    if not isinstance(transactions, pd.DataFrame):
        raise ModelError(
            "transactions must be a pandas DataFrame or a pyarrow Table",
            "transactions 必须是 pandas DataFrame 或 pyarrow Table",
        )
    needed = [customer_id, date] + ([amount] if amount is not None else [])
    missing = [c for c in needed if c not in transactions.columns]
    if missing:
        have = ", ".join(map(str, transactions.columns))
        raise ModelError(
            f"transactions have no column {', '.join(missing)} (columns: {have})",
            f"transactions 没有列 {'、'.join(missing)}（现有列：{have}）",
        )
    ids = transactions[customer_id]
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise ModelError(
            f"column {customer_id} has missing values (first at row {i})",
            f"列 {customer_id} 有缺失值（第一个在第 {i} 行）",
        )
    try:
        try:
            days = pd.to_datetime(transactions[date])
        except ValueError:  # strings in more than one format ("2026-01-08", "… 09:00")
            days = pd.to_datetime(transactions[date], format="mixed")
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"column {date} has values that are not dates ({exc})",
            f"列 {date} 有不是日期的值（{exc}）",
        ) from exc
    if days.isna().any():
        i = int(np.flatnonzero(days.isna().to_numpy())[0])
        raise ModelError(
            f"column {date} has missing dates (first at row {i})",
            f"列 {date} 有缺失的日期（第一个在第 {i} 行）",
        )
    if getattr(days.dt, "tz", None) is not None:
        days = days.dt.tz_localize(None)
    day = days.to_numpy().astype("datetime64[D]")
    frame = {"_id": ids.to_numpy(), "_day": day.astype(np.int64), "_amount": 0.0}
    if amount is not None:
        values = pd.to_numeric(transactions[amount], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelError(
                f"column {amount} has missing or non-numeric values (first at row {i})",
                f"列 {amount} 有缺失或非数值的值（第一个在第 {i} 行）",
            )
        frame["_amount"] = values
    df = pd.DataFrame(frame)
    df = df[df["_day"] <= end.astype(np.int64)]
    # one row per customer and purchase day (sorted), the day's amounts summed
    per_day = df.groupby(["_id", "_day"], sort=True, as_index=False)["_amount"].sum()
    first_of_customer = ~per_day["_id"].duplicated()
    grouped = per_day.groupby("_id", sort=True)
    first = grouped["_day"].min()
    last = grouped["_day"].max()
    count = grouped["_day"].size()
    unit_days = UNIT_DAYS[unit]
    out = pd.DataFrame(
        {
            "frequency": (count - 1).astype(np.int64),
            "recency": (last - first).astype(float) / unit_days,
            "T": (end.astype(np.int64) - first).astype(float) / unit_days,
        }
    )
    if amount is not None:
        repeat = per_day.loc[~first_of_customer.to_numpy()]
        repeat_sum = repeat.groupby("_id", sort=True)["_amount"].sum()
        repeat_sum = repeat_sum.reindex(out.index, fill_value=0.0)
        freq = out["frequency"].to_numpy()
        out["monetary_value"] = np.where(freq > 0, repeat_sum.to_numpy() / np.maximum(freq, 1), 0.0)
    out.index.name = customer_id
    return out


__all__ = ["UNIT_DAYS", "summarize"]
