"""Pages of the evaluations app (server-rendered, django-htmx)."""

from django.urls import path

from tiering_web.evaluations import views

urlpatterns = [
    path("", views.evaluation_list, name="evaluation_list"),
    path("run/", views.evaluation_run, name="evaluation_run"),
    path("schedules/", views.schedule_list, name="schedule_list"),
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule_edit"),
    path("<int:pk>/", views.evaluation_detail, name="evaluation_detail"),
    path("<int:pk>/status/", views.evaluation_status, name="evaluation_status"),
    path("<int:pk>/publish/", views.evaluation_publish, name="evaluation_publish"),
    path("<int:pk>/discard/", views.evaluation_discard, name="evaluation_discard"),
    path("<int:pk>/withdraw/", views.evaluation_withdraw, name="evaluation_withdraw"),
    path("<int:pk>/export/", views.evaluation_export, name="evaluation_export"),
]
