import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from tiering.cells import safe_text
from tiering_web.accounts.permissions import can_record_calls, can_view_sla
from tiering_web.callcentre.forms import CallImportForm, RebuildForm, SlaPeriodForm
from tiering_web.callcentre.services import (
    CallsRejected,
    do_import_calls,
    do_request_phone_index_rebuild,
    sla_report,
)


def _csv(rows, start, end) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sla-{start}-{end}.csv"'
    response.write("\ufeff")
    out = csv.writer(response)
    out.writerow(
        [
            pgettext("customer grade", "Tier"),
            _("Calls"),
            _("Answered"),
            _("Answered in time"),
            _("Share in time"),
            _("Target (seconds)"),
            _("Target share"),
            _("Target met"),
            _("Abandoned"),
            _("Callbacks due"),
            _("Called back in time"),
            _("Callback within (hours)"),
        ]
    )
    for r in rows:
        out.writerow(
            [
                safe_text(r.tier or _("No tier")),
                r.calls,
                r.answered,
                r.within,
                "" if r.within_share is None else f"{r.within_share:.4f}",
                r.answer_seconds or "",
                "" if r.answer_share is None else f"{r.answer_share:.3f}",
                "" if r.met is None else (_("yes") if r.met else _("no")),
                r.abandoned,
                r.callbacks_due,
                r.callbacks_in_time,
                r.callback_hours or "",
            ]
        )
    return response


@login_required
def sla(request):
    if not can_view_sla(request.user):
        raise PermissionDenied
    form = SlaPeriodForm(request.GET or None)
    start, end = form.period()
    rows = sla_report(start, end) if not form.errors else []
    if request.GET.get("format") == "csv" and not form.errors:
        return _csv(rows, start, end)
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        "form": form,
        "rows": rows,
        "start": start,
        "end": end,
        "query": query.urlencode(),
        "may_record": can_record_calls(request.user),
        "rebuild_form": RebuildForm(),
    }
    return render(request, "callcentre/sla.html", context)


@login_required
def call_import(request):
    if not can_record_calls(request.user):
        raise PermissionDenied
    issues = []
    if request.method == "POST":
        form = CallImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                made = do_import_calls(
                    request.user, upload.read(), upload.name, form.cleaned_data["reason"]
                )
            except CallsRejected as e:
                issues = e.issues
            else:
                messages.success(
                    request,
                    _("%(count)s calls imported, %(matched)s matched to customers.")
                    % {"count": len(made), "matched": sum(1 for c in made if c.customer_id)},
                )
                return redirect("callcentre_sla")
    else:
        form = CallImportForm()
    status = 400 if issues else 200
    return render(
        request, "callcentre/call_import.html", {"form": form, "issues": issues}, status=status
    )


@login_required
@require_POST
def rebuild_index(request):
    if not can_record_calls(request.user):
        raise PermissionDenied
    form = RebuildForm(request.POST)
    if form.is_valid():
        do_request_phone_index_rebuild(request.user, form.cleaned_data["reason"])
        messages.success(request, _("The phone index is being rebuilt in the background."))
    else:
        messages.error(request, _("Give a reason to rebuild the phone index."))
    return redirect("callcentre_sla")
