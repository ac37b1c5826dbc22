"""Is tiering worth it? The three conditions of DOMAIN.md, judged on the results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiering.reports.labels import LABELS, in_sentence, pct
from tiering.reports.results import (
    _floats,
    _ids,
    _require,
    _take,
    _top20_count,
    _top_share,
    as_arrow,
)

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
