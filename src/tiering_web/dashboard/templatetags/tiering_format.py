"""Numbers as the viewer's language writes them: ``{% load tiering_format %}``.

``money``: two decimals with thousands separators; ``pct``: a share as a percentage;
``amount``: an integer as such, otherwise two decimals. All read ``—`` when empty.
Separators follow the active language through Django's formats.
"""

import math
from decimal import Decimal

from django import template
from django.utils.formats import number_format

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
