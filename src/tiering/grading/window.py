"""Prospect grading by expected close date: A within 3 months, B within 6...

A tier ``within: N months`` takes the prospects whose expected close date is on or before
``as_of`` + N calendar months (cut-off dates are computed in Python). Empty dates go to the
last tier; dates already past are kept in their tier and flagged ``overdue``. The gap to
the next tier up is the number of days the close would have to come earlier.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from tiering.grading.common import (
    by_rank,
    concat,
    first_match,
    label,
    method_of,
    tier_bound,
    tier_columns,
    value_of,
    worded,
    zh,
)
from tiering.rules import RuleSet, Window


def grade(
    table: ir.Table,
    rules: RuleSet,
    lang: str = "en",
    *,
    as_of: dt.date,
    languages: tuple[str, ...] = (),
) -> ir.Table:
    method = method_of(rules, Window)
    tiers = rules.tiers
    last = len(tiers) - 1
    date = value_of(table, method.date)
    if not date.type().is_date():
        date = date.cast("string").strip().nullif("").cast("date")
    cutoffs = [tier_bound(t, t.within).after(as_of) for t in tiers[:-1]]
    rank = first_match([date <= ibis.literal(c) for c in cutoffs], last)
    table = table.mutate(_date=date).mutate(**tier_columns(rules, rank))
    gap = by_rank(
        table._tier_rank,
        [None] + [table._date.delta(ibis.literal(c), unit="day").cast("float64") for c in cutoffs],
    )

    def reason(lang: str) -> ir.StringValue:
        is_zh = zh(lang)
        name = label(method.date, lang)
        heads = []
        for t, c in zip(tiers[:-1], cutoffs, strict=True):
            within = (
                str(t.within).replace("months", "个月").replace("days", "天")
                if is_zh
                else str(t.within)
            )
            heads.append(
                f" ≤ {c.isoformat()}（{within}内）→ {t.name}"
                if is_zh
                else f" ≤ {c.isoformat()} (within {within}) → {t.name}"
            )
        heads.append(f" > {cutoffs[-1].isoformat()} → {tiers[-1].name}")
        dated = concat(f"{name} ", table._date.cast("string"), by_rank(table._tier_rank, heads, ""))
        empty = f"没有{name} → {tiers[-1].name}" if is_zh else f"no {name} → {tiers[-1].name}"
        return ibis.ifelse(table._date.isnull(), ibis.literal(empty), dated)

    return table.mutate(
        **worded(reason, lang, languages),
        gap=gap.round(0),
        gap_unit=ibis.literal("days"),
        _flag_overdue=(table._date < ibis.literal(as_of)).fill_null(False),
    ).drop("_date")
