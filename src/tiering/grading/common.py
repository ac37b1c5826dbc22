"""Pieces shared by the grading methods: reading a metric, naming tiers, writing reasons."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

import ibis
import ibis.expr.types as ir

from tiering.rules import MONEY_METRICS, Method, RuleSet, Tier, metric_label

_M = TypeVar("_M", bound=Method)
_B = TypeVar("_B")


def method_of(rules: RuleSet, kind: type[_M]) -> _M:
    """``rules.method`` as the settings of the grader that :data:`~tiering.grading.GRADERS`
    chose for ``rules.method_name``."""
    if not isinstance(rules.method, kind):
        raise TypeError(
            f"{rules.method_name} rules hold {type(rules.method).__name__}, not {kind.__name__}"
        )
    return rules.method


def tier_bound(tier: Tier, value: _B | None) -> _B:
    """A tier's bound (``tier.min_score``, ``tier.top``...) or RFM code, which the rules'
    validation guarantees on every tier that the method reads it from."""
    if value is None:
        raise ValueError(f"tier {tier.name!r} has no bound")
    return value


def value_of(table: ir.Table, ref: str, *, numeric: bool = False) -> ir.Value:
    """The column behind a metric reference; attributes cast to numbers when ``numeric``."""
    if ref.startswith("attribute."):
        col = table[ref.split(".", 1)[1]]
        if numeric and not col.type().is_numeric():
            return col.cast("string").strip().try_cast("float64")
        return col
    return table[ref]


def is_money(ref: str) -> bool:
    return ref in MONEY_METRICS


def zh(lang: str) -> bool:
    return lang.startswith("zh")


def language_key(lang: str) -> str:
    """``"zh"`` for Chinese (``zh``, ``zh-hans``...), ``"en"`` for English."""
    return "zh" if zh(lang) else "en"


def reason_columns(lang: str, languages: tuple[str, ...] = ()) -> dict[str, str]:
    """The reason columns a grader writes, each with its language: ``reason`` in ``lang``,
    then ``_reason_<key>`` for each other language of ``languages`` (keys ``zh``/``en``).
    :func:`tiering.evaluation.evaluate` turns them into ``reason_<key>`` at the end; the
    language of ``reason`` is not worded twice."""
    columns = {"reason": lang}
    for key in languages:
        if key != language_key(lang):
            columns[f"_reason_{key}"] = key
    return columns


def worded(build, lang: str, languages: tuple[str, ...] = ()) -> dict[str, ir.StringValue]:
    """``{column: build(language)}`` for the columns of :func:`reason_columns`: one grading,
    its reason written in each language asked for."""
    return {column: build(key) for column, key in reason_columns(lang, languages).items()}


def label(ref: str, lang: str) -> str:
    return metric_label(ref, lang)


def text(value: ir.Value, digits: int = 2) -> ir.StringValue:
    """A number or date as text for a reason sentence; empty values read as '—'."""
    if value.type().is_floating():
        # via a decimal: formatting decimals is much faster than formatting doubles, and
        # always shows the same number of places (92.50, not 92.5)
        value = value.round(digits).cast(f"decimal(18, {digits})")
    return value.cast("string").fill_null("—")


def concat(*parts) -> ir.StringValue:
    """Concatenate literal strings and string expressions."""
    out = None
    for p in parts:
        p = ibis.literal(p) if isinstance(p, str) else p
        out = p if out is None else out + p
    return out


def number(x: float | Decimal | Fraction) -> str:
    """A constant from the rules as a person writes it: 75, 0.1, 12.5%."""
    if isinstance(x, Fraction):
        pct = Decimal(x.numerator) * 100 / Decimal(x.denominator)
        return f"{pct.normalize():f}%"
    if isinstance(x, Decimal):
        return f"{x.normalize():f}"
    return f"{x:g}"


def by_rank(rank: ir.IntegerValue, values: list, default=None) -> ir.Value:
    """``values[rank]`` as an expression (None entries give empty)."""
    cases = [(rank == i, v) for i, v in enumerate(values) if v is not None]
    if not cases:
        return ibis.null() if default is None else ibis.literal(default)
    return ibis.cases(*cases, else_=default)


def tier_columns(rules: RuleSet, rank: ir.IntegerValue) -> dict[str, ir.Value]:
    """``tier``, ``_tier_rank`` and ``next_tier`` from a tier rank expression."""
    names = rules.tier_names
    return {
        "tier": by_rank(rank, names),
        "_tier_rank": rank,
        "next_tier": by_rank(rank, [None, *names[:-1]]).cast("string"),
    }


def first_match(conditions: list[ir.BooleanValue], last: int) -> ir.IntegerValue:
    """The index of the first true condition, else ``last``; empty conditions are false."""
    cases = [(c.fill_null(False), i) for i, c in enumerate(conditions)]
    if not cases:
        return ibis.literal(last)
    return ibis.cases(*cases, else_=last)
