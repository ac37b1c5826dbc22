"""The notifications section of the customer page: ``{% load notifications_tags %}
{% customer_notifications %}`` (reads ``customer`` and ``user`` from the page)."""

from django import template

from tiering_web.accounts.permissions import (
    can_set_notification_preferences,
    can_view_outbox,
    sees_contacts,
)
from tiering_web.notifications.forms import PreferenceForm
from tiering_web.notifications.models import Message, Preference

register = template.Library()

RECENT = 10


def section_context(customer, user) -> dict:
    """Two queries: the preference and the latest messages to the customer."""
    preference = Preference.objects.filter(customer=customer).first() or Preference(
        customer=customer
    )
    recent = list(Message.objects.filter(customer=customer).order_by("-created_at", "-id")[:RECENT])
    can_edit = can_set_notification_preferences(user, customer)
    return {
        "customer": customer,
        "preference": preference,
        "recent": recent,
        "can_edit": can_edit,
        "sees_contacts": sees_contacts(user),
        "can_view_outbox": can_view_outbox(user),
        "form": PreferenceForm(
            initial={
                "language": preference.language,
                "email_opt_out": preference.email_opt_out,
                "sms_opt_out": preference.sms_opt_out,
            }
        )
        if can_edit
        else None,
    }


@register.inclusion_tag("notifications/_customer_section.html", takes_context=True)
def customer_notifications(context):
    data = section_context(context["customer"], context["user"])
    data["csrf_token"] = context.get("csrf_token")
    data["request"] = context.get("request")
    return data
