from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiering_web.accounts.permissions import (
    can_complete_task,
    can_plan_account_work,
    has_task_list,
    visible_customers,
)
from tiering_web.accountwork.forms import (
    CompleteTaskForm,
    DecideForm,
    PlanForm,
    ProfileForm,
    StaleForm,
    TransferForm,
)
from tiering_web.accountwork.models import AssignmentProposal, RevisitPlan, Task
from tiering_web.accountwork.services import (
    complete_task,
    decide_proposals,
    do_save_manager_profile,
    do_save_revisit_plan,
    do_transfer_owner,
    load_by_owner,
    overdue_by_customer,
    plan_interval,
    possible_owners,
    stale_counts,
    stale_cutoff,
    task_lists,
)
from tiering_web.errors import errors_to_form
from tiering_web.policies.services import policies_in_force, tier_names
from tiering_web.rulesets.models import RuleSet

PER_PAGE = 50
#: Rows shown per section of a task list or of the waiting proposals.
SHOWN = 100


def _primary() -> RuleSet | None:
    return RuleSet.objects.filter(is_primary=True).first()


# --------------------------------------------------------------------------- tasks


@login_required
def work_tasks(request):
    if not has_task_list(request.user):
        raise PermissionDenied
    owner = request.user
    people = []
    if can_plan_account_work(request.user):
        people = list(possible_owners().order_by("username"))
        chosen = request.GET.get("owner", "")
        if chosen.isdigit():
            owner = next((p for p in people if p.pk == int(chosen)), owner)
    today = timezone.localdate()
    lists = task_lists(owner, today)
    sections = []
    for key, title in (
        ("overdue", _("Overdue")),
        ("today", _("Today")),
        ("week", _("Later this week")),
        ("done", _("Done in the last 30 days")),
    ):
        tasks = lists[key]
        shown = list(tasks[: SHOWN + 1])
        section = {
            "key": key,
            "title": title,
            "tasks": [(t, CompleteTaskForm(auto_id=f"id_%s_{t.pk}")) for t in shown[:SHOWN]],
            "more": len(shown) > SHOWN,
        }
        if key == "overdue":
            # once per customer, however many revisits of theirs are late
            section["customers"] = overdue_by_customer(section["tasks"], today)
        sections.append(section)
    return render(
        request,
        "accountwork/tasks.html",
        {"owner": owner, "people": people, "sections": sections, "today": today},
    )


@login_required
@require_POST
def work_task_complete(request, pk):
    task = get_object_or_404(Task.objects.select_related("customer"), pk=pk)
    if not can_complete_task(request.user, task):
        raise PermissionDenied
    form = CompleteTaskForm(request.POST, auto_id=f"id_%s_{task.pk}")
    if form.is_valid():
        try:
            task = complete_task(
                request.user, task, form.cleaned_data["outcome"], form.cleaned_data["feedback"]
            )
        except ValidationError as error:
            errors_to_form(form, error)
    if request.htmx:
        compact = request.POST.get("compact") == "1"  # a row inside an overdue customer's
        context = {"task": task, "form": form, "compact": compact}
        return render(request, "accountwork/_task_row.html", context)
    if form.errors:
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, f"{task.customer.code}: {problem}")
    else:
        messages.success(request, _("%(customer)s: task done.") % {"customer": task.customer.code})
    return redirect("work_tasks")


# --------------------------------------------------------------------------- proposals


@login_required
def work_proposals(request):
    if not can_plan_account_work(request.user):
        raise PermissionDenied
    form = DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        accept = data["decision"] == "accept"
        done, problems = decide_proposals(
            request.user, data["proposals"], accept, data["reason"].strip()
        )
        if done:
            text = _("%(n)s proposal(s) accepted.") if accept else _("%(n)s proposal(s) rejected.")
            messages.success(request, text % {"n": done})
        for problem in problems:
            messages.error(request, problem)
        return redirect("work_proposals")
    waiting = AssignmentProposal.objects.filter(
        status=AssignmentProposal.Status.PROPOSED
    ).select_related("customer", "from_owner", "to_owner", "evaluation")
    shown = list(waiting[: SHOWN + 1])
    decided = (
        AssignmentProposal.objects.exclude(status=AssignmentProposal.Status.PROPOSED)
        .select_related("customer", "from_owner", "to_owner", "decided_by")
        .order_by("-decided_at", "-id")[:20]
    )
    return render(
        request,
        "accountwork/proposals.html",
        {
            "form": form,
            "waiting": shown[:SHOWN],
            "more": len(shown) > SHOWN,
            "count": waiting.count() if len(shown) > SHOWN else len(shown),
            "decided": decided,
        },
    )


# --------------------------------------------------------------------------- managers


def _named_errors(form, who: str) -> list[str]:
    """A bound form's errors as "who, field: problem" lines."""
    lines = []
    for field, problems in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for problem in problems:
            lines.append(", ".join(x for x in (who, str(label or "")) if x) + f": {problem}")
    return lines


def _managers_page(request, ruleset, profile_form=None, plan_form=None):
    tiers = tier_names(ruleset) if ruleset is not None else []
    loads = load_by_owner(ruleset)
    rows = []
    for user in possible_owners().select_related("manager_profile").order_by("username"):
        profile = getattr(user, "manager_profile", None)
        capacity = (profile.capacity if profile else {}) or {}
        cells = []
        for i, tier in enumerate(tiers):
            cap, load = int(capacity.get(tier) or 0), loads[user.pk][tier]
            # capacity 0: the manager does not serve the tier (not "full")
            cells.append(
                {
                    "tier": tier,
                    "capacity": cap,
                    "load": load,
                    "serves": cap > 0,
                    "over": load > cap,
                    "i": i,
                }
            )
        rows.append(
            {"user": user, "seniority": profile.seniority if profile else None, "cells": cells}
        )
    today = timezone.localdate()
    plans = []
    if ruleset is not None:
        policies = policies_in_force(ruleset, today)
        for plan in RevisitPlan.objects.filter(ruleset=ruleset).order_by("tier", "kind"):
            plans.append((plan, plan_interval(plan, today, policies)))
    return render(
        request,
        "accountwork/managers.html",
        {
            "ruleset": ruleset,
            "tiers": tiers,
            "rows": rows,
            "plans": plans,
            "problems": (
                _named_errors(profile_form, profile_form.data.get("username", ""))
                if profile_form is not None
                else _named_errors(plan_form, _("Revisit plan"))
                if plan_form is not None
                else []
            ),
            "plan_form": plan_form or PlanForm(tiers=tiers),
        },
    )


@login_required
def work_managers(request):
    if not can_plan_account_work(request.user):
        raise PermissionDenied
    ruleset = _primary()
    if request.method != "POST":
        return _managers_page(request, ruleset)
    tiers = tier_names(ruleset) if ruleset is not None else []
    form = ProfileForm(request.POST, tiers=tiers)
    if form.is_valid():
        user = form.cleaned_data["user"]
        try:
            do_save_manager_profile(
                request.user,
                user,
                form.cleaned_data["seniority"],
                form.capacity(),
                form.cleaned_data["reason"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request, _("%(user)s: capacity saved.") % {"user": user.get_username()}
            )
            return redirect("work_managers")
    return _managers_page(request, ruleset, profile_form=form)


@login_required
@require_POST
def work_plan_save(request):
    if not can_plan_account_work(request.user):
        raise PermissionDenied
    ruleset = _primary()
    if ruleset is None:
        messages.error(request, _("Choose a primary rule set first."))
        return redirect("work_managers")
    form = PlanForm(request.POST, tiers=tier_names(ruleset))
    if form.is_valid():
        data = form.cleaned_data
        try:
            do_save_revisit_plan(
                request.user,
                ruleset,
                data["tier"],
                data["kind"],
                data["every_days"],
                data["reason"],
                starts_on=data["starts_on"],
                active=data["active"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("Revisit plan saved."))
            return redirect("work_managers")
    return _managers_page(request, ruleset, plan_form=form)


# --------------------------------------------------------------------------- stale records


@login_required
def work_stale(request):
    customers = visible_customers(request.user).active()
    form = StaleForm(request.GET or None, initial={"days": 90})
    days = form.cleaned_data["days"] if form.is_bound and form.is_valid() else 90
    counts = stale_counts(customers, days)
    stale = customers.filter(updated_at__lt=stale_cutoff(days)).select_related("owner")
    owner = request.GET.get("owner", "") if form.is_bound and form.is_valid() else ""
    if owner == "none":
        stale = stale.filter(owner__isnull=True)
    elif owner.isdigit():
        stale = stale.filter(owner=int(owner))
    paginator = Paginator(stale.order_by("updated_at", "code"), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    today = timezone.localdate()
    rows = [(c, (today - timezone.localdate(c.updated_at)).days) for c in page.object_list]
    template = "accountwork/stale.html"
    if request.htmx and not request.htmx.boosted:
        template = "accountwork/_stale_list.html"
    return render(
        request,
        template,
        {
            "form": form,
            "days": days,
            "counts": counts,
            "owner": owner,
            "rows": rows,
            "page": page,
            "paginator": paginator,
            "query": query.urlencode(),
        },
    )


# --------------------------------------------------------------------------- transfers


@login_required
def customer_transfer(request, code):
    customer = get_object_or_404(visible_customers(request.user).select_related("owner"), code=code)
    if not can_plan_account_work(request.user):
        raise PermissionDenied
    form = TransferForm(request.POST or None, initial={"expected_owner": customer.owner_id or ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_transfer_owner(
                request.user,
                customer,
                data["new_owner"],
                data["reason"],
                expected_owner=data["expected_owner"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request,
                _("%(customer)s now belongs to %(owner)s.")
                % {"customer": customer.code, "owner": data["new_owner"].get_username()},
            )
            return redirect("customer_detail", code=customer.code)
    owner = get_user_model().objects.filter(pk=customer.owner_id).first()
    return render(
        request,
        "accountwork/transfer.html",
        {"customer": customer, "owner": owner, "form": form},
    )
