"""Numbers as the viewer's language writes them: ``{% load tiering_format %}``.

``money``: two decimals with thousands separators; ``pct``: a share as a percentage;
``amount``: an integer as such, otherwise two decimals. All read ``—`` when empty.
Separators follow the active language through Django's formats.
"""

import math
import re
from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy

from tiering.rules import METRICS, MONEY_METRICS
from tiering_web.customers.models import Customer

register = template.Library()

DASH = "—"


def _number(value) -> float | Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


@register.filter
def money(value, digits: int = 2) -> str:
    number = _number(value)
    if number is None:
        return DASH
    return number_format(round(number, digits), digits, use_l10n=True, force_grouping=True)


@register.filter
def pct(value, digits: int = 1) -> str:
    number = _number(value)
    if number is None:
        return DASH
    return number_format(float(number) * 100, digits, use_l10n=True) + "%"


@register.filter
def amount(value, digits: int = 2) -> str:
    number = _number(value)
    if number is None:
        return DASH
    if float(number).is_integer():
        return number_format(int(number), 0, use_l10n=True, force_grouping=True)
    return number_format(number, digits, use_l10n=True, force_grouping=True)


#: Stored result values that are bookkeeping, not measures: shown elsewhere on the page
#: (the override, the grace period) or only meaningful to the engine.
_HIDDEN = frozenset(
    {
        "computed_tier",
        "override_reason",
        "override_expires",
        "grace_count",
        "missing",
        "reasons",
        "cum_share_before",
        "r_split",
        "f_split",
        "m_split",
    }
)
#: How each kind of measure reads.
_PERCENT = frozenset({"growth", "margin", "p_alive"})
_WHOLE = frozenset(
    {"orders", "lifetime_orders", "recency_days", "tenure_days", "active_months", "rank"}
)
_EXTRA_LABELS = {
    "rank": ("rank", "排名"),
    "rfm_code": ("RFM code", "RFM代码"),
    "points": ("points", "分"),
    "days": ("days", "天"),
}


def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


@register.filter
def metric_label(name: str) -> str:
    """A metric, factor or attribute name as the viewer's language says it
    (``recency_days`` → "days since last order" / "距最近购买天数")."""
    key = str(name).removeprefix("attribute.")
    pair = METRICS.get(key) or _EXTRA_LABELS.get(key)
    if pair is not None:
        return pair[1] if _zh() else pair[0]
    try:
        return str(Customer._meta.get_field(key).verbose_name)
    except Exception:  # a custom dimension or an engine column without a label
        return key


@register.filter
def measure(value, name: str) -> str:
    """A stored measure formatted for its kind: money, percentage, whole number, text."""
    key = str(name).removeprefix("attribute.")
    if value is None or value == "":
        return DASH
    if key in MONEY_METRICS or key == "clv":
        return money(value)
    if key in _PERCENT:
        return pct(value)
    if key in _WHOLE:
        return amount(round(float(value)) if _number(value) is not None else value)
    if isinstance(value, str):
        try:
            field = Customer._meta.get_field(key)
        except Exception:
            return value
        return str(dict(field.choices or ()).get(value, value))
    return amount(value)


@register.filter
def measures(values: dict) -> list[tuple[str, str]]:
    """The result's measures worth showing, as (label, formatted value) pairs."""
    return [
        (metric_label(name), measure(value, name))
        for name, value in (values or {}).items()
        if name not in _HIDDEN
    ]


@register.filter
def may_override(user) -> bool:
    """Whether ``user`` may set a tier by hand (the role rules)."""
    from tiering_web.accounts.permissions import can_override

    return can_override(user)


@register.filter
def reason(result) -> str:
    """An evaluation result's explanation in the viewer's language."""
    from tiering_web.evaluations.explanations import reason_in

    return reason_in(result, get_language())


#: The engine's flags (``tiering.evaluation.FLAG_NAMES``) as the reader's language says them.
FLAGS = {
    "loss_maker": gettext_lazy("loss-maker"),
    "inactive": gettext_lazy("no orders in the period"),
    "overdue": gettext_lazy("overdue against their buying rhythm"),
    "band": gettext_lazy("kept by the downgrade band"),
    "grace": gettext_lazy("kept during the downgrade grace period"),
    "override": gettext_lazy("set by hand"),
}


@register.filter
def flags(value: str) -> str:
    """``"inactive;override"`` → "no orders in the period, set by hand" (translated)."""
    names = [n for n in re.split(r"[;,\s]+", value or "") if n]
    return ", ".join(str(FLAGS.get(n, n)) for n in names)
