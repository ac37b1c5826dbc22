from pathlib import Path

import plotly
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_safe

from tiering_web.accounts.permissions import visible_customers
from tiering_web.dashboard import approvals, portfolio
from tiering_web.dashboard.context_processors import service_links
from tiering_web.rulesets.models import RuleSet

#: plotly.js exactly as the installed ``plotly`` wheel ships it: no CDN.
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@login_required
def dashboard(request):
    """A rule set's published tiers (the primary one unless ``?ruleset=<id>``) over the
    customers the user may see."""
    rulesets = list(RuleSet.objects.all())
    chosen = request.GET.get("ruleset", "")
    ruleset = next((r for r in rulesets if str(r.pk) == chosen), None) or next(
        (r for r in rulesets if r.is_primary), None
    )
    data = None
    if ruleset is not None:
        visible = visible_customers(request.user)
        data = portfolio.build(ruleset, portfolio.scope(request.user, visible))
    context = {
        "ruleset": ruleset,
        "rulesets": rulesets,
        "data": data,
        "rows": data.tiers if data else [],
    }
    if data is not None:
        context["charts"] = _charts(data)
    return render(request, "dashboard/dashboard.html", context)


def _charts(data: portfolio.Portfolio) -> dict:
    """The series the page's plotly charts draw (json_script'ed into the page)."""
    charts = {
        "tiers": [r["tier"] for r in data.tiers],
        "customers": [r["customers"] for r in data.tiers],
        "revenue": [r["revenue"] for r in data.tiers],
        "profit": [r["profit"] for r in data.tiers],
    }
    for name, curve in (("pareto", data.pareto), ("pareto_profit", data.pareto_profit)):
        if curve is not None:
            charts[name] = {"x": list(curve.customer_share), "y": list(curve.value_share)}
    return charts


@login_required
@require_GET
def approvals_inbox(request):
    """What awaits the signed-in user's signature or decision, section by section."""
    sections = approvals.awaiting(request.user)
    if not sections:
        raise PermissionDenied
    total = sum(section.total for section in sections)
    return render(request, "dashboard/approvals.html", {"sections": sections, "total": total})


@login_required
def service_hub(request):
    """The pages that serve each tier (proposals, plans, notifications, SLAs), by role."""
    links = [(reverse(name), title, help_) for name, title, help_ in service_links(request.user)]
    return render(request, "dashboard/service_hub.html", {"links": links})


@require_safe
def healthz(request):
    """Liveness for a load balancer or a monitor: the process answers (no login, no
    query)."""
    return JsonResponse({"ok": True})


@require_GET
def plotly_js(request):
    response = FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
