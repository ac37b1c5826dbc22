"""Weighted scorecard: each factor scores 0-100 points; the weighted mean is the score.

Scales:

- ``percentile``: 100 × PERCENT_RANK (SQL semantics: (rank − 1)/(n − 1), ties share the
  lowest rank) over the customers whose value is not empty, within ``group_by`` if given;
  ``invert: true`` ranks lower values higher. One customer alone scores 0.
- ``minmax``: 100 × (value − min)/(max − min) (inverted: (max − value)/(max − min)); 0 when
  every value is the same.
- ``bands``: the points of the highest bound the value reaches (value ≥ bound), ``default``
  (0) below the first; inverted, the points of the lowest bound the value stays at or under.
- ``map``: points by the value's text; ``default`` (0) for other values.

Empty values score 0. Score = Σ weight × points / Σ weight, rounded to 2 decimals before it
is compared with the tiers' ``min_score``, so the tier always agrees with the score shown.
A customer gets the first tier whose ``min_score`` ≤ score; the last tier takes the rest.
"""

from __future__ import annotations

import operator
from functools import reduce

import ibis
import ibis.expr.types as ir

from tiering.grading.common import (
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
from tiering.metrics import NEVER_EMPTY
from tiering.rules import Factor, RuleSet, Scorecard


def _f(x: float) -> ir.FloatingValue:
    """A float constant that stays a double in SQL. Ibis writes float literals bare, DuckDB
    reads a bare 0.333… as a DECIMAL, and decimal products overflow; a cast from text keeps
    the type on every backend."""
    return ibis.literal(repr(float(x))).cast("float64")


def points(table: ir.Table, factor: Factor) -> tuple[ir.Value, ir.FloatingValue]:
    """``(value, points)`` expressions for one factor."""
    scale = factor.scale
    numeric = scale.kind != "map"
    value = value_of(table, factor.factor, numeric=numeric)
    never_empty = factor.factor in NEVER_EMPTY
    empty = ibis.literal(False) if never_empty else value.isnull()
    groups = [] if never_empty else [empty]
    if factor.group_by:
        groups.insert(0, value_of(table, factor.group_by))
    if scale.kind == "percentile":
        # doubles sort faster than wide decimals and order amounts below 10^13 the same
        key = value.cast("float64") if value.type().is_decimal() else value
        order = ibis.desc(key) if factor.invert else key
        raw = ibis.percent_rank().over(group_by=groups, order_by=order) * 100
    elif scale.kind == "minmax":
        v = value.cast("float64")
        lo = v.min().over(group_by=groups)
        hi = v.max().over(group_by=groups)
        span = hi - lo
        top = (hi - v) if factor.invert else (v - lo)
        raw = ibis.ifelse(span > 0, top / span * 100, _f(0.0))
    elif scale.kind == "bands":
        v = value.cast("float64")
        if factor.invert:
            cases = [(v <= bound, _f(pts)) for bound, pts in scale.bands]
        else:
            cases = [(v >= bound, _f(pts)) for bound, pts in reversed(scale.bands)]
        raw = ibis.cases(*cases, else_=_f(scale.default)) if cases else _f(scale.default)
    else:  # map
        v = value.cast("string").strip()
        cases = [(v == key, _f(pts)) for key, pts in scale.mapping]
        raw = ibis.cases(*cases, else_=_f(scale.default))
    pts = raw.cast("float64") if never_empty else ibis.ifelse(empty, _f(0.0), raw.cast("float64"))
    return value, pts


def grade(
    table: ir.Table,
    rules: RuleSet,
    lang: str = "en",
    *,
    as_of=None,
    languages: tuple[str, ...] = (),
) -> ir.Table:
    card = method_of(rules, Scorecard)
    total = card.total_weight
    cols: dict[str, ir.Value] = {}
    terms = []
    for f in card.factors:
        value, pts = points(table, f)
        cols[f"{f.name}_value"] = value
        cols[f"{f.name}_points"] = pts.round(2)
        terms.append(pts * _f(f.weight / total))
    weighted = reduce(operator.add, terms)  # a scorecard has at least one factor
    table = table.mutate(**cols, score=weighted.round(2))
    score = table.score

    tiers = rules.tiers
    mins = [tier_bound(t, t.min_score) for t in tiers[:-1]]
    rank = first_match([score >= _f(m) for m in mins], len(tiers) - 1)
    table = table.mutate(**tier_columns(rules, rank))
    gap_values: list[float | None] = [None, *mins]
    cases = [
        (table._tier_rank == i, _f(v) - table.score)
        for i, v in enumerate(gap_values)
        if v is not None
    ]
    gap = ibis.cases(*cases, else_=ibis.null("float64")) if cases else ibis.null("float64")

    # reason: "score 78.4 ≥ 75 → A: revenue 92.0 × 40%, ..."
    heads = []
    for i, t in enumerate(tiers):
        if i < len(tiers) - 1:
            heads.append((f" ≥ {number(mins[i])} → {t.name}", i))
        else:
            below = f" < {number(mins[-1])}" if mins else ""
            heads.append((f"{below} → {t.name}", i))
    head = ibis.cases(*[(table._tier_rank == i, h) for h, i in heads], else_="")

    def reason(lang: str) -> ir.StringValue:
        is_zh = zh(lang)
        parts = []
        for f in card.factors:
            share = number(round(f.weight / total * 100, 1)) + "%"
            name = f.label or label(f.factor, lang)
            sep = "分 × " if is_zh else " × "
            parts.append(concat(f"{name} ", text(table[f"{f.name}_points"]), sep + share))
        joined = parts[0]
        for p in parts[1:]:
            joined = concat(joined, "，" if is_zh else ", ", p)
        return concat(
            "得分 " if is_zh else "score ",
            text(table.score),
            head,
            "：" if is_zh else ": ",
            joined,
        )

    return table.mutate(
        **worded(reason, lang, languages),
        gap=gap.round(2),
        gap_unit=ibis.literal("points"),
        _sort=table.score,
    )
