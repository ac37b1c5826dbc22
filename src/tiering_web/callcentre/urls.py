"""Pages of the callcentre app (the priority lookup and call logs are API routes, see
:mod:`tiering_web.callcentre.api`)."""

from django.urls import path

from tiering_web.callcentre import views

urlpatterns = [
    path("sla/", views.sla, name="callcentre_sla"),
    path("calls/import/", views.call_import, name="callcentre_import"),
    path("phone-index/rebuild/", views.rebuild_index, name="callcentre_rebuild_index"),
]
