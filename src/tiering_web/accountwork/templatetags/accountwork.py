"""``{% load accountwork %}``: the account managers' section of the customer page."""

from django import template

from tiering_web.accounts.permissions import can_plan_account_work
from tiering_web.accountwork.models import AssignmentProposal, OwnershipChange, Task

register = template.Library()

#: Rows of each list in the section.
SHOWN = 10


@register.inclusion_tag("accountwork/_customer_section.html")
def accountwork_customer(customer, user):
    """Owner and ownership history, open revisit tasks, the follow-up record (跟进记录:
    the revisits done, the latest first, with outcome and feedback), a waiting proposal
    and the transfer link for those allowed: five bounded queries."""
    history = (
        OwnershipChange.objects.filter(customer=customer)
        .select_related("from_owner", "to_owner", "by")
        .order_by("-at", "-id")[:SHOWN]
    )
    tasks = (
        Task.objects.filter(customer=customer, status=Task.Status.OPEN)
        .select_related("owner")
        .order_by("due", "id")[:SHOWN]
    )
    visits = (
        Task.objects.filter(customer=customer, status=Task.Status.DONE)
        .select_related("done_by")
        .order_by("-done_at", "-id")[:SHOWN]
    )
    proposal = (
        AssignmentProposal.objects.filter(
            customer=customer, status=AssignmentProposal.Status.PROPOSED
        )
        .select_related("to_owner")
        .first()
    )
    return {
        "customer": customer,
        "history": history,
        "tasks": tasks,
        "visits": visits,
        "proposal": proposal,
        "may_transfer": can_plan_account_work(user),
    }
