"""Pages of the accounts app (server-rendered, django-htmx)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
