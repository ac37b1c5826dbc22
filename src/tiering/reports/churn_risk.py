"""Churn warning: valuable customers going quiet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiering.reports.results import (
    _descending,
    _floats,
    _ids,
    _names,
    _require,
    _strings,
    _take,
    as_arrow,
)


@dataclass(frozen=True)
class AtRisk:
    """A valuable customer showing a churn warning.

    ``reasons`` holds ``p_alive`` and/or ``overdue``; ``usual_gap_days`` is the mean gap
    between its orders (None with fewer than two)."""

    customer_id: str
    name: str | None
    tier: str | None
    value: float
    p_alive: float | None
    recency_days: float | None
    usual_gap_days: float | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ChurnWarning:
    """Valuable customers going quiet (see :func:`churn_warning`).

    ``checked`` lists the criteria applied (``p_alive``, ``overdue``); ``skipped`` the
    others, each with the columns it lacked."""

    threshold: float
    top_tiers: tuple[str, ...]
    min_revenue: float | None
    revenue_column: str
    value_column: str
    valuable: int
    checked: tuple[str, ...]
    skipped: tuple[tuple[str, tuple[str, ...]], ...]
    at_risk: tuple[AtRisk, ...]

    @property
    def value_at_risk(self) -> float:
        return float(sum(a.value for a in self.at_risk))

    def to_rows(self) -> list[dict]:
        return [
            {
                "customer_id": a.customer_id,
                "name": a.name,
                "tier": a.tier,
                "value": a.value,
                "p_alive": a.p_alive,
                "recency_days": a.recency_days,
                "usual_gap_days": a.usual_gap_days,
                "reasons": ";".join(a.reasons),
            }
            for a in self.at_risk
        ]


def churn_warning(
    results,
    *,
    p_alive: str | Mapping[str, float] | None = None,
    threshold: float = 0.5,
    top_tiers: int = 1,
    min_revenue: float | None = None,
    tier_names: Sequence[str] | None = None,
) -> ChurnWarning:
    """Valuable customers who may be leaving, ranked by the value at risk.

    **Valuable**: in one of the first ``top_tiers`` tiers of ``tier_names`` (column
    ``tier``; without ``tier_names``, the tiers in the order they first appear in the
    results, which :func:`tiering.evaluate` sorts best first), or, when ``min_revenue`` is
    given, with ``lifetime_revenue`` (if present, else ``revenue``) ≥ ``min_revenue``.

    **Warning** when either criterion holds:

    - ``p_alive``: the probability that the customer is still active (e.g. from a BG/NBD
      model) is below ``threshold``. Read from ``p_alive``: a column name, or a mapping
      customer_id → probability (a pandas Series indexed by id works); by default the
      column ``p_alive`` if present. Customers without a probability are not flagged.
    - ``overdue``: the customer is late against its own rhythm: ``recency_days`` > 2 ×
      its mean gap between orders, the gap being the span from its first to its last
      order, (``tenure_days`` − ``recency_days``) / (orders − 1), for customers with two
      orders or more. Orders are ``lifetime_orders`` if present, else ``orders``. (The
      span is measured to the last order, not to ``as_of``: a gap measured to ``as_of``
      would grow with the very silence it should detect.) With ``orders`` counted in a
      lookback window shorter than the customer's history the gap is overestimated, so
      the warning errs on the side of silence.

    A criterion whose columns are missing is skipped and listed in ``skipped``. The
    customers are ranked by ``clv`` if present, else by ``revenue``, descending.
    """
    table = as_arrow(results)
    _require(table, ["customer_id"], "churn_warning")
    cols = set(table.column_names)
    ids = _ids(table)
    names = _names(table)
    n = table.num_rows

    valuable = np.zeros(n, dtype=bool)
    chosen: tuple[str, ...] = ()
    tiers = None
    if "tier" in cols:
        tiers = _strings(table, "tier")
        order = list(tier_names) if tier_names is not None else _appearance(tiers)
        chosen = tuple(order[: max(top_tiers, 0)])
        if chosen:
            valuable |= pc.is_in(tiers, value_set=pa.array(chosen)).to_numpy(zero_copy_only=False)
    revenue_column = "lifetime_revenue" if "lifetime_revenue" in cols else "revenue"
    if min_revenue is not None and revenue_column in cols:
        valuable |= _floats(table, revenue_column) >= min_revenue

    checked: list[str] = []
    skipped: list[tuple[str, tuple[str, ...]]] = []
    flagged_p = np.zeros(n, dtype=bool)
    probabilities = None
    if isinstance(p_alive, str) or p_alive is None:
        column = p_alive or "p_alive"
        if column in cols:
            probabilities = _floats(table, column, fill=None)
        else:
            skipped.append(("p_alive", (column,)))
    else:
        mapping = p_alive.to_dict() if hasattr(p_alive, "to_dict") else dict(p_alive)
        probabilities = np.array(
            [mapping.get(i, np.nan) for i in ids.to_pylist()], dtype=float
        ).reshape(n)
    if probabilities is not None:
        checked.append("p_alive")
        flagged_p = np.nan_to_num(probabilities, nan=np.inf) < threshold

    orders_column = "lifetime_orders" if "lifetime_orders" in cols else "orders"
    needed = ["recency_days", "tenure_days", orders_column]
    flagged_o = np.zeros(n, dtype=bool)
    gap = np.full(n, np.nan)
    recency = _floats(table, "recency_days", fill=None) if "recency_days" in cols else None
    if recency is not None and all(c in cols for c in needed):
        checked.append("overdue")
        tenure = _floats(table, "tenure_days", fill=None)
        orders = _floats(table, orders_column)
        repeat = orders >= 2
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.where(repeat, (tenure - recency) / np.where(repeat, orders - 1, 1), np.nan)
            flagged_o = np.nan_to_num(recency, nan=-np.inf) > 2 * np.nan_to_num(gap, nan=np.inf)
    else:
        skipped.append(("overdue", tuple(c for c in needed if c not in cols)))

    value_column = "clv" if "clv" in cols else "revenue"
    value = _floats(table, value_column) if value_column in cols else np.zeros(n)
    hit = np.flatnonzero(valuable & (flagged_p | flagged_o))
    hit = hit[_descending(value[hit], ids.take(pa.array(hit)))]
    at_risk = tuple(
        AtRisk(
            customer_id=i,
            name=nm,
            tier=t,
            value=float(value[p]),
            p_alive=None
            if probabilities is None or np.isnan(probabilities[p])
            else float(probabilities[p]),
            recency_days=None if recency is None or np.isnan(recency[p]) else float(recency[p]),
            usual_gap_days=None if np.isnan(gap[p]) else float(gap[p]),
            reasons=tuple(
                r for r, f in (("p_alive", flagged_p[p]), ("overdue", flagged_o[p])) if f
            ),
        )
        for p, i, nm, t in zip(
            hit, _take(ids, hit), _take(names, hit), _take(tiers, hit), strict=True
        )
    )
    return ChurnWarning(
        threshold=threshold,
        top_tiers=chosen,
        min_revenue=min_revenue,
        revenue_column=revenue_column,
        value_column=value_column,
        valuable=int(valuable.sum()),
        checked=tuple(checked),
        skipped=tuple(skipped),
        at_risk=at_risk,
    )


def _appearance(values: pa.ChunkedArray) -> list[str]:
    """Distinct non-empty values in the order they first appear."""
    return [v for v in pc.unique(values).to_pylist() if v is not None]
