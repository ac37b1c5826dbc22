"""Pages of the policies app (server-rendered, django-htmx)."""

from django.urls import path

from tiering_web.policies import views

urlpatterns = [
    path("", views.policy_list, name="policy_list"),
    path("<int:pk>/new/", views.policy_edit, name="policy_edit"),
    path("<int:pk>/new/benefit-row/", views.policy_benefit_row, name="policy_benefit_row"),
    path("<int:pk>/v<int:number>/", views.policy_detail, name="policy_detail"),
    path("<int:pk>/v<int:number>/approve/", views.policy_approve, name="policy_approve"),
]
