from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tiering.exceptions import InputError
from tiering_web.accounts.permissions import sees_contacts, visible_customers
from tiering_web.customers.forms import CustomerFilterForm
from tiering_web.imports import services
from tiering_web.imports.forms import MappingForm, UploadForm, field_label
from tiering_web.imports.models import ImportJob
from tiering_web.rulesets.models import RuleSet

JOBS_PER_PAGE = 50
ERRORS_PER_PAGE = 100
PREVIEW_ROWS = 10


def importer_required(view):
    """Logged in (else to the login page) and allowed to import (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not services.can_import(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@importer_required
def import_list(request):
    jobs = ImportJob.objects.select_related("uploaded_by")
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "imports/import_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@importer_required
def import_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.store_upload(
                request.user, form.cleaned_data["kind"], form.cleaned_data["file"]
            )
        except services.UploadRefused as e:
            form.add_error("file", str(e))
        else:
            return redirect("import_mapping", pk=job.pk)
    return render(request, "imports/import_upload.html", {"form": form})


def _preview(job: ImportJob, mapping: dict[str, str]):
    """(rows, headers, issues) of the file's first rows under ``mapping``."""
    try:
        rows = services.preview_job(job, mapping, PREVIEW_ROWS)
    except services.ImportRejected as e:
        return [], [], [services.issue_text(i) for i in e.issues]
    fields = list(mapping)
    table = [[r["row"], *(r.get(f) for f in fields)] for r in rows]
    return table, [field_label(job.kind, f) for f in fields], []


@require_http_methods(["GET", "POST"])
@importer_required
def import_mapping(request, pk):
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status != ImportJob.Status.PENDING:
        return redirect("import_detail", pk=job.pk)
    try:
        columns = services.job_columns(job)
    except (InputError, FileNotFoundError):
        return render(request, "imports/import_gone.html", {"job": job}, status=410)
    suggested = services.suggest_mapping(columns, job.kind)
    if request.method == "POST":
        form = MappingForm(request.POST, kind=job.kind, columns=columns)
    elif request.htmx:
        form = MappingForm(request.GET, kind=job.kind, columns=columns)
    else:
        form = MappingForm(kind=job.kind, columns=columns, initial=suggested)
    if form.is_bound:
        form.is_valid()
        mapping = {
            f: request.POST.get(f) or request.GET.get(f)
            for f in services.FIELDS[job.kind]
            if (request.POST.get(f) or request.GET.get(f)) in columns
        }
    else:
        mapping = suggested
    issues = []
    if request.method == "POST" and form.is_valid():
        issues = [services.issue_text(i) for i in services.mapping_issues(job, form.mapping())]
        if not issues:
            services.queue_import(request.user, job, form.mapping(), form.cleaned_data["reason"])
            return redirect("import_detail", pk=job.pk)
    rows, headers, preview_issues = _preview(job, mapping)
    context = {
        "job": job,
        "form": form,
        "columns": columns,
        "rows": rows,
        "headers": headers,
        "preview_issues": preview_issues,
        "issues": issues,
    }
    if request.htmx and request.method == "GET":
        return render(request, "imports/_preview.html", context)
    return render(request, "imports/import_mapping.html", context)


@require_GET
@importer_required
def import_detail(request, pk):
    job = services.check_import(
        get_object_or_404(ImportJob.objects.select_related("uploaded_by"), pk=pk)
    )
    errors = Paginator(job.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "job": job,
        "errors": errors,
        "error_rows": [{**e, "why": services.issue_text(e)} for e in errors.object_list],
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "imports/_job_status.html", context)
    return render(request, "imports/import_detail.html", context)


@require_GET
@login_required
def customer_export(request):
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("csv", "xlsx"):
        return HttpResponseBadRequest(_("Export to csv or xlsx."))
    customers = visible_customers(request.user)
    ruleset = RuleSet.objects.filter(is_primary=True).first()
    form = CustomerFilterForm(request.GET or None, customers=customers, ruleset=ruleset)
    headers, rows = services.export_table(
        form.filter(customers),
        contacts=sees_contacts(request.user),
        english=not (get_language() or "").startswith("zh"),
    )
    name = f"customers-{timezone.localdate():%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            services.csv_chunks(headers, rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return FileResponse(
        services.xlsx_file(headers, rows),
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
