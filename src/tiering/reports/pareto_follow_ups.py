"""Follow-ups from the Pareto rule: upgrade candidates and loss-makers inside the tiers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tiering.reports.results import (
    _descending,
    _floats,
    _ids,
    _names,
    _require,
    _strings,
    _take,
    _top20_count,
    as_arrow,
)


@dataclass(frozen=True)
class Candidate:
    """A customer on a follow-up list: its tier, the metric's value, revenue and profit."""

    customer_id: str
    name: str | None
    tier: str
    value: float
    revenue: float | None
    profit: float | None


@dataclass(frozen=True)
class FollowUps:
    """Upgrade candidates and loss-makers (see :func:`follow_ups`)."""

    metric: str
    middle_tiers: tuple[str, ...]
    last_tier: str | None
    upgrade_candidates: tuple[Candidate, ...]
    loss_makers: tuple[Candidate, ...]
    other_loss_makers: tuple[Candidate, ...]

    def to_rows(self) -> list[dict]:
        """All three lists, each row with ``kind`` = ``upgrade``, ``loss_maker`` (last tier)
        or ``other_loss_maker`` (a higher tier)."""
        rows = []
        for kind, items in (
            ("upgrade", self.upgrade_candidates),
            ("loss_maker", self.loss_makers),
            ("other_loss_maker", self.other_loss_makers),
        ):
            rows += [{"kind": kind, **_candidate_row(c)} for c in items]
        return rows


def _candidate_row(c: Candidate) -> dict:
    return {
        "customer_id": c.customer_id,
        "name": c.name,
        "tier": c.tier,
        "value": c.value,
        "revenue": c.revenue,
        "profit": c.profit,
    }


def follow_ups(results, tier_names: Sequence[str], *, metric: str = "profit") -> FollowUps:
    """Apply the Pareto rule again inside the tiers, as the ABC method's follow-ups.

    - **Upgrade candidates**: within each middle tier (every tier but the first and the
      last: B of A/B/C; B and C of A/B/C/D), the top 20% of its customers by ``metric``
      (the first ceil(n/5) of the tier's n customers, metric descending, ties by id),
      keeping only those whose metric is positive. ``value`` is the metric. Listed tier by
      tier, best first.
    - **Loss-makers**: within the last tier, the customers with negative ``profit``
      (whatever ``metric`` is), the largest loss first; ``value`` is the profit.
      ``other_loss_makers`` lists those in the higher tiers the same way: "some customers
      look big but the company keeps paying to keep them".

    Uses ``customer_id``, ``tier``, ``metric``, ``profit`` (loss-makers), and ``revenue``
    and a name column if present.
    """
    table = as_arrow(results)
    _require(table, ["customer_id", "tier", metric], "follow_ups")
    names_order = list(tier_names)
    ids = _ids(table)
    names = _names(table)
    tiers = _strings(table, "tier")
    tier_np = np.asarray(tiers.to_numpy(zero_copy_only=False), dtype=object)
    metric_values = _floats(table, metric, fill=None)
    revenue = _floats(table, "revenue") if "revenue" in table.column_names else None
    profit = _floats(table, "profit", fill=None) if "profit" in table.column_names else None

    def candidates(positions: np.ndarray, values: np.ndarray) -> tuple[Candidate, ...]:
        return tuple(
            Candidate(
                customer_id=i,
                name=nm,
                tier=t,
                value=float(v),
                revenue=None if revenue is None else float(revenue[p]),
                profit=None if profit is None else float(profit[p]),
            )
            for p, i, nm, t, v in zip(
                positions,
                _take(ids, positions),
                _take(names, positions),
                _take(tiers, positions),
                values[positions],
                strict=True,
            )
        )

    middle = names_order[1:-1]
    upgrades: list[Candidate] = []
    filled = np.where(np.isnan(metric_values), -np.inf, metric_values)
    for name in middle:
        in_tier = np.flatnonzero(tier_np == name)
        if not len(in_tier):
            continue
        order = in_tier[_descending(filled[in_tier], ids.take(pa.array(in_tier)))]
        top = order[: _top20_count(len(in_tier))]
        top = top[filled[top] > 0]
        upgrades += candidates(top, metric_values)

    last = names_order[-1] if names_order else None
    losses: tuple[Candidate, ...] = ()
    others: tuple[Candidate, ...] = ()
    if profit is not None and last is not None:
        losing = np.flatnonzero(np.nan_to_num(profit, nan=0.0) < 0)
        ascending = losing[_descending(-profit[losing], ids.take(pa.array(losing)))]
        rank = {n: i for i, n in enumerate(names_order)}
        in_last = tier_np[ascending] == last
        known = np.array([t in rank for t in tier_np[ascending]], dtype=bool)
        losses = candidates(ascending[in_last], profit)
        others = candidates(ascending[~in_last & known], profit)
        if len(others) > 1:  # best tier first, then the largest loss
            others = tuple(sorted(others, key=lambda c: rank[c.tier]))
    return FollowUps(
        metric=metric,
        middle_tiers=tuple(middle),
        last_tier=last,
        upgrade_candidates=tuple(upgrades),
        loss_makers=losses,
        other_loss_makers=others,
    )
