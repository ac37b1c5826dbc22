"""Concentration: how much the business depends on its largest customers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiering.reports.results import (
    _descending,
    _floats,
    _ids,
    _names,
    _require,
    _strings,
    _take,
    _top_share,
    as_arrow,
)


@dataclass(frozen=True)
class CustomerShare:
    """A customer's revenue and its share of the total (positive) revenue."""

    customer_id: str
    name: str | None
    tier: str | None
    revenue: float
    share: float


@dataclass(frozen=True)
class Concentration:
    """Dependence on a few customers (see :func:`concentration`)."""

    customers: int
    total_revenue: float
    total_profit: float | None
    top1_revenue: float
    top5_revenue: float
    top10_revenue: float
    top1_profit: float | None
    top5_profit: float | None
    top10_profit: float | None
    hhi: float
    alert_share: float
    alerts: tuple[CustomerShare, ...]
    top10: tuple[CustomerShare, ...]

    def to_rows(self) -> list[dict]:
        """Top-1/5/10 shares of revenue and of profit, one row each."""
        return [
            {
                "top": k,
                "revenue_share": getattr(self, f"top{k}_revenue"),
                "profit_share": getattr(self, f"top{k}_profit"),
            }
            for k in (1, 5, 10)
        ]

    def alert_rows(self) -> list[dict]:
        return [_share_row(s) for s in self.alerts]

    def top_rows(self) -> list[dict]:
        return [_share_row(s) for s in self.top10]


def _share_row(s: CustomerShare) -> dict:
    return {
        "customer_id": s.customer_id,
        "name": s.name,
        "tier": s.tier,
        "revenue": s.revenue,
        "share": s.share,
    }


def concentration(results, *, alert_share: float = 0.10) -> Concentration:
    """How much the business depends on its largest customers.

    Uses ``customer_id``, ``revenue`` and, if present, ``profit``, ``tier`` and a name
    column. Gives the share of the top 1, 5 and 10 customers in revenue and in profit
    (each ranked by that measure; shares of the total of positive values), the
    Herfindahl–Hirschman index on revenue (the sum of squared revenue shares × 10,000:
    10,000 for a single customer, 10,000 / n for n equal customers), the ten largest
    customers, and an alert for every customer holding ``alert_share`` of revenue or more
    (at or above: 10% exactly is an alert), largest first.
    """
    table = as_arrow(results)
    _require(table, ["customer_id", "revenue"], "concentration")
    ids = _ids(table)
    names = _names(table)
    tiers = _strings(table, "tier") if "tier" in table.column_names else None
    revenue = _floats(table, "revenue")
    order = _descending(revenue, ids)
    desc = revenue[order]
    total = float(desc[desc > 0].sum())
    shares = np.where(desc > 0, desc, 0.0) / total if total > 0 else np.zeros(len(desc))
    hhi = float((shares**2).sum() * 10_000)

    profit_tops: dict[int, float | None] = dict.fromkeys((1, 5, 10))
    total_profit = None
    if "profit" in table.column_names:
        profit = np.sort(_floats(table, "profit"))[::-1]
        total_profit = float(profit[profit > 0].sum())
        profit_tops = {k: _top_share(profit, total_profit, k) for k in (1, 5, 10)}

    def share_list(count: int) -> tuple[CustomerShare, ...]:
        positions = order[:count]
        return tuple(
            CustomerShare(i, nm, t, float(r), float(s))
            for i, nm, t, r, s in zip(
                _take(ids, positions),
                _take(names, positions),
                _take(tiers, positions),
                desc[:count],
                shares[:count],
                strict=True,
            )
        )

    alerts = int((shares >= alert_share).sum()) if total > 0 else 0
    return Concentration(
        customers=table.num_rows,
        total_revenue=total,
        total_profit=total_profit,
        top1_revenue=_top_share(desc, total, 1),
        top5_revenue=_top_share(desc, total, 5),
        top10_revenue=_top_share(desc, total, 10),
        top1_profit=profit_tops[1],
        top5_profit=profit_tops[5],
        top10_profit=profit_tops[10],
        hhi=hhi,
        alert_share=alert_share,
        alerts=share_list(alerts),
        top10=tuple(s for s in share_list(10) if s.revenue > 0),
    )
