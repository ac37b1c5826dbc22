"""A stored rule set version as people read it: the method, its factors or metric, and
each tier with its bound, from the engine's own parse of the definition."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from tiering import RuleError, parse_rules
from tiering.rules import MONEY_METRICS, RFM_SEGMENTS, Pareto, Scorecard, Thresholds, metric_label

from .forms import METHOD_CHOICES


@dataclass
class Readable:
    method: str
    measure: list[tuple[str, str]]  # (what, value) lines about the method
    factors: list[dict]
    tiers: list[tuple[str, str]]  # (tier, bound as text)
    settings: list[tuple[str, str]]
    error: str = ""


def _num(value, places=None, **kwargs) -> str:
    """A number in the viewer's format; whole floats without their ".0"."""
    if isinstance(value, float) and value.is_integer() and places is None:
        value = int(value)
    return number_format(value, places, **kwargs)


def _percent(value: Fraction) -> str:
    percent = Decimal(value.numerator) * 100 / Decimal(value.denominator)
    places = 0 if percent == percent.to_integral_value() else 2
    return number_format(percent, places) + "%"


def _scale(scale, lang: str) -> str:
    if scale.kind == "percentile":
        return _("percentile rank")
    if scale.kind == "minmax":
        return _("min-max")
    if scale.kind == "bands":
        pairs = "; ".join(f"≥ {_num(b)} → {_num(p)}" for b, p in scale.bands)
    else:
        pairs = "; ".join(f"{k} → {_num(p)}" for k, p in scale.mapping)
    other = _("otherwise %(points)s") % {"points": _num(scale.default)}
    return f"{pairs}; {other}"


def readable(definition: dict, lang: str) -> Readable:
    try:
        rules = parse_rules(definition)
    except RuleError as e:  # stored before a rule changed; say so rather than fail
        return Readable("", [], [], [], [], error=e.message(lang))
    method = dict(METHOD_CHOICES).get(rules.method_name, rules.method_name)
    m = rules.method
    measure: list[tuple[str, str]] = []
    factors: list[dict] = []
    money = False
    if isinstance(m, Scorecard):
        total = m.total_weight
        for f in m.factors:
            factors.append(
                {
                    "name": f.label or metric_label(f.factor, lang),
                    "weight": _num(f.weight),
                    "share": number_format(f.weight / total * 100, 1) + "%",
                    "scale": _scale(f.scale, lang),
                    "invert": f.invert,
                    "group_by": metric_label(f.group_by, lang) if f.group_by else "",
                }
            )
    elif isinstance(m, Pareto):
        measure.append((_("Metric"), metric_label(m.metric, lang)))
        by = _("share of the value") if m.by == "value" else _("share of customers")
        measure.append((_("Cut by"), str(by)))
        if m.group_by:
            measure.append((_("Within each"), metric_label(m.group_by, lang)))
    elif isinstance(m, Thresholds):
        measure.append((_("Metric"), metric_label(m.metric, lang)))
        money = m.metric in MONEY_METRICS
    elif rules.method_name == "rfm":
        for what, ref in ((_("Recency"), m.recency), (_("Frequency"), m.frequency)):
            measure.append((what, metric_label(ref, lang)))
        measure.append((_("Monetary"), metric_label(m.monetary, lang)))
        measure.append((_("High/low split at"), _("mean") if m.split == "mean" else _("median")))
    else:
        measure.append((_("Expected close date column"), metric_label(m.date, lang)))

    segments = {code: (zh, en) for code, zh, en in RFM_SEGMENTS}
    tiers = []
    for tier in rules.tiers:
        if tier.min_score is not None:
            bound = _("score ≥ %(n)s") % {"n": _num(tier.min_score)}
        elif tier.top is not None:
            bound = _("top %(p)s of customers") % {"p": _percent(tier.top)}
        elif tier.share is not None:
            bound = _("customers making up to %(p)s of the value") % {"p": _percent(tier.share)}
        elif tier.min is not None:
            shown = _num(tier.min, 2 if money else None, force_grouping=True)
            bound = "≥ " + shown
        elif tier.within is not None:
            bound = _("closes within %(period)s") % {"period": str(tier.within)}
        elif tier.code:
            zh, en = segments.get(tier.code, ("", ""))
            bound = f"{tier.code} ({zh if lang.startswith('zh') else en})"
        else:
            bound = _("everyone else")
        tiers.append((tier.name, bound))

    settings: list[tuple[str, str]] = []
    settings.append((_("Lookback"), str(rules.lookback) if rules.lookback else _("all history")))
    if rules.as_of:
        settings.append((_("Fixed evaluation date"), rules.as_of.isoformat()))
    if rules.downgrade.grace:
        settings.append((_("Downgrade grace (evaluations)"), str(rules.downgrade.grace)))
    if rules.downgrade.band:
        settings.append((_("Downgrade band (points)"), _num(rules.downgrade.band)))
    return Readable(str(method), measure, factors, tiers, settings)
