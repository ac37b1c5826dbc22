"""Message wording: the built-in templates and a sandboxed renderer.

Templates use Django template syntax (``{{ new_tier }}``, ``{% for b in benefits %}``),
rendered by a separate :class:`django.template.Engine` that has the default tags and
filters but no tag libraries (``{% load %}`` fails), no template directories (``{% include
%}`` fails) and no autoescaping (messages are plain text). The context holds plain values
only (strings, numbers, lists and dicts of them, already formatted in the message's
language), never model instances, so a template can read nothing it is not given.

The variables of each kind are listed in :data:`VARIABLES` (shown on the template page).
"""

from __future__ import annotations

from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.utils.translation import gettext_lazy as _

from tiering_web.notifications.models import Channel, Kind, Language, MessageTemplate

ENGINE = Engine(dirs=[], app_dirs=False, libraries={}, autoescape=False, loaders=[])

#: Which channels each kind is written for.
CHANNELS = {
    Kind.TIER_UP: (Channel.EMAIL, Channel.SMS),
    Kind.TIER_DOWN: (Channel.EMAIL, Channel.SMS),
    Kind.WARNING: (Channel.EMAIL, Channel.SMS),
    Kind.DIGEST: (Channel.EMAIL,),
    Kind.ALERT: (Channel.EMAIL, Channel.WEBHOOK),
}

_CUSTOMER = ("customer_code", "customer_name", "contact_name")
VARIABLES = {
    Kind.TIER_UP: (*_CUSTOMER, "old_tier", "new_tier", "as_of", "benefits", "terms"),
    Kind.TIER_DOWN: (*_CUSTOMER, "old_tier", "new_tier", "as_of", "benefits", "terms"),
    Kind.WARNING: (
        *_CUSTOMER,
        "tier",
        "would_be",
        "evaluation_date",
        "as_of",
        "keep_tier",
        "gap",
    ),
    Kind.DIGEST: ("manager_name", "ruleset", "as_of", "changes", "ups", "downs"),
    Kind.ALERT: ("alert", "customer_code", "customer_name", "tier", "owner", "detail"),
}

HELP = {
    "benefits": _("list of the new tier's benefits"),
    "terms": _("list of the new tier's terms (discount, payment terms...)"),
    "changes": _("list of {code, name, old_tier, new_tier, change}"),
    "gap": _("what the customer still needs to keep the tier, with its unit"),
}

_ZH, _EN = Language.ZH.value, Language.EN.value
_E, _S, _W = Channel.EMAIL.value, Channel.SMS.value, Channel.WEBHOOK.value

_BENEFITS_ZH = (
    "{% if benefits %}您现在享有的权益：\n{% for b in benefits %}· {{ b }}\n{% endfor %}{% endif %}"
    "{% if terms %}商务条款：\n{% for t in terms %}· {{ t }}\n{% endfor %}{% endif %}"
)
_BENEFITS_EN = (
    "{% if benefits %}Your benefits now:\n{% for b in benefits %}- {{ b }}\n{% endfor %}{% endif %}"
    "{% if terms %}Terms:\n{% for t in terms %}- {{ t }}\n{% endfor %}{% endif %}"
)

#: (kind, language, channel) → (subject, body): the wording used without a saved template.
DEFAULTS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("tier_up", _ZH, _E): (
        "恭喜！{{ customer_name }} 已升级为 {{ new_tier }} 级客户",
        "{{ contact_name|default:customer_name }}，您好：\n\n"
        "根据截至 {{ as_of }} 的评定，贵司的客户等级由 {{ old_tier }} 升为 {{ new_tier }}。\n\n"
        + _BENEFITS_ZH
        + "\n感谢您的长期支持！",
    ),
    ("tier_up", _EN, _E): (
        "Congratulations: {{ customer_name }} moves up to tier {{ new_tier }}",
        "Dear {{ contact_name|default:customer_name }},\n\n"
        "Following our review as of {{ as_of }}, your customer tier has moved up from "
        "{{ old_tier }} to {{ new_tier }}.\n\n" + _BENEFITS_EN + "\nThank you for your business.",
    ),
    ("tier_down", _ZH, _E): (
        "{{ customer_name }} 的客户等级调整为 {{ new_tier }}",
        "{{ contact_name|default:customer_name }}，您好：\n\n"
        "根据截至 {{ as_of }} 的评定，贵司的客户等级由 {{ old_tier }} 调整为 {{ new_tier }}。\n\n"
        + _BENEFITS_ZH
        + "\n如有疑问，请联系您的客户经理。",
    ),
    ("tier_down", _EN, _E): (
        "{{ customer_name }}: your customer tier is now {{ new_tier }}",
        "Dear {{ contact_name|default:customer_name }},\n\n"
        "Following our review as of {{ as_of }}, your customer tier has changed from "
        "{{ old_tier }} to {{ new_tier }}.\n\n"
        + _BENEFITS_EN
        + "\nPlease contact your account manager with any question.",
    ),
    ("tier_up", _ZH, _S): ("", "【客户服务】{{ customer_name }} 已升级为 {{ new_tier }} 级客户。"),
    ("tier_up", _EN, _S): ("", "{{ customer_name }}: you are now in tier {{ new_tier }}."),
    ("tier_down", _ZH, _S): (
        "",
        "【客户服务】{{ customer_name }} 的客户等级调整为 {{ new_tier }}。",
    ),
    ("tier_down", _EN, _S): ("", "{{ customer_name }}: your customer tier is now {{ new_tier }}."),
    ("warning", _ZH, _E): (
        "{{ customer_name }}：保持 {{ tier }} 级还差 {{ gap }}",
        "{{ contact_name|default:customer_name }}，您好：\n\n"
        "我们将于 {{ evaluation_date }} 进行客户等级评定（截至 {{ as_of }}）。"
        "按目前的数据，贵司的等级将由 {{ tier }} 调整为 {{ would_be }}。\n"
        "{% if gap %}再达成 {{ gap }}，即可保持 {{ keep_tier }} 级。{% endif %}\n\n"
        "如需帮助，请联系您的客户经理。",
    ),
    ("warning", _EN, _E): (
        "{{ customer_name }}: {{ gap }} to keep your {{ tier }} tier",
        "Dear {{ contact_name|default:customer_name }},\n\n"
        "We review customer tiers on {{ evaluation_date }} (as of {{ as_of }}). On the "
        "current figures your tier would change from {{ tier }} to {{ would_be }}.\n"
        "{% if gap %}Another {{ gap }} keeps you at {{ keep_tier }}.{% endif %}\n\n"
        "Your account manager is glad to help.",
    ),
    ("warning", _ZH, _S): (
        "",
        "【客户服务】{{ customer_name }}：{{ evaluation_date }} 评级前再达成 {{ gap }} 即可保持 "
        "{{ tier }} 级。",
    ),
    ("warning", _EN, _S): (
        "",
        "{{ customer_name }}: {{ gap }} more before {{ evaluation_date }} keeps your "
        "{{ tier }} tier.",
    ),
    ("digest", _ZH, _E): (
        "{{ ruleset }} 评级结果：您的客户有 {{ ups }} 个升级、{{ downs }} 个降级",
        "{{ manager_name }}，您好：\n\n{{ ruleset }} 截至 {{ as_of }} 的评级已发布，"
        "您负责的客户中等级变化如下：\n\n"
        "{% for c in changes %}{{ c.code }} {{ c.name }}：{{ c.old_tier }} → {{ c.new_tier }}\n"
        "{% endfor %}",
    ),
    ("digest", _EN, _E): (
        "{{ ruleset }}: {{ ups }} of your customers moved up, {{ downs }} down",
        "Hello {{ manager_name }},\n\nThe {{ ruleset }} tiers as of {{ as_of }} are "
        "published. Your customers whose tier changed:\n\n"
        "{% for c in changes %}{{ c.code }} {{ c.name }}: {{ c.old_tier }} → {{ c.new_tier }}\n"
        "{% endfor %}",
    ),
    ("alert", _ZH, _E): (
        "【预警】{{ alert }}：{{ customer_code }} {{ customer_name }}",
        "{{ alert }}\n客户：{{ customer_code }} {{ customer_name }}（{{ tier }} 级）\n"
        "客户经理：{{ owner|default:'—' }}\n{{ detail }}",
    ),
    ("alert", _EN, _E): (
        "Alert: {{ alert }}: {{ customer_code }} {{ customer_name }}",
        "{{ alert }}\nCustomer: {{ customer_code }} {{ customer_name }} (tier {{ tier }})\n"
        "Account manager: {{ owner|default:'—' }}\n{{ detail }}",
    ),
    ("alert", _ZH, _W): (
        "【预警】{{ alert }}",
        "{{ customer_code }} {{ customer_name }}：{{ detail }}",
    ),
    ("alert", _EN, _W): (
        "Alert: {{ alert }}",
        "{{ customer_code }} {{ customer_name }}: {{ detail }}",
    ),
}


def check(source: str) -> None:
    """Raise :class:`TemplateSyntaxError` when ``source`` does not compile."""
    ENGINE.from_string(source)


def wording(kind: str, language: str, channel: str) -> tuple[str, str]:
    """(subject, body) templates: the saved ones, else the built-in ones."""
    saved = (
        MessageTemplate.objects.filter(kind=kind, language=language, channel=channel)
        .values_list("subject", "body")
        .first()
    )
    if saved is not None:
        return saved
    return DEFAULTS[(kind, language, channel)]


class Wording:
    """The compiled templates of a batch, each read from the database once."""

    def __init__(self):
        self._compiled: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def render(
        self, kind: str, language: str, channel: str, context: dict[str, Any]
    ) -> tuple[str, str]:
        key = (kind, language, channel)
        if key not in self._compiled:
            subject, body = wording(*key)
            self._compiled[key] = (ENGINE.from_string(subject), ENGINE.from_string(body))
        subject, body = self._compiled[key]
        ctx = Context(context, autoescape=False)
        return " ".join(subject.render(ctx).split()), body.render(ctx).strip() + "\n"


def render(kind: str, language: str, channel: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of one message (see :class:`Wording` for many)."""
    return Wording().render(kind, language, channel, context)


__all__ = ["CHANNELS", "DEFAULTS", "VARIABLES", "TemplateSyntaxError", "check", "render"]
