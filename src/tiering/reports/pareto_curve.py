"""The Pareto curve (a Lorenz curve turned by 180°): shares of customers against shares
of value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiering.reports.results import _floats, _require, as_arrow


@dataclass(frozen=True)
class Lorenz:
    """Points of the Pareto curve (see :func:`lorenz`)."""

    value: str
    customers: int
    customer_share: tuple[float, ...]
    value_share: tuple[float, ...]
    share_for_80: float | None

    def to_rows(self) -> list[dict]:
        return [
            {"customer_share": x, "value_share": y}
            for x, y in zip(self.customer_share, self.value_share, strict=True)
        ]

    def at(self, customer_share: float) -> float:
        """The share of value held by the best ``customer_share`` of customers
        (interpolated between the sampled points)."""
        return float(np.interp(customer_share, self.customer_share, self.value_share))


def lorenz(results, value: str = "revenue", points: int = 101) -> Lorenz:
    """The Pareto curve: cumulative share of customers against cumulative share of value.

    Customers are sorted by ``value`` **descending** (the best first), so the curve rises
    steeply then flattens and lies above the diagonal: the point (0.2, 0.8) reads "the
    top 20% of customers hold 80% of the value". (The classic Lorenz curve sorts
    ascending; it is this curve turned by 180°: L(x) = 1 − P(1 − x).)

    With n customers the exact curve joins (i/n, share held by the best i) for i = 0..n;
    it is sampled at ``points`` evenly spaced customer shares 0, 1/(points−1), …, 1 by
    linear interpolation. Values ≤ 0 count as 0 (they hold no share); with no positive
    value the curve is flat at 0. ``share_for_80`` is the smallest share of customers
    (i/n, exact) holding at least 80% of the value (None without value).
    """
    if points < 2:
        raise ValueError("points must be at least 2")
    table = as_arrow(results)
    _require(table, ["customer_id", value], "lorenz")
    values = np.clip(_floats(table, value), 0, None)
    n = len(values)
    desc = np.sort(values)[::-1]
    total = float(desc.sum())
    grid = np.linspace(0.0, 1.0, points)
    if n == 0 or total <= 0:
        return Lorenz(value, n, tuple(grid.tolist()), (0.0,) * points, None)
    cum = np.concatenate([[0.0], np.cumsum(desc) / total])
    cum[-1] = 1.0
    xs = np.arange(n + 1) / n
    ys = np.interp(grid, xs, cum)
    first = int(np.argmax(cum >= 0.8 - 1e-12))
    return Lorenz(value, n, tuple(grid.tolist()), tuple(ys.tolist()), first / n)
