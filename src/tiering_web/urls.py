from django.contrib import admin
from django.urls import path
from ninja import NinjaAPI

api = NinjaAPI(title="Customer Tiering", version="1", urls_namespace="api")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
