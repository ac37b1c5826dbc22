"""Migration: who moved between tiers from one evaluation to another, as a from → to
matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiering.reports.results import _floats, _ids, _names, _require, _strings, as_arrow

#: Row and column names of a migration matrix for customers absent on one side.
NEW, GONE = "new", "gone"


@dataclass(frozen=True)
class Move:
    """A customer whose tier changed; ``steps`` > 0 is up (toward the first tier)."""

    customer_id: str
    name: str | None
    before: str
    after: str
    revenue: float
    steps: int


@dataclass(frozen=True)
class Migration:
    """A from → to matrix of tiers (see :func:`migration`).

    ``rows`` are the tiers before (then :data:`NEW`), ``columns`` the tiers after (then
    :data:`GONE`); ``counts[i][j]`` and ``revenue[i][j]`` are the customers moving from
    ``rows[i]`` to ``columns[j]`` and their revenue."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    revenue: tuple[tuple[float, ...], ...]
    upgrades: tuple[Move, ...]
    downgrades: tuple[Move, ...]
    unordered: tuple[Move, ...] = ()

    def count(self, before: str, after: str) -> int:
        return self.counts[self.rows.index(before)][self.columns.index(after)]

    def revenue_of(self, before: str, after: str) -> float:
        return self.revenue[self.rows.index(before)][self.columns.index(after)]

    def to_rows(self) -> list[dict]:
        """Every non-empty cell as ``{"from", "to", "customers", "revenue"}``."""
        return [
            {"from": r, "to": c, "customers": self.counts[i][j], "revenue": self.revenue[i][j]}
            for i, r in enumerate(self.rows)
            for j, c in enumerate(self.columns)
            if self.counts[i][j]
        ]

    def move_rows(self) -> list[dict]:
        rows = []
        for direction, moves in (
            ("up", self.upgrades),
            ("down", self.downgrades),
            ("unordered", self.unordered),
        ):
            rows += [
                {
                    "direction": direction,
                    "customer_id": m.customer_id,
                    "name": m.name,
                    "from": m.before,
                    "to": m.after,
                    "revenue": m.revenue,
                    "steps": m.steps,
                }
                for m in moves
            ]
        return rows


def _side(results, label_: str) -> tuple[pa.Table, pa.ChunkedArray | None]:
    table = as_arrow(results)
    _require(table, ["customer_id", "tier"], label_)
    revenue = _floats(table, "revenue") if "revenue" in table.column_names else None
    slim = pa.table(
        {
            "customer_id": _ids(table),
            "tier": _strings(table, "tier"),
            "revenue": revenue if revenue is not None else np.zeros(table.num_rows),
        }
    )
    return slim, _names(table)


def _migrate(
    before,
    after,
    names_before: Sequence[str],
    names_after: Sequence[str],
    revenue_side: str,
    what: str,
) -> Migration:
    b, b_names = _side(before, what)
    a, a_names = _side(after, what)
    b = b.rename_columns(["customer_id", "tier_b", "revenue_b"])
    a = a.rename_columns(["customer_id", "tier_a", "revenue_a"])
    b = b.append_column(
        "name_b", b_names if b_names is not None else pa.nulls(b.num_rows, pa.string())
    )
    a = a.append_column(
        "name_a", a_names if a_names is not None else pa.nulls(a.num_rows, pa.string())
    )
    joined = b.join(a, "customer_id", join_type="full outer")
    tier_b = pc.fill_null(joined.column("tier_b"), NEW)
    tier_a = pc.fill_null(joined.column("tier_a"), GONE)
    rev_b, rev_a = joined.column("revenue_b"), joined.column("revenue_a")
    first, second = (rev_a, rev_b) if revenue_side == "after" else (rev_b, rev_a)
    revenue = pc.coalesce(first, second, pa.scalar(0.0))
    name = pc.coalesce(joined.column("name_a"), joined.column("name_b"))

    present_b = set(pc.unique(tier_b).to_pylist()) - {NEW}
    present_a = set(pc.unique(tier_a).to_pylist()) - {GONE}
    rows = [*names_before, *sorted(present_b - set(names_before)), NEW]
    columns = [*names_after, *sorted(present_a - set(names_after)), GONE]

    cells = (
        pa.table({"b": tier_b, "a": tier_a, "r": revenue})
        .group_by(["b", "a"])
        .aggregate([("r", "count"), ("r", "sum")])
        .to_pylist()
    )
    r_index = {t: i for i, t in enumerate(rows)}
    c_index = {t: j for j, t in enumerate(columns)}
    counts = [[0] * len(columns) for _ in rows]
    money = [[0.0] * len(columns) for _ in rows]
    for cell in cells:
        i, j = r_index[cell["b"]], c_index[cell["a"]]
        counts[i][j] += cell["r_count"]
        money[i][j] += float(cell["r_sum"] or 0.0)

    # moves: customers on both sides whose tier name differs
    changed = pc.and_(
        pc.and_(pc.is_valid(joined.column("tier_b")), pc.is_valid(joined.column("tier_a"))),
        pc.not_equal(joined.column("tier_b"), joined.column("tier_a")),
    )
    moved = pa.table(
        {
            "customer_id": joined.column("customer_id"),
            "name": name,
            "b": joined.column("tier_b"),
            "a": joined.column("tier_a"),
            "r": revenue,
        }
    ).filter(changed)
    moved = moved.take(
        pc.sort_indices(moved, sort_keys=[("r", "descending"), ("customer_id", "ascending")])
    )
    rank = {t: k for k, t in enumerate(names_after)}
    ups: list[Move] = []
    downs: list[Move] = []
    others: list[Move] = []
    for row in moved.to_pylist():
        before_rank, after_rank = rank.get(row["b"]), rank.get(row["a"])
        steps = 0 if before_rank is None or after_rank is None else before_rank - after_rank
        move = Move(row["customer_id"], row["name"], row["b"], row["a"], row["r"], steps)
        (ups if steps > 0 else downs if steps < 0 else others).append(move)
    return Migration(
        rows=tuple(rows),
        columns=tuple(columns),
        counts=tuple(tuple(r) for r in counts),
        revenue=tuple(tuple(r) for r in money),
        upgrades=tuple(ups),
        downgrades=tuple(downs),
        unordered=tuple(others),
    )


def migration(previous, current, tier_names: Sequence[str]) -> Migration:
    """Who moved between two evaluations: the from → to matrix, upgrades and downgrades.

    ``previous`` and ``current`` are two outputs (columns ``customer_id``, ``tier`` and
    ``revenue``; a name column is used if present). Rows are the previous tiers in
    ``tier_names`` order, then any other tier found (alphabetically), then ``new`` for
    customers absent before; columns are the current tiers likewise, then ``gone`` for
    customers absent now. Counts are customers; revenue is the current revenue, and the
    previous revenue in the ``gone`` column (what was lost).

    ``upgrades`` and ``downgrades`` list the customers present in both whose tier moved
    toward the first (best) or the last tier of ``tier_names``, largest revenue first;
    ``steps`` counts the tiers crossed (positive up). Moves involving a tier not in
    ``tier_names`` go to ``unordered``.
    """
    names = list(tier_names)
    return _migrate(previous, current, names, names, "after", "migration")
