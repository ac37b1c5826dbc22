"""Pages of the audit app (server-rendered, django-htmx), under ``audit/``."""

from django.urls import path

from tiering_web.audit import views

urlpatterns = [path("", views.audit_list, name="audit_list")]
