"""Pages of the callcentre app."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
