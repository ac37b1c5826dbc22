import shutil
from collections import Counter, defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from tiering.exceptions import OutputError
from tiering.rules import metric_label
from tiering_web.accounts.permissions import (
    can_publish,
    can_run_evaluation,
    sees_contacts,
    visible_customers,
)
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.pagination import CappedPaginator
from tiering_web.errors import errors_to_form
from tiering_web.evaluations.explanations import split_details
from tiering_web.evaluations.exports import FORMATS, change_label, export_results
from tiering_web.evaluations.forms import ReasonForm, ResultFilterForm, RunForm, ScheduleForm
from tiering_web.evaluations.models import Evaluation, EvaluationResult, Schedule
from tiering_web.evaluations.schedules import as_of_for, do_create_schedule, do_update_schedule
from tiering_web.evaluations.services import (
    check_evaluation,
    discard_evaluation,
    publish_evaluation,
    queue_evaluation,
    withdraw_evaluation,
)

PER_PAGE = 50
#: How often (seconds) a queued or running evaluation's page asks for its status.
POLL_SECONDS = 2


def _evaluations():
    return Evaluation.objects.select_related(
        "ruleset_version__ruleset", "created_by", "published_by", "schedule"
    )


def _visible_results(user, evaluation: Evaluation):
    return EvaluationResult.objects.filter(
        evaluation=evaluation, customer__in=visible_customers(user)
    )


@login_required
@require_GET
def evaluation_list(request):
    paginator = CappedPaginator(_evaluations(), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    evaluations = list(page.object_list)
    counts: dict[int, Counter] = defaultdict(Counter)
    rows = (
        EvaluationResult.objects.filter(
            evaluation__in=[e.pk for e in evaluations],
            customer__in=visible_customers(request.user),
        )
        .values_list("evaluation_id", "change")
        .annotate(n=Count("id"))
        .order_by()
    )
    for evaluation_id, change, n in rows:
        counts[evaluation_id][change] += n
        counts[evaluation_id]["total"] += n
    for evaluation in evaluations:
        evaluation.counts = counts[evaluation.pk]
    context = {
        "page": page,
        "paginator": paginator,
        "evaluations": evaluations,
        "can_run": can_run_evaluation(request.user),
        "can_schedule": can_publish(request.user),
    }
    return render(request, "evaluations/evaluation_list.html", context)


@login_required
def evaluation_run(request):
    if not can_run_evaluation(request.user):
        raise PermissionDenied(_("You may not run evaluations."))
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            evaluation = queue_evaluation(
                request.user, form.cleaned_data["version"], form.cleaned_data["as_of"]
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request, _("The evaluation is queued; this page follows its progress.")
            )
            return redirect("evaluation_detail", evaluation.pk)
    return render(request, "evaluations/evaluation_run.html", {"form": form})


def _summary(evaluation: Evaluation, results) -> list[dict]:
    """Customers per proposed tier (best first) and per change, with a total row."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for tier, change, n in results.values_list("tier", "change").annotate(n=Count("id")).order_by():
        key = "new" if change == "" else change
        counts[tier][key] += n
        counts[tier]["total"] += n
    order = [t.get("name") for t in evaluation.ruleset_version.definition.get("tiers", [])]
    tiers = [t for t in order if t in counts] + sorted(t for t in counts if t not in order)
    rows = [{"tier": t, **counts[t]} for t in tiers]
    total: Counter = Counter()
    for tier in tiers:
        total.update(counts[tier])
    return [*rows, {"tier": None, **total}] if rows else []


def _detail_context(request, evaluation: Evaluation, **forms) -> dict:
    context = {
        "evaluation": evaluation,
        "error": evaluation.error(get_language()),
        "poll_seconds": POLL_SECONDS,
        "can_publish": can_publish(request.user),
        "publish_form": forms.get("publish_form") or ReasonForm(prefix="publish"),
        "discard_form": forms.get("discard_form") or ReasonForm(prefix="discard"),
        "withdraw_form": forms.get("withdraw_form") or ReasonForm(prefix="withdraw"),
        "can_withdraw": (
            can_publish(request.user)
            and evaluation.status == Evaluation.Status.PUBLISHED
            and Evaluation.in_force(evaluation.ruleset) == evaluation
        ),
    }
    if evaluation.status == Evaluation.Status.WITHDRAWN:
        context["withdrawal"] = (
            AuditEntry.objects.filter(
                action="evaluation.withdraw",
                object_type=Evaluation._meta.label_lower,
                object_id=str(evaluation.pk),
            )
            .order_by("-at", "-id")
            .first()
        )
    if evaluation.is_pending or evaluation.status == Evaluation.Status.FAILED:
        return context
    results = _visible_results(request.user, evaluation)
    form = ResultFilterForm(request.GET or None, evaluation=evaluation, results=results)
    rows = form.filter(results).select_related("customer__owner").order_by("customer__code")
    paginator = CappedPaginator(rows, PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    lang = get_language() or "en"
    for result in page.object_list:
        result.change_label = change_label(result.change)
        result.gap_unit_label = metric_label(result.gap_unit, lang) if result.gap_unit else ""
        result.factors, _values = split_details(result.details or {})
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        {
            "form": form,
            "page": page,
            "paginator": paginator,
            "summary": _summary(evaluation, results),
            "query": query.urlencode(),
        }
    )
    return context


@login_required
@require_GET
def evaluation_detail(request, pk):
    evaluation = check_evaluation(get_object_or_404(_evaluations(), pk=pk))
    context = _detail_context(request, evaluation)
    template = "evaluations/evaluation_detail.html"
    if request.htmx and not request.htmx.boosted and "page" in context:
        template = "evaluations/_result_table.html"
    return render(request, template, context)


@login_required
@require_GET
def evaluation_status(request, pk):
    """The status box a queued or running evaluation's page polls; once the evaluation is
    done, htmx reloads the whole page to show the results (or the error)."""
    evaluation = check_evaluation(get_object_or_404(_evaluations(), pk=pk))
    if request.htmx and not evaluation.is_pending:
        return HttpResponseClientRefresh()
    return render(
        request,
        "evaluations/_status.html",
        {"evaluation": evaluation, "poll_seconds": POLL_SECONDS},
    )


def _decide(request, pk, action, prefix: str, done: str):
    if not can_publish(request.user):
        raise PermissionDenied(_("You may not publish or discard evaluations."))
    evaluation = get_object_or_404(_evaluations(), pk=pk)
    form = ReasonForm(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            action(request.user, evaluation, form.cleaned_data["reason"])
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, done)
        return redirect("evaluation_detail", evaluation.pk)
    context = _detail_context(request, evaluation, **{f"{prefix}_form": form})
    return render(request, "evaluations/evaluation_detail.html", context, status=400)


@login_required
@require_POST
def evaluation_publish(request, pk):
    return _decide(
        request,
        pk,
        publish_evaluation,
        "publish",
        _("Published: these tiers are now the customers' current tiers."),
    )


@login_required
@require_POST
def evaluation_discard(request, pk):
    return _decide(request, pk, discard_evaluation, "discard", _("Discarded."))


@login_required
@require_POST
def evaluation_withdraw(request, pk):
    return _decide(
        request,
        pk,
        withdraw_evaluation,
        "withdraw",
        _("Withdrawn: the tiers it changed are back to what they were before it."),
    )


@login_required
@require_GET
def evaluation_export(request, pk):
    evaluation = get_object_or_404(_evaluations(), pk=pk)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in FORMATS:
        return HttpResponseBadRequest(_("Unknown format: choose xlsx or csv."))
    if evaluation.is_pending or evaluation.status == Evaluation.Status.FAILED:
        return HttpResponseBadRequest(_("This evaluation has no results to export."))
    results = _visible_results(request.user, evaluation)
    form = ResultFilterForm(request.GET, evaluation=evaluation, results=results)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items())
        )
    rows = form.filter(results).order_by("customer__code")
    try:
        path = export_results(evaluation, rows, fmt, contacts=sees_contacts(request.user))
    except OutputError as error:
        return HttpResponseBadRequest(error.message(get_language() or "en"))
    handle = path.open("rb")
    shutil.rmtree(path.parent)  # the open handle keeps the file until it is sent
    return FileResponse(handle, as_attachment=True, filename=path.name)


@login_required
def schedule_list(request):
    if not can_publish(request.user):
        raise PermissionDenied(_("You may not manage schedules."))
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_create_schedule(
                request.user,
                data["ruleset"],
                data["frequency"],
                data["next_run"],
                auto_publish=data["auto_publish"],
                active=data["active"],
                reason=data["reason"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Schedule created."))
            return redirect("schedule_list")
    schedules = list(Schedule.objects.select_related("ruleset", "created_by"))
    for schedule in schedules:
        schedule.next_as_of = as_of_for(schedule.next_run, schedule.months)
    return render(request, "evaluations/schedule_list.html", {"form": form, "schedules": schedules})


def _add_errors(form, error: ValidationError) -> None:
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
def schedule_edit(request, pk):
    if not can_publish(request.user):
        raise PermissionDenied(_("You may not manage schedules."))
    schedule = get_object_or_404(Schedule.objects.select_related("ruleset", "created_by"), pk=pk)
    form = ScheduleForm(request.POST or None, schedule=schedule)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {f: data[f] for f in ("frequency", "next_run", "auto_publish", "active")}
        try:
            do_update_schedule(request.user, schedule, changes, data["reason"])
        except ValidationError as error:
            _add_errors(form, error)
            schedule.refresh_from_db()
        else:
            messages.success(request, _("Schedule saved."))
            return redirect("schedule_list")
    return render(request, "evaluations/schedule_edit.html", {"form": form, "schedule": schedule})
