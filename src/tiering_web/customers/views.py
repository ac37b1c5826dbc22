from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiering_web.accounts.permissions import (
    can_deactivate_customers,
    sees_contacts,
    visible_customers,
)
from tiering_web.customers.forms import CustomerFilterForm
from tiering_web.customers.pagination import CappedPaginator, owner_groups, tier_groups
from tiering_web.customers.services import (
    account_balance,
    do_deactivate_customer,
    do_reactivate_customer,
)
from tiering_web.evaluations.explanations import customer_tiers
from tiering_web.evaluations.models import Override, TierAssignment
from tiering_web.rulesets.models import RuleSet

PER_PAGE = 50
RECENT_TRANSACTIONS = 20


@login_required
def customer_list(request):
    customers = visible_customers(request.user)
    ruleset = RuleSet.objects.filter(is_primary=True).first()
    form = CustomerFilterForm(request.GET or None, customers=customers, ruleset=ruleset)
    sort = form.cleaned_data.get("sort") if form.is_bound and form.is_valid() else ""
    groups = []
    if sort.lstrip("-") == "tier":
        groups = tier_groups(ruleset, descending=sort.startswith("-"))
    elif sort.lstrip("-") == "owner":
        groups = owner_groups(form.fields["owner"].queryset, descending=sort.startswith("-"))
    paginator = CappedPaginator(form.filter(customers), PER_PAGE, groups=groups)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filters = query.copy()
    filters.pop("sort", None)
    context = {
        "form": form,
        "page": page,
        "paginator": paginator,
        "ruleset": ruleset,
        "query": query.urlencode(),
        "filter_query": filters.urlencode(),
        "sort": sort,
    }
    template = "customers/customer_list.html"
    if request.htmx and not request.htmx.boosted:
        template = "customers/_customer_table.html"
    return render(request, template, context)


@login_required
def customer_detail(request, code):
    customer = get_object_or_404(visible_customers(request.user).select_related("owner"), code=code)
    history = (
        TierAssignment.objects.filter(customer=customer)
        .select_related("ruleset", "evaluation")
        .order_by("-valid_from", "-id")
    )
    context = {
        "customer": customer,
        "sees_contacts": sees_contacts(request.user),
        "tiers": customer_tiers(customer),
        "history": history,
        "transactions": customer.transactions.order_by("-date", "-id")[:RECENT_TRANSACTIONS],
        "payments": customer.payments.order_by("-date", "-id")[:RECENT_TRANSACTIONS],
        "balance": account_balance(customer),
        "overrides": Override.objects.filter(customer=customer).select_related(
            "ruleset", "created_by"
        ),
        "can_deactivate": can_deactivate_customers(request.user),
    }
    return render(request, "customers/customer_detail.html", context)


@require_POST
@login_required
def customer_activation(request, code):
    """Deactivate (``action=deactivate``) or reactivate the customer, with the form's
    reason, through the services; back to the customer's page with what happened."""
    customer = get_object_or_404(visible_customers(request.user), code=code)
    if not can_deactivate_customers(request.user):
        raise PermissionDenied
    reason = request.POST.get("reason", "")
    action = request.POST.get("action")
    if action not in ("deactivate", "reactivate"):
        return HttpResponseBadRequest("action must be deactivate or reactivate")
    try:
        if action == "deactivate":
            do_deactivate_customer(request.user, customer, reason)
            messages.success(request, _("Customer deactivated: its tiers ended."))
        else:
            do_reactivate_customer(request.user, customer, reason)
            messages.success(request, _("Customer reactivated."))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("customer_detail", code=customer.code)
