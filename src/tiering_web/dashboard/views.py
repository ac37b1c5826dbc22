from pathlib import Path

import plotly
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tiering_web.accounts.permissions import visible_customers
from tiering_web.dashboard.distribution import tier_distribution
from tiering_web.rulesets.models import RuleSet

#: plotly.js exactly as the installed ``plotly`` wheel ships it: no CDN.
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@login_required
def dashboard(request):
    ruleset = RuleSet.objects.filter(is_primary=True).first()
    rows = tier_distribution(ruleset, visible_customers(request.user))
    chart = {
        "tiers": [row["tier"] for row in rows],
        "customers": [row["customers"] for row in rows],
        "revenue": [float(row["revenue"]) for row in rows],
    }
    return render(
        request, "dashboard/dashboard.html", {"ruleset": ruleset, "rows": rows, "chart": chart}
    )


@require_GET
def plotly_js(request):
    response = FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
