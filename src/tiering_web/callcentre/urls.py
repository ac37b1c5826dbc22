"""Pages of the callcentre app (the priority lookup is mounted at ``/api/priority`` by the
root URLconf, see :func:`tiering_web.callcentre.views.priority`)."""

from django.urls import path

from tiering_web.callcentre import views

urlpatterns = [
    path("sla/", views.sla, name="callcentre_sla"),
    path("calls/import/", views.call_import, name="callcentre_import"),
    path("phone-index/rebuild/", views.rebuild_index, name="callcentre_rebuild_index"),
]
