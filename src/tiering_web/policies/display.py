"""Policies as the reader's language writes them: benefit texts, the terms with their
units ("30 days", "¥"-less money with two decimals and separators) and the answer-time
target ("80% within 20 s" / "80% 在 20 秒内接听").

Used by the pages, the customer page's section and the API alike, so every place says a
term the same way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext_lazy
from django.utils.translation import gettext as _

from tiering_web.dashboard.templatetags.tiering_format import money
from tiering_web.policies.models import TierPolicy

DASH = "—"

#: The terms by group, in the order the pages show them.
GROUPS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (pgettext_lazy("tier policy", "Benefits"), ("benefits",)),
    (
        gettext_lazy("Commercial terms"),
        (
            "price_coefficient",
            "discount_percent",
            "payment_terms_days",
            "credit_days",
            "credit_limit",
            "delivery_lead_days",
        ),
    ),
    (
        gettext_lazy("Service level"),
        (
            "dedicated_manager",
            "service_team",
            "revisit_days",
            "queue_priority",
            "answer_seconds",
            "callback_hours",
        ),
    ),
)

#: Terms shown together with another one (the share goes with the answer time).
_LABELS = {"answer_seconds": gettext_lazy("answer-time target")}


def _zh(lang: str | None = None) -> bool:
    return (lang or get_language() or "").lower().startswith("zh")


def benefit_text(benefit: dict, lang: str | None = None) -> str:
    """A benefit in the reader's language, the other language when it has only that one,
    its code when it has neither."""
    zh, en = str(benefit.get("zh") or "").strip(), str(benefit.get("en") or "").strip()
    first, second = (zh, en) if _zh(lang) else (en, zh)
    return first or second or str(benefit.get("code") or "")


def term_label(term: str) -> str:
    label = _LABELS.get(term) or TierPolicy._meta.get_field(term).verbose_name
    return str(label)


def _days(n: int) -> str:
    return ngettext("%(n)s day", "%(n)s days", n) % {"n": number_format(n, use_l10n=True)}


def _number(value: Decimal, digits: int) -> str:
    return number_format(value, digits, use_l10n=True, force_grouping=True)


def answer_target(policy: TierPolicy | None) -> str:
    """ "80% within 20 s", or "within 20 s" without a share, or "—"."""
    if policy is None or policy.answer_seconds is None:
        return DASH
    seconds = number_format(policy.answer_seconds, use_l10n=True)
    if policy.answer_share is None:
        return _("within %(seconds)s s") % {"seconds": seconds}
    share = policy.answer_share * 100
    share_text = _number(share, 0 if share == share.to_integral_value() else 1)
    return _("%(share)s%% within %(seconds)s s") % {"share": share_text, "seconds": seconds}


def term_value(policy: TierPolicy | None, term: str, value: Any = None) -> str:
    """One term of ``policy`` (or ``value`` when given without a policy) as text."""
    if policy is not None and term == "answer_seconds":
        return answer_target(policy)
    if policy is not None:
        value = getattr(policy, term)
    if term == "benefits":
        texts = [benefit_text(b) for b in value or []]
        return "; ".join(texts) if texts else DASH
    if term == "dedicated_manager":
        return _("yes") if value else _("no")
    if value is None or value == "":
        return DASH
    if term in ("payment_terms_days", "credit_days", "delivery_lead_days", "revisit_days"):
        return _days(value)
    if term == "credit_limit":
        return money(value)
    if term == "price_coefficient":
        return _number(value, 3)
    if term == "discount_percent":
        return _number(value, 2) + "%"
    if term == "answer_share":
        return _number(value * 100, 1) + "%"
    if term == "callback_hours":
        return ngettext("within %(n)s hour", "within %(n)s hours", value) % {"n": value}
    if term == "queue_priority":
        return _("%(n)s (1 first, 9 last)") % {"n": value}
    return str(value)


def terms_table(policies: list[TierPolicy]) -> dict[str, Any]:
    """Rows of terms by group, a column per tier: {"tiers": [...], "groups": [(label,
    [(term label, [value per tier])])]}; the answer share goes with the answer time."""
    groups = []
    for label, terms in GROUPS:
        rows = [(term_label(t), [term_value(p, t) for p in policies]) for t in terms]
        groups.append((label, rows))
    return {"tiers": [p.tier for p in policies], "groups": groups}


def changes_text(
    changes: list[tuple[str, Any, Any]], old: TierPolicy | None, new: TierPolicy | None
) -> list[tuple[str, str, str]]:
    """(term, old, new) as (label, old text, new text); the answer time and its share
    read as one target ("80% within 20 s")."""
    out = []
    target = False
    for term, before, after in changes:
        if term in ("answer_seconds", "answer_share"):
            if not target:
                out.append((term_label("answer_seconds"), answer_target(old), answer_target(new)))
                target = True
            continue
        out.append(
            (term_label(term), term_value(None, term, before), term_value(None, term, after))
        )
    return out
