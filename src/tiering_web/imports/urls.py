"""Pages of the imports app (server-rendered, django-htmx)."""

from django.urls import path

from tiering_web.imports import views

urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("upload/", views.import_upload, name="import_upload"),
    path("<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("export/customers/", views.customer_export, name="customer_export"),
]
