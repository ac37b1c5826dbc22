import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.shortcuts import render

from tiering_web.accounts.permissions import can_view_audit
from tiering_web.audit.forms import AuditFilterForm
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.pagination import CappedPaginator

PER_PAGE = 50


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)


def _is_change(value) -> bool:
    return isinstance(value, list) and len(value) == 2


def _detail_lines(details) -> list[tuple[str, str]]:
    """``details`` as (key, text) pairs: ``changes`` (``{field: [old, new]}``, as the
    ``do_update_*`` services write it) one field a line as "old → new", ``fields`` (the
    initial values ``do_create_*`` records) one field a line, other values as compact JSON
    with Chinese kept."""
    if not isinstance(details, dict):
        return [("", _text(details))]
    lines = []
    for key, value in details.items():
        if key == "changes" and isinstance(value, dict) and all(map(_is_change, value.values())):
            lines += [
                (field, f"{_text(old)} → {_text(new)}") for field, (old, new) in value.items()
            ]
        elif key == "fields" and isinstance(value, dict):
            lines += [(field, _text(initial)) for field, initial in value.items()]
        else:
            lines.append((key, _text(value)))
    return lines


@login_required
def audit_list(request):
    if not can_view_audit(request.user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    paginator = CappedPaginator(form.filter(AuditEntry.objects.all()), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.detail_lines = _detail_lines(entry.details)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "paginator": paginator, "query": query.urlencode()}
    template = "audit/audit_list.html"
    if request.htmx and not request.htmx.boosted:
        template = "audit/_audit_table.html"
    return render(request, template, context)
