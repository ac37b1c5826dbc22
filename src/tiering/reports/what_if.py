"""What-if: how proposed rules would regrade the customers against the current ones."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tiering.reports.migration_matrix import GONE, NEW, Migration, _migrate


@dataclass(frozen=True)
class Comparison:
    """The effect of proposed rules against the current ones (see :func:`compare`)."""

    matrix: Migration
    customers: int
    total_revenue: float
    changed: int
    changed_revenue: float
    up: int
    up_revenue: float
    down: int
    down_revenue: float
    unordered: int
    unordered_revenue: float

    def to_rows(self) -> list[dict]:
        """Customers and revenue changing tier: in total, up, down and without a direction."""
        return [
            {
                "direction": d,
                "customers": getattr(self, d),
                "revenue": getattr(self, d + "_revenue"),
            }
            for d in ("changed", "up", "down", "unordered")
        ]


def compare(
    current,
    proposed,
    tier_names_current: Sequence[str],
    tier_names_proposed: Sequence[str],
) -> Comparison:
    """What-if: how proposed rules would regrade the customers against the current ones.

    ``current`` and ``proposed`` are outputs of :func:`tiering.evaluate` on the same data
    under the two rule sets. The matrix has the current tiers as rows and the proposed
    tiers as columns (``new``/``gone`` only when the customer sets differ); revenue is the
    current revenue throughout (the proposed rules may use another lookback).

    A customer *changes tier* when the tier's name differs. Its direction is known when
    its current tier's name is also a proposed tier: up or down by the proposed order (so
    A/B/C → A/B/C/D compares directly, C → D is down). Otherwise (e.g. A/B/C against
    金/银/铜) the change is counted as ``unordered``. Customers on one side only are not
    counted as changes.
    """
    matrix = _migrate(
        current, proposed, list(tier_names_current), list(tier_names_proposed), "before", "compare"
    )
    changed = [*matrix.upgrades, *matrix.downgrades, *matrix.unordered]
    both = sum(
        matrix.counts[i][j]
        for i, r in enumerate(matrix.rows)
        for j, c in enumerate(matrix.columns)
        if r != NEW and c != GONE
    )
    total = sum(
        matrix.revenue[i][j]
        for i, r in enumerate(matrix.rows)
        for j, c in enumerate(matrix.columns)
        if r != NEW and c != GONE
    )

    def total_of(moves) -> float:
        return float(math.fsum(m.revenue for m in moves))

    return Comparison(
        matrix=matrix,
        customers=both,
        total_revenue=float(total),
        changed=len(changed),
        changed_revenue=total_of(changed),
        up=len(matrix.upgrades),
        up_revenue=total_of(matrix.upgrades),
        down=len(matrix.downgrades),
        down_revenue=total_of(matrix.downgrades),
        unordered=len(matrix.unordered),
        unordered_revenue=total_of(matrix.unordered),
    )
