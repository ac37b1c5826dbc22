"""``/api/priority`` served by the plain view (the root URLconf includes this before the
API, see :func:`tiering_web.callcentre.views.priority`)."""

from django.urls import path

from tiering_web.callcentre import views

urlpatterns = [path("", views.priority, name="callcentre_priority")]
