"""The call-centre section of the customer page: ``{% load callcentre %}``."""

from django import template

from tiering_web.accounts.permissions import can_see_customer, sees_contacts
from tiering_web.callcentre.models import CallLog
from tiering_web.callcentre.services import priority_for_customer

register = template.Library()

RECENT_CALLS = 10


@register.inclusion_tag("callcentre/_customer_section.html")
def customer_calls(customer, user):
    """The customer's queue priority and answer target today, and their recent calls (two
    queries; the policies come from the process's cache)."""
    if not can_see_customer(user, customer):
        return {"hidden": True}
    return {
        "answer": priority_for_customer(user, customer.code),
        "calls": CallLog.objects.filter(customer=customer).order_by("-queued_at", "-id")[
            :RECENT_CALLS
        ],
        "sees_contacts": sees_contacts(user),
    }
