"""The notifications sections of other apps' pages (``{% load notifications_tags %}``):
``{% customer_notifications %}`` on the customer page (reads ``customer`` and ``user``),
``{% publication_messages %}`` on an evaluation's page (reads ``evaluation`` and
``user``): before publishing, what its customers would be told; after, its messages
waiting "to send" with the release and cancel forms."""

from django import template
from django.db import models

from tiering_web.accounts.permissions import (
    can_set_notification_preferences,
    can_view_outbox,
    sees_contacts,
)
from tiering_web.notifications.forms import PreferenceForm, ReasonForm
from tiering_web.notifications.models import Channel, Kind, Language, Message, Preference
from tiering_web.notifications.services import held_messages, publication_preview

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


@register.inclusion_tag("notifications/_publication_messages.html", takes_context=True)
def publication_messages(context):
    """For those who may publish or release: a draft's preview, a publication's held
    messages (how many per kind and channel, with the forms to release or cancel them)."""
    evaluation, user = context["evaluation"], context["user"]
    data = {"evaluation": evaluation, "csrf_token": context.get("csrf_token"), "show": False}
    if not can_view_outbox(user):
        return data
    if evaluation.status == "draft":
        preview = publication_preview(evaluation)
        labels = {
            "kind": dict(Kind.choices),
            "language": dict(Language.choices),
            "channel": dict(Channel.choices),
        }
        samples = [
            {
                "kind": labels["kind"][kind],
                "language": labels["language"][language],
                "channel": labels["channel"][channel],
                "customer": code,
                "subject": subject,
                "body": body,
            }
            for kind, language, channel, code, subject, body in preview.samples
        ]
        counts = [(labels["kind"][k], n) for k, n in preview.customers.items()]
        data.update(show=True, preview=preview, samples=samples, counts=counts)
    elif evaluation.status == "published":
        held = held_messages(evaluation)
        rows = list(
            held.order_by().values("kind", "channel").annotate(n=models.Count("pk")).order_by()
        )
        if rows:
            data.update(
                show=True,
                held=[(Kind(r["kind"]).label, Channel(r["channel"]).label, r["n"]) for r in rows],
                held_total=sum(r["n"] for r in rows),
                release_form=ReasonForm(prefix="release", auto_id="id_release_%s"),
                cancel_form=ReasonForm(prefix="cancel", auto_id="id_cancel_%s"),
            )
    return data
