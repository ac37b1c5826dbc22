"""Single-metric thresholds: the first tier whose ``min`` ≤ the customer's value.

Money metrics (revenue, cost, profit, lifetime_revenue) are compared as exact decimals;
empty values go to the last tier. Used for membership tiers by cumulative spend
(``metric: lifetime_revenue``) and for big/medium/small by annual amount. The gap is the
next tier's ``min`` minus the value.
"""

from __future__ import annotations

from decimal import Decimal

import ibis
import ibis.expr.types as ir

from tiering.grading.common import (
    by_rank,
    concat,
    first_match,
    is_money,
    label,
    method_of,
    number,
    text,
    tier_bound,
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
    method = method_of(rules, Thresholds)
    tiers = rules.tiers
    last = len(tiers) - 1
    value = value_of(table, method.metric, numeric=True)
    money = is_money(method.metric)
    mins = [tier_bound(t, t.min) for t in tiers[:-1]]

    def bound(m: Decimal) -> ir.NumericScalar:
        return ibis.literal(m, type="decimal(38, 2)") if money else ibis.literal(float(m))

    rank = first_match([value >= bound(m) for m in mins], last)
    table = table.mutate(_value=value).mutate(**tier_columns(rules, rank))
    gap = by_rank(
        table._tier_rank,
        [None] + [(bound(m) - table._value).cast("float64") for m in mins],
    )
    heads = [f" ≥ {number(m)} → {t.name}" for t, m in zip(tiers[:-1], mins, strict=True)]
    heads.append(f" < {number(mins[-1])} → {tiers[-1].name}")
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
