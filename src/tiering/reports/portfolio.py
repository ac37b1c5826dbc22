"""Portfolio analytics on a per-customer results table (the output of :func:`tiering.evaluate`).

Every function takes the results as an Arrow table, a pandas DataFrame, an Ibis table or an
:class:`~tiering.Evaluation`, reads the few columns it needs, and returns a small frozen
dataclass; ``.to_rows()`` gives it as a list of dicts for a table. Work is vectorised
(NumPy and Arrow), so a few million customers take seconds.

:mod:`~tiering.reports.results` reads the results table and states the conventions shared
by every function (money as floats, shares of the total of positive values, the order of
customers, "top 20%").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiering.reports.labels import LABELS, in_sentence, pct
from tiering.reports.results import (
    NAME_COLUMNS as NAME_COLUMNS,  # re-exported
)
from tiering.reports.results import (
    _descending,
    _floats,
    _ids,
    _names,
    _require,
    _strings,
    _take,
    _top20_count,
    _top_share,
    as_arrow,
)

#: Row and column names of a migration matrix for customers absent on one side.
NEW, GONE = "new", "gone"

# Thresholds of :func:`assess`, after the three conditions of DOMAIN.md.
#: Customers: at least SCALE_MET is clearly more than a manager can handle personally;
#: at least SCALE_PARTLY ("dozens") is enough for a B2B firm; fewer are known one by one.
SCALE_MET, SCALE_PARTLY = 100, 20
#: Share of the customers with an order who have two or more orders.
REPEAT_MET, REPEAT_PARTLY = 0.50, 0.25
#: Share of value held by the top 20% of customers: "well over half" / "more than an even
#: spread by a wide margin" (an even spread gives 20%).
TOP20_MET, TOP20_PARTLY = 0.60, 0.45
#: A single customer holding at least TOP1_MET of the value is a marked difference on its
#: own, provided that is at least TOP1_EVEN_MULTIPLE times an even share (with 10 customers
#: every customer holds 10% on average, which says nothing).
TOP1_MET, TOP1_EVEN_MULTIPLE = 0.05, 2.0

_POINTS = {"met": 2, "partly": 1, "not_met": 0}


# ---------------------------------------------------------------------------------------
# is tiering worth it?


@dataclass(frozen=True)
class Condition:
    """One of the three conditions that make tiering worthwhile, as judged on the data.

    ``key`` is ``scale``, ``repeat`` or ``dispersion``; ``status`` is ``met``, ``partly``
    or ``not_met``; ``en`` and ``zh`` explain it in one sentence."""

    key: str
    status: str
    en: str
    zh: str

    def text(self, lang: str = "en") -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True)
class Assessment:
    """Whether tiering is worth it for this customer base (see :func:`assess`)."""

    value: str
    customers: int
    buyers: int
    repeat_customers: int
    repeat_rate: float | None
    positive_customers: int
    total_value: float
    gini: float | None
    top20_share: float
    top1_share: float
    top1_customer: str | None
    conditions: tuple[Condition, ...]
    verdict: str
    reason_en: str
    reason_zh: str

    def reason(self, lang: str = "en") -> str:
        return self.reason_zh if lang.startswith("zh") else self.reason_en

    def to_rows(self) -> list[dict]:
        """The measures as ``{"measure", "value"}`` rows (machine names; labels translate)."""
        names = (
            "customers",
            "buyers",
            "repeat_customers",
            "repeat_rate",
            "positive_customers",
            "total_value",
            "gini",
            "top20_share",
            "top1_share",
            "top1_customer",
            "verdict",
        )
        return [{"measure": n, "value": getattr(self, n)} for n in names]


def assess(results, *, value: str = "revenue") -> Assessment:
    """Judge whether tiering is worth it here, by the three conditions of the domain.

    1. **Scale** (column ``customer_id``): more customers than a manager can personally
       handle. Met from :data:`SCALE_MET` (100) customers; partly from :data:`SCALE_PARTLY`
       (20, "dozens": enough for a B2B firm); not met below.
    2. **Repeat buying** (``lifetime_orders`` if present, else ``orders``): the share of
       the customers with at least one order who have two or more. Met from
       :data:`REPEAT_MET` (50%); partly from :data:`REPEAT_PARTLY` (25%); not met below,
       and not met when nobody has an order.
    3. **Value differences** (``value``, default ``revenue``): met when the top 20% of
       customers hold at least :data:`TOP20_MET` (60%, "well over half") of the value, or
       when one customer holds at least :data:`TOP1_MET` (5%) and at least twice an even
       share; partly when the top 20% hold at least :data:`TOP20_PARTLY` (45%); not met
       below (an even spread gives 20%).

    Verdict: **not worth it** when any condition is not met (a corner shop whose
    customers all buy small amounts; a handful of customers; one-off buyers); **worth
    it** when all are met or only one is partly met; **marginal** otherwise.

    Measures: ``repeat_rate`` (None without buyers); ``gini``, the Gini coefficient of
    the value over the customers with a positive value (None when there are none; 0 for
    one customer or equal values); ``top20_share``, the share of the top ceil(n/5) of
    all n customers; ``top1_share``. Shares are of the total of positive values.
    """
    table = as_arrow(results)
    orders_column = "lifetime_orders" if "lifetime_orders" in table.column_names else "orders"
    _require(table, ["customer_id", value, orders_column], "assess")
    ids = _ids(table)
    n = table.num_rows
    values = _floats(table, value)
    orders = _floats(table, orders_column)
    buyers = int((orders >= 1).sum())
    repeaters = int((orders >= 2).sum())
    repeat_rate = repeaters / buyers if buyers else None

    positive = np.sort(values[values > 0])  # ascending
    total = float(positive.sum())
    m = len(positive)
    gini = None
    if m:
        ranks = np.arange(1, m + 1, dtype=float)
        gini = float(2 * (ranks * positive).sum() / (m * total) - (m + 1) / m)
        gini = max(gini, 0.0)  # -1e-17 for equal values
    desc = positive[::-1]
    top20 = _top_share(desc, total, _top20_count(n))
    top1 = _top_share(desc, total, 1)
    top1_customer = None
    if m:  # the largest value; among equals, the smallest id
        tied = np.flatnonzero(values == values.max())
        top1_customer = min(_take(ids, tied))

    conditions = (
        _scale_condition(n),
        _repeat_condition(repeat_rate),
        _dispersion_condition(value, m, top20, top1),
    )
    points = [_POINTS[c.status] for c in conditions]
    if min(points) == 0:
        verdict = "not worth it"
    elif sum(points) >= 5:
        verdict = "worth it"
    else:
        verdict = "marginal"
    reasons = {
        lang: " ".join([LABELS[lang]["verdict_" + verdict]] + [c.text(lang) for c in conditions])
        for lang in ("en", "zh")
    }
    return Assessment(
        value=value,
        customers=n,
        buyers=buyers,
        repeat_customers=repeaters,
        repeat_rate=repeat_rate,
        positive_customers=m,
        total_value=total,
        gini=gini,
        top20_share=top20,
        top1_share=top1,
        top1_customer=top1_customer,
        conditions=conditions,
        verdict=verdict,
        reason_en=reasons["en"],
        reason_zh=reasons["zh"],
    )


def _condition(key: str, status: str, message: str, **fields) -> Condition:
    texts = {lang: LABELS[lang][message].format(**fields) for lang in ("en", "zh")}
    return Condition(key, status, texts["en"], texts["zh"])


def _scale_condition(n: int) -> Condition:
    status = "met" if n >= SCALE_MET else "partly" if n >= SCALE_PARTLY else "not_met"
    return _condition(
        "scale",
        status,
        "scale_" + status,
        customers=f"{n:,}",
        met=SCALE_MET,
        partly=SCALE_PARTLY,
    )


def _repeat_condition(rate: float | None) -> Condition:
    if rate is None:
        return _condition("repeat", "not_met", "repeat_none")
    status = "met" if rate >= REPEAT_MET else "partly" if rate >= REPEAT_PARTLY else "not_met"
    return _condition("repeat", status, "repeat_" + status, rate=pct(rate, 0))


def _dispersion_condition(value: str, positive: int, top20: float, top1: float) -> Condition:
    if not positive:
        texts = {
            lang: LABELS[lang]["dispersion_none"].format(value=in_sentence(value, lang))
            for lang in ("en", "zh")
        }
        return Condition("dispersion", "not_met", texts["en"], texts["zh"])
    big_one = top1 >= TOP1_MET and top1 >= TOP1_EVEN_MULTIPLE / positive
    if top20 >= TOP20_MET or big_one:
        status = "met"
    elif top20 >= TOP20_PARTLY:
        status = "partly"
    else:
        status = "not_met"
    texts = {
        lang: LABELS[lang]["dispersion_" + status].format(
            top20=pct(top20, 0), top1=pct(top1), value=in_sentence(value, lang)
        )
        for lang in ("en", "zh")
    }
    return Condition("dispersion", status, texts["en"], texts["zh"])


# ---------------------------------------------------------------------------------------
# concentration


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


# ---------------------------------------------------------------------------------------
# Pareto / Lorenz curve


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


# ---------------------------------------------------------------------------------------
# follow-ups from the Pareto rule


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


# ---------------------------------------------------------------------------------------
# churn warning


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


# ---------------------------------------------------------------------------------------
# migration and what-if


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
