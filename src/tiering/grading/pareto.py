"""Pareto / ABC: rank customers by a metric (usually profit contribution).

Customers are ordered by the metric descending, ties by ``customer_id`` ascending, within
``group_by`` if given.

- ``by: customers`` with tiers ``top: 20%``, ``top: 50%``...: the customer at position p
  (1-based, n graded customers in its group) is in the first tier with p ≤ ceil(top × n).
  The ceiling is computed in integers ((p − 1) · q < num · n for top = num/q), so 7% of
  100 is exactly 7.
- ``by: value`` with tiers ``share: 80%``...: a customer is in the first tier whose share
  is still above the cumulative metric of the customers before it, as a fraction of the
  total of positive values; the customer that crosses the line is included. Compared
  exactly (decimal sums times integers).

Customers whose metric is ≤ 0 or empty always go to the last tier; with ``metric: profit``
those with negative profit are flagged ``loss_maker``. The gap to the next tier up is the
metric of the last customer inside that tier minus the customer's own.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tiering.grading.common import (
    by_rank,
    concat,
    first_match,
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
from tiering.rules import Pareto, RuleSet


def grade(
    table: ir.Table,
    rules: RuleSet,
    lang: str = "en",
    *,
    as_of=None,
    languages: tuple[str, ...] = (),
) -> ir.Table:
    method = method_of(rules, Pareto)
    tiers = rules.tiers
    last = len(tiers) - 1
    # the bound of every tier but the last: top (by customers) or share (by value)
    cuts = [tier_bound(t, t.top if method.by == "customers" else t.share) for t in tiers[:-1]]
    value = value_of(table, method.metric, numeric=True)
    groups = [value_of(table, method.group_by)] if method.group_by else []
    positive = (value > 0).fill_null(False)
    order = [value.isnull(), ibis.desc(value), table.customer_id]
    table = table.mutate(
        rank=ibis.row_number().over(group_by=groups, order_by=order) + 1,
        _n=table.customer_id.count().over(group_by=groups),
        _positive=positive,
        _value=value,
    )
    if method.by == "customers":
        conditions = [(table.rank - 1) * cut.denominator < table._n * cut.numerator for cut in cuts]
    else:
        pos_value = ibis.ifelse(table._positive, table._value, 0)
        cum = pos_value.sum().over(
            ibis.window(group_by=groups, order_by=order, preceding=None, following=0)
        )
        total = pos_value.sum().over(group_by=groups)
        table = table.mutate(_before=cum - pos_value, _total=total)
        conditions = [
            table._before * cut.denominator < table._total * cut.numerator for cut in cuts
        ]
    rank = ibis.ifelse(table._positive, first_match(conditions, last), last)
    table = table.mutate(**tier_columns(rules, rank))
    if method.by == "value":
        table = table.mutate(
            cum_share_before=ibis.ifelse(
                table._total > 0,
                table._before.cast("float64") / table._total.cast("float64"),
                None,
            ).round(6)
        )

    # the smallest metric inside each tier but the last: the line to cross
    cutoffs = {
        f"_cut{i}": ibis.ifelse(table._tier_rank == i, table._value, None)
        .min()
        .over(group_by=groups)
        for i in range(last)
    }
    table = table.mutate(**cutoffs)
    gap = by_rank(
        table._tier_rank,
        [None] + [table[f"_cut{i}"] - table._value for i in range(last)],
    )

    v = text(table._value)
    loss = method.metric == "profit"

    def reason(lang: str) -> ir.StringValue:
        is_zh = zh(lang)
        name = label(method.metric, lang)
        if method.by == "customers":
            head = {
                i: (
                    f"（前 {number(cuts[i])}）→ {t.name}"
                    if is_zh
                    else f" (top {number(cuts[i])}) → {t.name}"
                )
                for i, t in enumerate(tiers[:-1])
            }
            detail = concat(
                "，排名 " if is_zh else ", rank ",
                table.rank.cast("string"),
                "/" if is_zh else " of ",
                table._n.cast("string"),
            )
        else:
            head = {i: f" < {number(cuts[i])} → {t.name}" for i, t in enumerate(tiers[:-1])}
            pct = (table._before.cast("float64") / table._total.cast("float64") * 100).round(1)
            detail = concat(
                "，之前客户累计占比 " if is_zh else ", customers before it hold ",
                pct.cast("string").fill_null("0"),
                "%",
            )
        positive_reason = concat(
            name + " ",
            v,
            detail,
            by_rank(table._tier_rank, [head.get(i) for i in range(len(tiers))], ""),
        )
        last_name = tiers[-1].name
        if method.by == "customers":
            beyond = (
                f"（超出前 {number(cuts[-1])}）→ {last_name}"
                if is_zh
                else f" (beyond the top {number(cuts[-1])}) → {last_name}"
            )
        else:
            beyond = f" ≥ {number(cuts[-1])} → {last_name}"
        positive_reason = ibis.ifelse(
            table._tier_rank == last, concat(name + " ", v, detail, beyond), positive_reason
        )
        nonpositive_reason = concat(
            name + " ",
            v,
            f" ≤ 0 → {last_name}",
        )
        if loss:
            nonpositive_reason = ibis.ifelse(
                (table._value < 0).fill_null(False),
                concat(nonpositive_reason, "（亏损客户）" if is_zh else " (loss-maker)"),
                nonpositive_reason,
            )
        return ibis.ifelse(table._positive, positive_reason, nonpositive_reason)

    flags = {}
    if loss:
        flags["_flag_loss_maker"] = (table._value < 0).fill_null(False)
    out = table.mutate(
        **worded(reason, lang, languages),
        gap=gap.cast("float64").round(2),
        gap_unit=ibis.literal(method.metric),
        _sort=-table.rank,
        **flags,
    )
    drop = ["_n", "_positive", "_value", *cutoffs]
    if method.by == "value":
        drop += ["_before", "_total"]
    return out.drop(*drop)
