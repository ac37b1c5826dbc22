"""Pages of the rulesets app (server-rendered, django-htmx)."""

from django.urls import path

from tiering_web.rulesets import views

urlpatterns = [
    path("", views.ruleset_list, name="ruleset_list"),
    path("new/", views.ruleset_create, name="ruleset_create"),
    path("<int:pk>/", views.ruleset_detail, name="ruleset_detail"),
    path("<int:pk>/edit/", views.ruleset_edit, name="ruleset_edit"),
    path("<int:pk>/whatif/", views.ruleset_whatif, name="ruleset_whatif"),
    path("<int:pk>/whatif/<int:run>/", views.ruleset_whatif_run, name="ruleset_whatif_run"),
    path(
        "<int:pk>/versions/<int:number>/review/",
        views.ruleset_review,
        name="ruleset_review",
    ),
    path(
        "<int:pk>/versions/<int:number>/approve/",
        views.ruleset_approve,
        name="ruleset_approve",
    ),
    path("<int:pk>/primary/", views.ruleset_set_primary, name="ruleset_set_primary"),
]
