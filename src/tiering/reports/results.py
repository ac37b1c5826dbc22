"""Reading a per-customer results table (the output of :func:`tiering.evaluate`), for the
portfolio analyses of :mod:`tiering.reports.portfolio`.

Every analysis takes the results as an Arrow table, a pandas DataFrame, an Ibis table or an
:class:`~tiering.Evaluation` (:func:`as_arrow`) and reads the few columns it needs with the
helpers here.

Conventions shared by every function:

- Money is read as binary floats (the engine's decimals are converted); shares are
  fractions (0.25 is 25%) and are not rounded.
- **Shares of a value are shares of the total of its positive values**: customers whose
  value is zero or negative (returns exceeding purchases, loss-makers) hold a share of 0,
  and they do not reduce the total. The engine's Pareto grading by value uses the same
  base, and a share is then always between 0 and 1 even when some customers lose money.
- Customers are ordered by value descending, ties by ``customer_id`` ascending, so every
  list is deterministic.
- "Top 20% of n customers" is the first ceil(n / 5) of them (exactly, in integers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiering.exceptions import TieringError

#: Columns read as a customer's display name, the first one present.
NAME_COLUMNS = ("customer_name", "name", "客户名称", "客户名", "名称")


def as_arrow(results) -> pa.Table:
    """The results as an Arrow table, from Arrow, pandas, Ibis or an Evaluation."""
    if isinstance(results, pa.Table):
        return results
    if isinstance(results, pa.RecordBatch):
        return pa.Table.from_batches([results])
    if type(results).__module__.startswith("pandas") and hasattr(results, "columns"):
        return pa.Table.from_pandas(results, preserve_index=False)
    to_pyarrow = getattr(results, "to_pyarrow", None)  # an Evaluation or an Ibis table
    if callable(to_pyarrow):
        return to_pyarrow()
    raise TypeError(
        "results: expected a pyarrow Table, a pandas DataFrame, an Ibis table or an Evaluation"
    )


def _require(table: pa.Table, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        names = ", ".join(missing)
        raise TieringError(
            f"{what}: the results have no column {names}",
            f"{what}：结果中缺少列 {names}",
        )


def _floats(table: pa.Table, name: str, fill: float | None = 0.0) -> np.ndarray:
    """A numeric column as float64 (decimals converted); empty cells as ``fill`` (NaN
    when ``fill`` is None)."""
    column = table.column(name)
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # an output read back from CSV or Excel: numbers as text, empty cells as ""
        column = pc.if_else(pc.equal(pc.utf8_trim_whitespace(column), ""), None, column)
    elif not (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
    ):
        raise TieringError(
            f"column {name} is not numeric ({kind})", f"列 {name} 不是数值（{kind}）"
        )
    try:
        as_float = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise TieringError(
            f"column {name} holds values that are not numbers",
            f"列 {name} 中有非数值的内容",
        ) from None
    values = np.asarray(as_float.to_numpy(zero_copy_only=False), float)
    if fill is not None:
        values = np.where(np.isnan(values), fill, values)
    return values


def _strings(table: pa.Table, name: str) -> pa.ChunkedArray:
    return pc.cast(table.column(name), pa.string())


def _ids(table: pa.Table) -> pa.ChunkedArray:
    ids = _strings(table, "customer_id")
    if pc.count_distinct(ids).as_py() != len(ids):
        raise TieringError(
            "the results list a customer more than once", "结果中有重复出现的客户编号"
        )
    return ids


def _names(table: pa.Table) -> pa.ChunkedArray | None:
    for name in NAME_COLUMNS:
        if name in table.column_names:
            return _strings(table, name)
    return None


def _descending(values: np.ndarray, ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Positions ordering ``values`` descending, ties by id ascending."""
    keyed = pa.table({"v": values, "id": ids})
    order = pc.sort_indices(keyed, sort_keys=[("v", "descending"), ("id", "ascending")])
    return order.to_numpy()


def _take(array: pa.ChunkedArray | None, positions) -> list:
    if array is None:
        return [None] * len(positions)
    return array.take(pa.array(np.asarray(positions, dtype=np.int64))).to_pylist()


def _top_share(sorted_desc: np.ndarray, total: float, k: int) -> float:
    """Share of ``total`` held by the first ``k`` of ``sorted_desc`` (positive values)."""
    if total <= 0:
        return 0.0
    return float(np.clip(sorted_desc[:k], 0, None).sum() / total)


def _top20_count(n: int) -> int:
    return -(-n // 5)
