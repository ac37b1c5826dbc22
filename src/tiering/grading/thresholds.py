"""Single-metric thresholds: the first tier whose ``min`` ≤ the customer's value.

Money metrics (revenue, cost, profit, lifetime_revenue) are compared as exact decimals;
empty values go to the last tier. Used for membership tiers by cumulative spend
(``metric: lifetime_revenue``) and for big/medium/small by annual amount. The gap is the
next tier's ``min`` minus the value.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tiering.grading.common import (
    by_rank,
    concat,
    first_match,
    is_money,
    label,
    number,
    text,
    tier_columns,
    value_of,
    worded,
    zh,
)
from tiering.rules import RuleSet, Thresholds


def grade(
    table: ir.Table,
    rules: RuleSet,
    lang: str = "en",
    *,
    as_of=None,
    languages: tuple[str, ...] = (),
) -> ir.Table:
    method: Thresholds = rules.method
    tiers = rules.tiers
    last = len(tiers) - 1
    value = value_of(table, method.metric, numeric=True)
    money = is_money(method.metric)

    def bound(t):
        return ibis.literal(t.min, type="decimal(38, 2)") if money else ibis.literal(float(t.min))

    rank = first_match([value >= bound(t) for t in tiers[:-1]], last)
    table = table.mutate(_value=value).mutate(**tier_columns(rules, rank))
    gap = by_rank(
        table._tier_rank,
        [None] + [(bound(t) - table._value).cast("float64") for t in tiers[:-1]],
    )
    heads = [f" ≥ {number(t.min)} → {t.name}" for t in tiers[:-1]]
    heads.append(f" < {number(tiers[-2].min)} → {tiers[-1].name}")
    head = by_rank(table._tier_rank, heads, "")

    def reason(lang: str) -> ir.StringValue:
        name = label(method.metric, lang) + " "
        empty = (
            f"{name}为空 → {tiers[-1].name}" if zh(lang) else f"{name}is empty → {tiers[-1].name}"
        )
        return ibis.ifelse(
            table._value.isnull(), ibis.literal(empty), concat(name, text(table._value), head)
        )

    return table.mutate(
        **worded(reason, lang, languages),
        gap=gap.round(2),
        gap_unit=ibis.literal(method.metric),
        _sort=table._value.cast("float64"),
    ).drop("_value")
