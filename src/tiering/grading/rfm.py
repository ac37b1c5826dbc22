"""RFM: the eight segments from recency, frequency and monetary value, each high or low.

R is high when the recency metric is *below* its split (recent buyers), F and M are high
when above theirs. The split is the mean (or median) over the customers with at least one
transaction in the window; an empty recency is low. Mean comparisons are made exactly
(value × n against the sum), so money never wobbles around the split.

The code is R, F, M as 1 (high) / 0 (low), e.g. ``101``; the segments, best first:
111 重要价值, 101 重要发展, 011 重要保持, 001 重要挽留, 110 一般价值, 100 一般发展,
010 一般保持, 000 一般挽留 (rename them with ``tiers: [{name: ..., code: '111'}, ...]``).
The next tier up is the best segment one more high letter would give; the gap is how
far that letter's metric is from its split.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from tiering.grading.common import (
    by_rank,
    concat,
    label,
    method_of,
    text,
    tier_bound,
    value_of,
    worded,
    zh,
)
from tiering.rules import RFM, RuleSet


def _with_splits(table: ir.Table, dims, how: str) -> ir.Table:
    """Adds ``<k>_split`` (for display) and ``_<k>_high`` (above the split for F and M,
    below it for R) for each dimension, from the ``_<k>`` values of the customers with an
    order (``_active``).

    The mean compares exactly as value × n against the sum (window aggregates). The median
    is one aggregate row cross-joined back: PostgreSQL has no ``percentile_cont`` over a
    window.
    """
    values = {k: table[f"_{k}"] for k, _, _ in dims}
    values = {k: v if v.type().is_decimal() else v.cast("float64") for k, v in values.items()}
    if how == "median":
        medians = table.aggregate(
            **{f"_{k}_med": ibis.ifelse(table._active, v, None).median() for k, v in values.items()}
        )
        table = table.cross_join(medians)
        table = table.mutate(
            **{f"{k}_split": table[f"_{k}_med"].cast("float64").round(2) for k, _, _ in dims},
            **{
                f"_{k}_high": (
                    (table[f"_{k}"] > table[f"_{k}_med"])
                    if above
                    else (table[f"_{k}"] < table[f"_{k}_med"])
                ).fill_null(False)
                for k, _, above in dims
            },
        )
        return table.drop(*[f"_{k}_med" for k, _, _ in dims])
    splits, highs = {}, {}
    for k, _, above in dims:
        v = values[k]
        total = ibis.ifelse(table._active, v, None).sum().over()
        n = ibis.ifelse(table._active, 1, None).count().over()
        splits[f"{k}_split"] = (total.cast("float64") / n.cast("float64")).round(2)
        highs[f"_{k}_high"] = ((v * n > total) if above else (v * n < total)).fill_null(False)
    return table.mutate(**splits, **highs)


def grade(
    table: ir.Table,
    rules: RuleSet,
    lang: str = "en",
    *,
    as_of=None,
    languages: tuple[str, ...] = (),
) -> ir.Table:
    method = method_of(rules, RFM)
    dims = []
    for key, ref, above in (
        ("r", method.recency, False),
        ("f", method.frequency, True),
        ("m", method.monetary, True),
    ):
        dims.append((key, ref, above))
    table = table.mutate(
        _active=table.orders > 0,
        **{f"_{k}": value_of(table, ref, numeric=True) for k, ref, _ in dims},
    )
    table = _with_splits(table, dims, method.split)
    highs = {k: table[f"_{k}_high"] for k, _, _ in dims}
    code = concat(*[ibis.ifelse(highs[k], "1", "0") for k in ("r", "f", "m")])
    table = table.mutate(rfm_code=code)

    tiers = rules.tiers
    codes = [tier_bound(t, t.code) for t in tiers]
    rank = ibis.cases(
        *[(table.rfm_code == c, i) for i, c in enumerate(codes)], else_=len(codes) - 1
    )
    # the best segment reachable by raising one letter, and which letter
    nxt: dict[str, tuple[int, int]] = {}
    for i, c in enumerate(codes):
        options = []
        for pos in range(3):
            if c[pos] == "0":
                up = c[:pos] + "1" + c[pos + 1 :]
                options.append((codes.index(up), pos))
        better = [o for o in options if o[0] < i]
        if better:
            nxt[c] = min(better)
    gap_cases = []
    unit_cases = []
    for c, (_, pos) in nxt.items():
        k, ref, above = dims[pos]
        diff = (
            (table[f"{k}_split"] - table[f"_{k}"].cast("float64"))
            if above
            else (table[f"_{k}"].cast("float64") - table[f"{k}_split"])
        )
        gap_cases.append((table.rfm_code == c, diff))
        unit_cases.append((table.rfm_code == c, ref))
    table = table.mutate(
        tier=by_rank(rank, [t.name for t in tiers]),
        _tier_rank=rank,
        next_tier=ibis.cases(
            *[(table.rfm_code == c, tiers[j].name) for c, (j, _) in nxt.items()],
            else_=ibis.null("string"),
        ),
        gap=ibis.cases(*gap_cases, else_=ibis.null("float64")).round(2)
        if gap_cases
        else ibis.null("float64"),
        gap_unit=ibis.cases(*unit_cases, else_=ibis.null("string"))
        if unit_cases
        else ibis.null("string"),
    )

    def reason(lang: str) -> ir.StringValue:
        is_zh = zh(lang)
        parts = []
        for k, ref, above in dims:
            high = table.rfm_code.substr({"r": 0, "f": 1, "m": 2}[k], 1) == "1"
            op = ibis.ifelse(high, " > " if above else " < ", " ≤ " if above else " ≥ ")
            word = ibis.ifelse(high, "高" if is_zh else "high", "低" if is_zh else "low")
            parts.append(
                concat(
                    f"{k.upper()} {label(ref, lang)} ",
                    text(table[f"_{k}"]),
                    op,
                    table[f"{k}_split"].cast("string").fill_null("—"),
                    "（" if is_zh else " (",
                    word,
                    "）" if is_zh else ")",
                )
            )
        sep = "，" if is_zh else ", "
        return concat(
            parts[0], sep, parts[1], sep, parts[2], " → ", table.rfm_code, " ", table.tier
        )

    return table.mutate(**worded(reason, lang, languages), _sort=table._m.cast("float64")).drop(
        "_r", "_f", "_m", "_active", "_r_high", "_f_high", "_m_high"
    )
