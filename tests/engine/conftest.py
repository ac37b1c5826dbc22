"""Shared helpers for the engine tests: tiny in-memory inputs and results keyed by customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import ibis
import pyarrow as pa

import tiering

TX_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("date", pa.date32()),
        ("amount", pa.float64()),
        ("cost", pa.float64()),
    ]
)


def customers_table(ids: Iterable[str], **attributes: list[Any]) -> pa.Table:
    """``customer_id`` plus one column per keyword (lists aligned with ``ids``)."""
    return pa.table({"customer_id": list(ids), **attributes})


def tx_table(rows: Iterable[tuple]) -> pa.Table:
    """Transactions from ``(customer_id, date, amount[, cost])`` tuples (cost defaults to 0)."""
    rows = [(*r, 0.0) if len(r) == 3 else r for r in rows]
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pa.table(
        {name: list(col) for name, col in zip(TX_SCHEMA.names, cols, strict=True)},
        schema=TX_SCHEMA,
    )


def run(
    rules: dict, customers: pa.Table, transactions: pa.Table, **kwargs: Any
) -> tuple[tiering.Evaluation, dict[str, dict[str, Any]]]:
    """Evaluate on Ibis memtables; return the evaluation and its rows keyed by customer_id."""
    ev = tiering.evaluate(rules, ibis.memtable(customers), ibis.memtable(transactions), **kwargs)
    rows = ev.to_pyarrow().to_pylist()
    by_id = {r["customer_id"]: r for r in rows}
    assert len(by_id) == len(rows), "a customer appears more than once in the output"
    return ev, by_id


def grade(rules: dict, customers: pa.Table, transactions: pa.Table, **kwargs: Any):
    """Just the rows keyed by customer_id."""
    return run(rules, customers, transactions, **kwargs)[1]


def flags(row: dict[str, Any]) -> set[str]:
    return {f for f in (row["flags"] or "").split(";") if f}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
