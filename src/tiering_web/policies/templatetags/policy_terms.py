"""The customer page's policy section:
``{% load policy_terms %}{% customer_policy customer user %}``.

Reads what the customer gets under the primary rule set (a few bounded queries, see
:func:`tiering_web.policies.services.customer_terms`), only for a viewer who may see the
customer."""

from django import template

from tiering_web.accounts.permissions import can_see_customer
from tiering_web.policies.display import (
    answer_target,
    benefit_text,
    changes_text,
    term_label,
    term_value,
)
from tiering_web.policies.forms import COMMERCIAL
from tiering_web.policies.services import customer_terms

register = template.Library()

SERVICE = ("dedicated_manager", "service_team", "revisit_days", "queue_priority", "callback_hours")


@register.inclusion_tag("policies/_customer_section.html")
def customer_policy(customer, user):
    if customer is None or not can_see_customer(user, customer):
        return {"visible": False}
    terms = customer_terms(customer)
    policy = terms.policy
    context = {"visible": True, "terms": terms, "policy": policy}
    if policy is not None:
        context["benefits"] = [
            {"code": b.get("code", ""), "text": benefit_text(b)} for b in policy.benefits
        ]
        context["commercial"] = [(term_label(t), term_value(policy, t)) for t in COMMERCIAL]
        service = [(term_label(t), term_value(policy, t)) for t in SERVICE]
        service.insert(3, (term_label("answer_seconds"), answer_target(policy)))
        context["service"] = service
    if terms.upcoming is not None:
        context["upcoming"] = changes_text(terms.upcoming_changes, policy, terms.upcoming_policy)
    return context
