from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tiering_web.api import api
from tiering_web.customers import overrides as customer_overrides
from tiering_web.customers import views as customer_views
from tiering_web.dashboard import views as dashboard_views

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path("service/", dashboard_views.service_hub, name="service_hub"),
    path("approvals/", dashboard_views.approvals_inbox, name="approvals_inbox"),
    path("healthz", dashboard_views.healthz, name="healthz"),
    path("static-vendor/plotly.min.js", dashboard_views.plotly_js, name="plotly_js"),
    path("customers/", customer_views.customer_list, name="customer_list"),
    path("customers/<customer_code:code>/", customer_views.customer_detail, name="customer_detail"),
    path(
        "customers/<customer_code:code>/override/",
        customer_overrides.customer_override,
        name="customer_override",
    ),
    path(
        "customers/<customer_code:code>/activation/",
        customer_views.customer_activation,
        name="customer_activation",
    ),
    path("rulesets/", include("tiering_web.rulesets.urls")),
    path("evaluations/", include("tiering_web.evaluations.urls")),
    path("imports/", include("tiering_web.imports.urls")),
    path("users/", include("tiering_web.accounts.urls")),
    path("audit/", include("tiering_web.audit.urls")),
    path("policies/", include("tiering_web.policies.urls")),
    path("work/", include("tiering_web.accountwork.urls")),
    path("notifications/", include("tiering_web.notifications.urls")),
    path("callcentre/", include("tiering_web.callcentre.urls")),
    path("login/", include("tiering_web.accounts.login_urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
