"""Pages of the accountwork app (under ``/work/``)."""

from django.urls import path

from tiering_web.accountwork import views

urlpatterns = [
    path("tasks/", views.work_tasks, name="work_tasks"),
    path("tasks/<int:pk>/complete/", views.work_task_complete, name="work_task_complete"),
    path("proposals/", views.work_proposals, name="work_proposals"),
    path("managers/", views.work_managers, name="work_managers"),
    path("plans/", views.work_plan_save, name="work_plan_save"),
    path("stale/", views.work_stale, name="work_stale"),
    path(
        "customers/<customer_code:code>/transfer/",
        views.customer_transfer,
        name="customer_transfer",
    ),
]
